"""What every `orch` command shares: exit codes, the error guard, the FILE/WORKFLOW arguments,
workflow loading, option parsing and the local runtime's log levels."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from rich.console import Console

from orchestration.errors import OrchestrationError, ParameterError
from orchestration.loader import load_file, select
from orchestration.model import Workflow
from orchestration.operations.local_store import caller as caller  # user@host: who started a local run
from orchestration.runtime.registry import SERVICE
from orchestration.status import RunStatus, is_ok_run
from orchestration.times import parse_iso

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True)

FILE = click.argument("file", type=click.Path(dir_okay=False))
WORKFLOW = click.option(
    "--workflow", "-w", "workflow", metavar="NAME", help="Workflow to use when the file has several."
)


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_USAGE)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors (user mistakes) into a message and exit status 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OrchestrationError as exc:
            fail(str(exc))

    return wrapper


def run_exit(status: str) -> int:
    """The exit status for a run that ended with `status`. A run SKIPPED at its workflow's
    max_concurrent_runs is no failure of the command that delivered it: 0 (its summary says so)."""
    return EXIT_OK if is_ok_run(status) or status == RunStatus.SKIPPED else EXIT_RUN_FAILED


def workflows_in(file: str, workflow: str | None) -> list[Workflow]:
    """The workflow named `workflow` in `file`, or all of them sorted by name."""
    found = load_file(file)
    return [select(found, workflow, source=repr(file))] if workflow else [found[n] for n in sorted(found)]


def parse_iso_option(option: str, value: str) -> datetime:
    """An ISO 8601 date-time given on the command line ('Z' accepted), or a ParameterError."""
    moment = parse_iso(value)
    if moment is None:
        raise ParameterError(f"{option} {value!r} is not an ISO 8601 date-time: use e.g. 2026-11-21T00:00:00Z")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ParameterError(
            f"{option} {value!r} is outside years 1-9999 once converted to UTC: give a date within them"
        ) from None
    return moment


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """--param KEY=VALUE pairs; a value starting with [ or { is read as JSON."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--param {pair!r} is not KEY=VALUE: write it as --param name=value")
        if key in params:
            raise ParameterError(f"--param {key!r} is given twice: pass each parameter once")
        _check_text(key, value)
        stripped = value.strip()
        if stripped[:1] in ("[", "{"):
            try:
                params[key] = json.loads(stripped)
                continue
            except json.JSONDecodeError as exc:
                raise ParameterError(f"--param {key}={value!r} looks like JSON but is not valid ({exc.msg})") from None
        params[key] = value
    return params


def _check_text(key: str, value: str) -> None:
    """Invalid UTF-8 in argv reaches Python as lone surrogates, which no JSON payload can carry."""
    for part, text in (("name", key), ("value", value)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParameterError(
                f"--param {key.encode('utf-8', 'backslashreplace').decode()!r}: the {part} is not valid UTF-8 text "
                f"({text[exc.start]!a} at character {exc.start}): "
                "pass UTF-8 text (check the terminal's or file's encoding)"
            ) from None


def set_local_log_levels(*, verbose: bool = False) -> None:
    """Show the tasks' log lines only when verbose (the local store keeps them: `orch logs`), and
    never moto's (it logs every task failure).

    Call it once the local cloud is up: the Powertools logger sets its own level when first created.
    """
    service = logging.getLogger(SERVICE)
    service.setLevel(logging.INFO)
    for handler in service.handlers:  # Powertools' own stream handler: the terminal
        if handler.formatter is not None:
            handler.setLevel(logging.INFO if verbose else logging.CRITICAL)
    logging.getLogger("moto").setLevel(logging.CRITICAL)


# The local secrets of `orch run` and `orch dev` (what ctx.secret() returns without Secrets Manager).
secrets_option = click.option(
    "--secrets",
    "secrets_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="JSON object of secret name -> value that ctx.secret() returns locally (default: $ORCH_SECRETS_FILE).",
)
