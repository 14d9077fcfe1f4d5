"""Serverless workflow orchestration for AWS: plain-Python workflows compiled to Step Functions.

Importing this package imports no AWS SDK: the model and compiler are pure. The local runtime
(`orchestration.local`) and the run ledger (`orchestration.ledger`) are where AWS calls live.

The public names are imported on first use (PEP 562): a Lambda function importing
`orchestration.runtime` does not pay for the compiler, validation or triggers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.lazy import exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = exports(
    globals(),
    {
        "orchestration.compiler": ("compile_workflow", "definition_hash", "to_json"),
        "orchestration.context": ("TaskContext",),
        "orchestration.errors": (
            "CompileError",
            "OrchestrationError",
            "ParameterError",
            "SecretError",
            "TaskFailure",
            "ValidationError",
            "WorkflowDefinitionError",
            "WorkflowLoadError",
        ),
        "orchestration.loader": ("load_file", "load_workflow"),
        "orchestration.model": ("Outcome", "Param", "Resources", "Retry", "RunIf", "Task", "Workflow"),
        "orchestration.permissions": ("s3_read", "s3_write", "secret", "sqs_send", "statement"),
        "orchestration.pools": ("Pool",),
        "orchestration.status": ("RunStatus", "TaskStatus"),
        "orchestration.triggers.continuous": ("continuous",),
        "orchestration.triggers.upstream": ("on_workflow",),
        "orchestration.validation": ("validate",),
    },
)

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
