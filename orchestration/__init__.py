"""Serverless workflow orchestration for AWS: plain-Python workflows compiled to Step Functions.

Importing this package imports no AWS SDK: the model and compiler are pure. The local runtime
(`orchestration.local`) and the run ledger (`orchestration.ledger`) are where AWS calls live.
"""

from orchestration.compiler import compile_workflow, definition_hash, to_json
from orchestration.context import TaskContext
from orchestration.errors import (
    CompileError,
    OrchestrationError,
    ParameterError,
    SecretError,
    TaskFailure,
    ValidationError,
    WorkflowDefinitionError,
    WorkflowLoadError,
)
from orchestration.loader import load_file, load_workflow
from orchestration.model import Outcome, Param, Resources, Retry, RunIf, Task, Workflow
from orchestration.permissions import s3_read, s3_write, secret, sqs_send, statement
from orchestration.pools import Pool
from orchestration.status import RunStatus, TaskStatus
from orchestration.triggers.continuous import continuous
from orchestration.triggers.upstream import on_workflow
from orchestration.validation import validate

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "OrchestrationError",
    "Outcome",
    "Param",
    "ParameterError",
    "Pool",
    "Resources",
    "Retry",
    "RunIf",
    "RunStatus",
    "SecretError",
    "Task",
    "TaskContext",
    "TaskFailure",
    "TaskStatus",
    "ValidationError",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowLoadError",
    "__version__",
    "compile_workflow",
    "continuous",
    "definition_hash",
    "load_file",
    "load_workflow",
    "on_workflow",
    "s3_read",
    "s3_write",
    "secret",
    "sqs_send",
    "statement",
    "to_json",
    "validate",
]
