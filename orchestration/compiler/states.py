"""One builder per Amazon States Language state, and the Lambda service integration (pure).

Each state is a small dataclass whose `to_dict()` is its ASL: fields in a fixed order, then the
transition (`Next` or `End`), which the emitter sets once it knows where the state leads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2"  # output: the child's, as JSON
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
ALL_ERRORS = "States.ALL"

Asl = dict[str, Any]


def substitution(placeholder: str) -> str:
    """A `${placeholder}` reference, filled by DefinitionSubstitutions (or `render`)."""
    return "${" + placeholder + "}"


def retrier(
    errors: Sequence[str],
    interval_seconds: int,
    max_attempts: int,
    backoff_rate: float,
    *,
    max_delay_seconds: int | None = None,
    jitter: bool = False,
) -> Asl:
    rule: Asl = {
        "ErrorEquals": list(errors),
        "IntervalSeconds": interval_seconds,
        "MaxAttempts": max_attempts,
        "BackoffRate": float(backoff_rate),
    }
    if max_delay_seconds is not None:
        rule["MaxDelaySeconds"] = max_delay_seconds
    if jitter:
        rule["JitterStrategy"] = "FULL"
    return rule


def platform_retry() -> Asl:
    """Retry the Lambda service's own transient errors, before any retry policy of the task."""
    return retrier(LAMBDA_TRANSIENT_ERRORS, 1, 3, 2.0)


def catch_all(result_path: str, next_state: str) -> Asl:
    return {"ErrorEquals": [ALL_ERRORS], "ResultPath": result_path, "Next": next_state}


@dataclass(kw_only=True)
class State(ABC):
    """Fields every state shares: its transition, set after construction."""

    next: str | None = None
    end: bool = False

    @abstractmethod
    def fields(self) -> Asl:
        """The state's own fields, `Type` first."""

    def to_dict(self) -> Asl:
        out = self.fields()
        if self.next is not None:
            out["Next"] = self.next
        if self.end:
            out["End"] = True
        return out


def _present(**fields: Any) -> Asl:
    """The given ASL fields that are set (None means absent)."""
    return {key: value for key, value in fields.items() if value is not None}


@dataclass(kw_only=True)
class PassState(State):
    comment: str | None = None
    parameters: Asl | None = None
    result: Any = None
    result_path: str | None = None

    def fields(self) -> Asl:
        return {
            "Type": "Pass",
            **_present(
                Comment=self.comment, Parameters=self.parameters, Result=self.result, ResultPath=self.result_path
            ),
        }


@dataclass(kw_only=True)
class TaskState(State):
    """A `lambda:invoke` of the function behind `function` (a definition placeholder) with `payload`;
    `wait_for_token`: the `.waitForTaskToken` integration (the state waits for a callback)."""

    function: str
    payload: Asl
    comment: str | None = None
    wait_for_token: bool = False
    output_path: str | None = None
    result_selector: Asl | None = None
    result_path: str | None = None
    discard_result: bool = False  # "ResultPath": null: the state's output is its input
    timeout_seconds: int | None = None
    retry: list[Asl] | None = None
    catch: list[Asl] | None = None

    def fields(self) -> Asl:
        out: Asl = {
            "Type": "Task",
            **_present(Comment=self.comment),
            "Resource": LAMBDA_CALLBACK if self.wait_for_token else LAMBDA_INVOKE,
            "Parameters": {"FunctionName": substitution(self.function), "Payload": self.payload},
            **_present(OutputPath=self.output_path, ResultSelector=self.result_selector),
        }
        if self.discard_result:
            out["ResultPath"] = None
        out.update(_present(ResultPath=self.result_path, TimeoutSeconds=self.timeout_seconds))
        out.update(_present(Retry=self.retry, Catch=self.catch))
        return out


@dataclass(kw_only=True)
class StartExecutionState(State):
    """A `startExecution.sync:2` of the state machine behind `state_machine` (a definition
    placeholder): starts a child execution named from `name` (a JSONPath) with `input`, and waits."""

    state_machine: str
    name: str
    input: str  # JSONPath of the child's execution input
    comment: str | None = None
    result_selector: Asl | None = None
    result_path: str | None = None
    timeout_seconds: int | None = None
    catch: list[Asl] | None = None

    def fields(self) -> Asl:
        return {
            "Type": "Task",
            **_present(Comment=self.comment),
            "Resource": START_EXECUTION_SYNC,
            "Parameters": {
                "StateMachineArn": substitution(self.state_machine),
                "Name.$": self.name,
                "Input.$": self.input,
            },
            **_present(
                ResultSelector=self.result_selector,
                ResultPath=self.result_path,
                TimeoutSeconds=self.timeout_seconds,
                Catch=self.catch,
            ),
        }


@dataclass(kw_only=True)
class ChoiceState(State):
    choices: list[tuple[Asl, str]]  # (rule, next state), first match wins
    default: str

    def fields(self) -> Asl:
        return {
            "Type": "Choice",
            "Choices": [{**rule, "Next": target} for rule, target in self.choices],
            "Default": self.default,
        }


@dataclass
class Branch:
    """A Parallel branch, a Map's item processor or the state machine itself: states from `start_at`."""

    start_at: str
    states: dict[str, State] = field(default_factory=dict)

    def to_dict(self) -> Asl:
        return {"StartAt": self.start_at, "States": {name: s.to_dict() for name, s in self.states.items()}}


@dataclass(kw_only=True)
class ParallelState(State):
    parameters: Asl
    branches: list[Branch]
    result_selector: Asl
    result_path: str
    comment: str | None = None
    retry: list[Asl] | None = None
    catch: list[Asl] | None = None

    def fields(self) -> Asl:
        return {
            "Type": "Parallel",
            **_present(Comment=self.comment),
            "Parameters": self.parameters,
            "Branches": [b.to_dict() for b in self.branches],
            "ResultSelector": self.result_selector,
            "ResultPath": self.result_path,
            **_present(Retry=self.retry, Catch=self.catch),
        }


@dataclass(kw_only=True)
class MapState(State):
    """An inline Map over the list at `items_path`, each item through `processor`; with
    `item_reader` a Distributed Map (one child execution of `execution_type` per item) over the list
    it reads, writing its results with `result_writer`."""

    items_path: str | None = None
    max_concurrency: int
    item_selector: Asl
    processor: Branch
    result_selector: Asl | None = None
    result_path: str
    catch: list[Asl] | None = None
    item_reader: Asl | None = None
    execution_type: str = "STANDARD"  # of a Distributed Map's child executions
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None
    result_writer: Asl | None = None

    def fields(self) -> Asl:
        config = {"Mode": "INLINE"} if self.item_reader is None else {"Mode": "DISTRIBUTED"}
        if self.item_reader is not None:
            config["ExecutionType"] = self.execution_type
        return {
            "Type": "Map",
            **_present(ItemsPath=self.items_path, ItemReader=self.item_reader),
            "MaxConcurrency": self.max_concurrency,
            **_present(
                ToleratedFailureCount=self.tolerated_failure_count,
                ToleratedFailurePercentage=self.tolerated_failure_percentage,
            ),
            "ItemSelector": self.item_selector,
            "ItemProcessor": {"ProcessorConfig": config, **self.processor.to_dict()},
            **_present(ResultWriter=self.result_writer, ResultSelector=self.result_selector),
            "ResultPath": self.result_path,
            **_present(Catch=self.catch),
        }


@dataclass(kw_only=True)
class FailState(State):
    error: str
    cause: str

    def fields(self) -> Asl:
        return {"Type": "Fail", "Error": self.error, "Cause": self.cause}


@dataclass(kw_only=True)
class SucceedState(State):
    def fields(self) -> Asl:
        return {"Type": "Succeed"}


def state_machine(comment: str, body: Branch, timeout_seconds: int | None) -> Asl:
    """The whole definition (JSONPath query language)."""
    return {
        "Comment": comment,
        "QueryLanguage": "JSONPath",
        **body.to_dict(),
        **_present(TimeoutSeconds=timeout_seconds or None),
    }


def select(paths: Mapping[str, str]) -> Asl:
    """A template whose every key takes its value from a JSONPath."""
    return {f"{key}.$": path for key, path in paths.items()}
