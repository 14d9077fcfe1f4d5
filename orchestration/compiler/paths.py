"""Every JSONPath the compiler writes: into the state document (`protocol.StateDocument`), a Lambda
response, and the Step Functions context object (pure)."""

from __future__ import annotations

from orchestration.protocol import (
    CTX_PATH,
    RES_PATH,
    FinalizeResult,
    RunContext,
    StateDocument,
    TaskResponse,
    TaskResult,
    state_path,
)

# The context object ("$$"): what Step Functions knows about the execution and the current state.
EXECUTION_NAME = "$$.Execution.Name"
EXECUTION_ID = "$$.Execution.Id"  # the execution's ARN
ENTERED_TIME = "$$.State.EnteredTime"
TASK_TOKEN = "$$.Task.Token"
RETRY_COUNT = "$$.State.RetryCount"
MAP_ITEM_VALUE = "$$.Map.Item.Value"
MAP_ITEM_INDEX = "$$.Map.Item.Index"

INVOKE_RESPONSE = state_path("Payload")  # what lambda:invoke returns: the function's response
RESPONSE_OUTPUT = f"{INVOKE_RESPONSE}.{TaskResponse.key('output')}"  # a task function's output
RESPONSE_STATUS = f"{INVOKE_RESPONSE}.{TaskResponse.key('status')}"  # and its status (when it decides its run-if)
RUN_ID = f"{CTX_PATH}.{RunContext.key('run_id')}"
WORKFLOW_NAME = f"{CTX_PATH}.{RunContext.key('workflow')}"
REPAIR_NUMBER = f"{CTX_PATH}.{RunContext.key('repair')}"
RUN_STATUS = state_path(FinalizeResult.key("status"))  # in the finalize step's output


def result_path(task: str) -> str:
    """Where a task's `TaskResult` lives in `$.res` (outside any Parallel state)."""
    return f"{RES_PATH}.{task}"


def join_path(task: str) -> str:
    """Where a task's join wait puts the results of the tasks it awaited."""
    return result_path(f"_j_{task}")


def parallel_path(number: int) -> str:
    """Where a Parallel state puts the results of its branches."""
    return result_path(f"_p{number}")


def relative_to_res(path: str) -> str:
    """`$.res.a.b` -> `a.b`."""
    return path.removeprefix(f"{RES_PATH}.")


def branch_result(branch: int, key: str) -> str:
    """An entry of `$.res` at the end of branch number `branch` of a Parallel state (its output)."""
    return f"$[{branch}].{StateDocument.key('res')}.{key}"


def status_of(result: str) -> str:
    return f"{result}.{TaskResult.key('status')}"


def output_of(result: str) -> str:
    return f"{result}.{TaskResult.key('output')}"


def error_of(caught: str) -> str:
    """The error name a Catch wrote at `caught` (the States error output's `Error`)."""
    return f"{caught}.Error"
