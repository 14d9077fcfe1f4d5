"""How platform functions speak of values they reject, in logs and in errors (which Lambda logs):
by type and size (`describe`), never the value: event fields, parameters and payloads may hold
secrets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError as PydanticValidationError

from orchestration.errors import OrchestrationError, ParameterError
from orchestration.model import Workflow

T = TypeVar("T")


class MalformedPayload(OrchestrationError):
    """A platform function received a payload of the wrong shape (described, never echoed)."""


def describe(value: Any) -> str:
    """What a value is, without what it holds: "str of 42 chars", "dict with 3 keys", "int"."""
    kind = type(value).__name__
    if isinstance(value, str):
        return f"str of {len(value)} chars"
    if isinstance(value, bytes | bytearray):
        return f"{kind} of {len(value)} bytes"
    if isinstance(value, dict):
        return f"{kind} with {len(value)} key{'' if len(value) == 1 else 's'}"
    if isinstance(value, list | tuple | set | frozenset):
        return f"{kind} of {len(value)} item{'' if len(value) == 1 else 's'}"
    return "null" if value is None else kind


# pydantic errors whose message may quote the value (a discriminator's tag, a validator's own text).
QUOTING_ERRORS = frozenset({"union_tag_invalid", "value_error", "assertion_error"})


def field_problems(exc: PydanticValidationError, noun: str = "") -> str:
    """pydantic's errors as `<noun> 'field': message (got <description>)`, without the values received
    (a message that could quote one is replaced by the error's type)."""
    problems = []
    for e in exc.errors(include_url=False):
        where = noun + repr(".".join(map(str, e["loc"])) or "<payload>")
        value = e.get("input")
        msg = e["msg"]
        if e["type"] in QUOTING_ERRORS or (isinstance(value, str) and value and value in msg):
            msg = e["type"]
        if e["type"] == "missing":
            problems.append(f"{where} is required")
        elif e["type"] == "extra_forbidden":
            problems.append(f"unknown {where}")
        else:
            problems.append(f"{where}: {msg} (got {describe(value)})")
    return "; ".join(problems)


def parsed(parse: Callable[[Any], T], payload: Any, what: str) -> T:
    """`parse(payload)`; a payload it refuses raises MalformedPayload naming the fields, not the values."""
    try:
        return parse(payload)
    except PydanticValidationError as exc:
        raise MalformedPayload(
            f"{what} is malformed ({describe(payload)}): {field_problems(exc)}; it comes from the state "
            "machine definition: redeploy the workflow"
        ) from None


def check_params(workflow: Workflow, params: Mapping[str, Any]) -> None:
    """ParameterError naming the fields (never the values) when `params` do not fit `workflow`."""
    try:
        workflow.params_model.model_validate(dict(params))
    except PydanticValidationError as exc:
        problems = field_problems(exc, noun="parameter ")
        raise ParameterError(f"bad parameters for workflow {workflow.name!r}: {problems}") from None
