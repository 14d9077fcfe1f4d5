"""The one place that reaches into moto's Step Functions interpreter (moto 5.2.x).

These patches, installed for the life of a LocalCloud and removed after:

1. Lambda invocations: without Docker moto cannot run function code, so the interpreter's Lambda
   call is answered in-process by the registered handler, shaped exactly as Lambda answers
   (`FunctionError: "Unhandled"` with `errorType`/`errorMessage` for an exception), so Retry and
   Catch behave as on AWS. This also skips a boto3 client per call (moto builds a new one each time).
2. Retry intervals: the interpreter sleeps in real time between attempts; a virtual clock records
   the interval instead, so a task retried with 30 s intervals does not make a local run slow.
3. Callback polling: `.waitForTaskToken` states poll every 0.5 s; joins release at once, so poll
   every 2 ms instead.
4. Parsing: moto re-parses and re-preprocesses the whole definition for every execution, and builds
   a new JSONPath parser for every path it evaluates. Both are cached (the parsed program holds
   configuration only; each execution's state lives in its own Environment); plain dotted paths
   are built without the parser (`moto_paths`).
5. Copies: the interpreter deep-copies the whole state document on every state, and every value a
   `.$` parameter selects; state documents are JSON, so a JSON-only copier does it (anything else
   still goes to copy.deepcopy).
6. DynamoDB atomicity: DynamoDB applies each write atomically; moto's in-memory table does not when
   Parallel branches write from several threads (two concurrent updates of one join item could
   lose one, hanging the run). One lock serialises moto's DynamoDB operations. Condition parses
   are cached and a new item's size is summed once (`moto_dynamodb`, where item calls skip moto's HTTP path).
7. Stopping: on AWS StopExecution ends every state at once. moto stops the frames (Parallel branches,
   Map iterations) open at that moment but leaves a `.waitForTaskToken` wait blocked, so a join
   whose signal would come from a stopped branch waits forever and the execution never ends. Here a
   callback wait checks every 50 ms that its execution still runs, a frame runs only while the
   frames around it run (one a branch opens just after the stop ends at once, instead of dying on
   moto's "Could not set NextState" and leaving its Parallel waiting), a task state stops waiting for
   its Lambda call (which finishes on its own, as on AWS), and a state cut short by the stop cannot
   turn ABORTED into FAILED. A task-token call (SendTaskSuccess) skips executions still starting
   (moto would fail it on their missing environment). These wrappers live in `moto_stops.py`.
8. Child executions (`states:startExecution.sync:2`): moto's port of the integration leaves out the
   casing both ways (it calls StartExecution with `StateMachineArn` where boto expects
   `stateMachineArn`, and reads `ExecutionArn` where boto answers `executionArn`): requests and
   responses are converted with the botocore model, as on AWS (PascalCase keys, dates as epoch
   milliseconds). Its status poll backs off from 2 to 50 ms. On AWS a task that stops waiting for
   its child (the parent stopped, or the task timed out) stops the child: so does this. `on_child`,
   if set, hears of each child execution's status when it starts and when its task stops waiting
   for it (the local runtime passes that on to the recorder, as EventBridge does on AWS).
9. Choice rules on an absent path (`IsPresent`, e.g. the first state telling a repair from a new
   run): moto's answer is right, but it logs the absent path as an ERROR first; here it does not.
10. Import time: the interpreter's Batch integration imports an enum from `moto.batch`, whose package
   imports moto's EC2 model (about 0.7 s); the package's `__init__` waits until a name is read from it.
   moto's service model loader is shared by all its model reads (`share_model_loader`, as moto starts).
11. Distributed Map: failed items fail the map run past its tolerated failures, the ResultWriter
   writes AWS's result files, and at most 16 items run at once (`moto_distmap.py`).
"""

from __future__ import annotations

import copy
import functools
import json
import marshal
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from botocore.exceptions import ClientError

import orchestration.local.moto_distmap as distmap
import orchestration.local.moto_stops as stops
from orchestration.local.moto_dynamodb import cached_condition_parse, sized_once
from orchestration.local.moto_imports import defer_batch_package
from orchestration.local.moto_paths import fast_parse
from orchestration.status import ExecutionStatus

Handler = Callable[[dict[str, Any]], Any]
ChildListener = Callable[[str, ExecutionStatus], None]  # (execution ARN, its status) -> None

CALLBACK_POLL_SECONDS = 0.002
CHILD_POLL_MAX_SECONDS = 0.05  # the longest pause between two status polls of a child execution
CHILD_STOP_CAUSE = "the task that started it stopped waiting for it (the parent stopped, or the task timed out)"


class VirtualClock:
    """Accumulates the time the interpreter would have slept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.slept_seconds = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept_seconds += float(seconds)
            self.sleeps.append(float(seconds))


class Adapter:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.clock = VirtualClock()
        self.on_child: ChildListener | None = None
        self._saved: list[tuple[Any, str, Any]] = []

    def register(self, arn: str, handler: Handler) -> None:
        self.handlers[arn] = handler
        self.handlers[arn.rsplit(":", 1)[-1]] = handler

    def install(self) -> None:
        defer_batch_package()
        try:
            from moto.dynamodb.comparisons import ConditionExpressionParser
            from moto.dynamodb.models import DynamoDBBackend, dynamo_type
            from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name
            from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
            from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
                StatesErrorNameType,
            )
            from moto.stepfunctions.parser.asl.component.common.path import result_path
            from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
            from moto.stepfunctions.parser.asl.component.common.string import string_expression
            from moto.stepfunctions.parser.asl.component.state.choice.comparison import variable
            from moto.stepfunctions.parser.asl.component.state.exec import execute_state
            from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
                distributed_iteration_component as distributed,
            )
            from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
            from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
                distributed_item_processor_worker as distributed_worker,
            )
            from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer import result_writer_decl
            from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
                resource_eval_s3 as result_writer,
            )
            from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
            from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
            from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
                state_task_service_callback as callback,
            )
            from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
                state_task_service_sfn as sfn_service,
            )
            from moto.stepfunctions.parser.asl.eval import program_state, states
            from moto.stepfunctions.parser.asl.eval.environment import Environment
            from moto.stepfunctions.parser.asl.parse import asl_parser
            from moto.stepfunctions.parser.asl.utils import json_path
            from moto.stepfunctions.parser.models import StepFunctionsParserBackend as sfn_backend
        except ImportError as exc:  # pragma: no cover - depends on the installed moto
            raise RuntimeError(
                f"the installed moto does not have the Step Functions interpreter this adapter expects ({exc}); "
                "install moto 5.2.x (pyproject pins it)"
            ) from exc
        fake_time = SimpleNamespace(sleep=self.clock.sleep)
        self._patch(lambda_eval_utils, "_invoke_lambda_function", self._invoke)
        self._patch(retrier_decl, "time", fake_time)
        self._patch(callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", CALLBACK_POLL_SECONDS)
        for module in (json_path, result_path):
            self._patch(module, "parse", fast_parse(module.parse))
        self._patch(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(_cached_parse(asl_parser)))
        fast_copy = SimpleNamespace(deepcopy=json_copy, copy=copy.copy)
        for module in (states, result_path, execute_state, string_expression):
            self._patch(module, "copy", fast_copy)
        lock = threading.RLock()
        for method in _DYNAMODB_METHODS:
            self._patch(DynamoDBBackend, method, _locked(getattr(DynamoDBBackend, method), lock))
        self._patch(ConditionExpressionParser, "parse", cached_condition_parse(ConditionExpressionParser.parse))
        self._patch(dynamo_type.Item, "__init__", sized_once())
        for method in ("open_frame", "open_inner_frame"):
            self._patch(Environment, method, stops.knows_its_parent(getattr(Environment, method)))
        self._patch(Environment, "is_running", stops.running_with_parents(Environment.is_running))
        for method in ("set_error", "set_timed_out"):
            self._patch(Environment, method, stops.stays_stopped(getattr(Environment, method)))
        next_state: property = vars(Environment)["next_state_name"]
        self._patch(Environment, "next_state_name", stops.no_next_state_when_stopped(next_state))
        service = callback.StateTaskServiceCallback
        self._patch(service, "_eval_wait_for_task_token", stops.stoppable(service._eval_wait_for_task_token))
        state = execute_state.ExecutionState
        self._patch(state, "_evaluate_with_timeout", stops.stops_waiting(state._evaluate_with_timeout))
        self._patch(execute_state, "threading", SimpleNamespace(Event=stops.StoppableEvent))
        self._patch(sfn_backend, "_get_executions", stops.with_worker(sfn_backend._get_executions))
        self._patch(sfn_backend, "start_execution", _validates_name(sfn_backend.start_execution))
        self._patch(variable.Variable, "_eval_body", _quiet_variable(variable.NoSuchVariable))
        child = sfn_service.StateTaskServiceSfn
        self._patch(child, "_normalise_parameters", _to_boto_request(child._normalise_parameters))
        self._patch(child, "_normalise_response", _from_boto_response)
        self._patch(child, "_build_sync2_resolver", self._polls_child(child._build_sync2_resolver))
        self._patch(child, "_eval_sync", self._stops_child(child._eval_sync))
        worker = distributed_worker.DistributedItemProcessorWorker
        self._patch(worker, "_eval_job", distmap.records_items(worker._eval_job, program_state.ProgramEnded))
        self._patch(worker, "_eval_input", distmap.keeps_item_input(worker._eval_input))
        self._patch(worker, "_eval_pool", distmap.eval_pool)
        component = distributed.DistributedIterationComponent
        self._patch(component, "_map_run", distmap.map_run(component._map_run, _failure))
        self._patch(result_writer_decl.ResultWriter, "_eval_body", distmap.reads_state_input)
        names = distmap.error_names(custom_error_name.CustomErrorName, StatesErrorName, StatesErrorNameType.from_name)
        for module in (branches_decl, iteration_worker):
            self._patch(module, "CustomErrorName", names)
        writer = result_writer.ResourceEvalS3
        self._patch(writer, "_handle_put_object", staticmethod(_result_writer(writer._get_s3_client)))

    def uninstall(self) -> None:
        while self._saved:
            module, name, value = self._saved.pop()
            setattr(module, name, value)

    def _patch(self, module: Any, name: str, value: Any) -> None:
        if not hasattr(module, name):  # pragma: no cover - depends on the installed moto
            raise RuntimeError(f"moto changed: {module.__name__}.{name} is gone; pin moto 5.2.x")
        self._saved.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    def _invoke(self, parameters: dict[str, Any], region: str, state_credentials: Any = None) -> dict[str, Any]:
        name = str(parameters["FunctionName"])
        handler = self.handlers.get(name)
        if handler is None:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {name}"}},
                "Invoke",
            )
        raw = parameters.get("Payload") or b"{}"
        event = json.loads(raw.decode() if isinstance(raw, bytes | bytearray) else raw)
        try:
            result = handler(event)
            payload = json.loads(json.dumps(result))  # what crosses the Lambda boundary is JSON
        except (Exception, SystemExit) as exc:
            # Lambda reports a function that exits as Runtime.ExitError
            kind = "Runtime.ExitError" if isinstance(exc, SystemExit) else type(exc).__name__
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "ExecutedVersion": "$LATEST",
                "Payload": {
                    "errorMessage": str(exc),
                    "errorType": kind,
                    "requestId": str(uuid.uuid4()),
                    "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
                },
            }
        return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": payload}

    # -- child executions ------------------------------------------------------------------------

    def _polls_child(self, build: Callable[..., Any]) -> Callable[..., Any]:
        """The status poll of a started child execution, which knows the child and backs off."""

        @functools.wraps(build)
        def call(service: Any, **kwargs: Any) -> Any:
            arn = str(kwargs["env"].stack[-1]["ExecutionArn"])  # the StartExecution answer, which build pops
            poll = _ChildPoll(build(service, **kwargs), arn)
            self._tell(arn, ExecutionStatus.RUNNING)
            return poll

        return call

    def _stops_child(self, eval_sync: Callable[..., Any]) -> Callable[..., Any]:
        """Waiting for a child: a wait cut short (stop, timeout) stops the child, as on AWS."""

        @functools.wraps(eval_sync)
        def call(service: Any, **kwargs: Any) -> Any:
            try:
                return eval_sync(service, **kwargs)
            finally:
                poll = kwargs.get("sync_resolver")
                if isinstance(poll, _ChildPoll):
                    # A stopped child ends ABORTED once its current state returns: known already.
                    status = _stop_if_running(poll.execution_arn) if not kwargs["env"].is_running() else None
                    self._tell(poll.execution_arn, status or _status(poll.execution_arn))

        return call

    def _tell(self, execution_arn: str, status: ExecutionStatus) -> None:
        if self.on_child is None:
            return
        try:
            self.on_child(execution_arn, status)
        except Exception:  # as on AWS, what listens to executions cannot fail the one that runs
            traceback.print_exc()


def _failure(env: Any, error: str, cause: str) -> Exception:
    """A States error that fails the state (Retry and Catch see it), as moto raises its own."""
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    details = cast(Any, EventDetails)(mapRunFailedEventDetails=MapRunFailedEventDetails(error=error, cause=cause))
    name = StatesErrorName(StatesErrorNameType.from_name(error))
    event = FailureEvent(env, name, HistoryEventType.MapRunFailed, details)
    return FailureEventException(failure_event=event)


def _result_writer(s3_client: Callable[..., Any]) -> Callable[..., None]:
    def handle(env: Any, runtime_part: Any, credentials: Any) -> None:
        distmap.write_results(env, runtime_part, credentials, s3_client)

    return handle


class _ChildPoll:
    """moto's poll of a child execution's status, pausing longer each time it finds it running."""

    def __init__(self, resolve: Callable[[], Any], execution_arn: str) -> None:
        self.resolve = resolve
        self.execution_arn = execution_arn
        self.delay = CALLBACK_POLL_SECONDS

    def __call__(self) -> Any:
        result = self.resolve()
        if result is None:
            time.sleep(self.delay)
            self.delay = min(self.delay * 1.5, CHILD_POLL_MAX_SECONDS)
        return result


def _client(execution_arn: str) -> Any:
    import boto3

    return boto3.client("stepfunctions", region_name=execution_arn.split(":")[3])


def _status(execution_arn: str) -> ExecutionStatus:
    return ExecutionStatus(_client(execution_arn).describe_execution(executionArn=execution_arn)["status"])


def _stop_if_running(execution_arn: str) -> ExecutionStatus | None:
    """Stop the execution if it still runs: ABORTED then, else None."""
    if _status(execution_arn) != ExecutionStatus.RUNNING:
        return None
    _client(execution_arn).stop_execution(executionArn=execution_arn, cause=CHILD_STOP_CAUSE)
    return ExecutionStatus.ABORTED


@functools.cache
def _operations() -> dict[str, Any]:
    """The Step Functions API's botocore operation models, by boto3 method name."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("stepfunctions")
    return {xform_name(name): model.operation_model(name) for name in model.operation_names}


def _validates_name(start: Callable[..., Any]) -> Callable[..., Any]:
    """StartExecution refuses a name AWS refuses (over 80 characters, or a forbidden character),
    as moto's API does and its interpreter's own starts (`startExecution.sync`) did not."""

    @functools.wraps(start)
    def call(backend: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if name:
            backend._validate_name(name)
        return start(backend, state_machine_arn, name, *args, **kwargs)

    return call


def _to_boto_request(normalise: Callable[..., None]) -> Callable[..., None]:
    """Request parameters as the integration names them (StateMachineArn) to boto's (stateMachineArn)."""

    @functools.wraps(normalise)
    def call(service: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        normalise(service, parameters, *args, **kwargs)
        action = service._get_boto_service_action(kwargs.get("service_action_name"))
        service._to_boto_request(parameters, _operations()[action].input_shape)

    return call


def _from_boto_response(
    service: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    """A response as the integration returns it on AWS: PascalCase keys, dates as epoch milliseconds."""
    if not isinstance(response, dict):
        return
    for key, value in response.items():
        if isinstance(value, datetime):
            response[key] = int(value.timestamp() * 1000)
    action = service._get_boto_service_action(service_action_name)
    service._from_boto_response(response, _operations()[action].output_shape)


def _cached_parse(asl_parser: Any) -> Callable[[str], tuple[Any, Any]]:
    """AmazonStateLanguageParser.parse, cached per definition text.

    The evaluation components moto builds from a definition hold configuration only: every
    execution keeps its state in its own Environment (checked: no component assigns to itself while
    evaluating, except per-evaluation worker objects). So the program built when the state machine
    was created (moto validates the definition then) serves every execution of it. moto's grammar
    refuses Express child executions: they run as Standard ones (`moto_distmap.standard_children`).
    """
    cached: Callable[[str], tuple[Any, Any]] = functools.lru_cache(maxsize=64)(
        asl_parser.AmazonStateLanguageParser.parse
    )
    return lambda definition: cached(distmap.standard_children(definition))


_DYNAMODB_METHODS = (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
)


def _locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return call


def _quiet_variable(no_such_variable: type) -> Callable[[Any, Any], None]:
    """A Choice rule's variable: its value, or moto's NoSuchVariable marker when the path is absent
    (the path is read without the logging wrapper, which reports an absent path as an error)."""

    def eval_body(variable: Any, env: Any) -> None:
        sampler = variable.string_sampler
        try:
            sampler._eval_body(env)
            value = env.stack.pop()
        except Exception as exc:
            value = no_such_variable(f"{sampler.literal_value}, {exc}")
        env.stack.append(value)

    return eval_body


def json_copy(value: Any, memo: Any = None) -> Any:
    """copy.deepcopy for JSON documents: marshal copies dicts, lists and scalars in C; anything
    marshal cannot carry (or a subclass such as an enum member) falls back to copy.deepcopy."""
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:
        return copy.deepcopy(value, memo)
