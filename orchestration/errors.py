"""Error hierarchy: every error the library raises for a user mistake derives from OrchestrationError.

Messages say what was wrong, the value received and how to fix it, so the CLI can print them as-is.
"""

from __future__ import annotations

from collections.abc import Sequence


class OrchestrationError(Exception):
    """Root of every error raised by this library."""


class WorkflowDefinitionError(OrchestrationError):
    """A workflow or task was declared with an invalid argument (raised at declaration time)."""


class ValidationError(OrchestrationError):
    """A workflow failed validation; `problems` lists every problem found, not just the first."""

    def __init__(self, workflow: str, problems: Sequence[str]) -> None:
        self.workflow = workflow
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"workflow {workflow!r} is invalid ({len(self.problems)} {noun}):\n{lines}")


class ParameterError(OrchestrationError):
    """A workflow parameter value is missing, unknown or of the wrong type."""


class WorkflowLoadError(OrchestrationError):
    """A workflow file could not be loaded, or the requested workflow is not in it."""


class CompileError(OrchestrationError):
    """The workflow cannot be compiled to Amazon States Language."""


class TriggerError(OrchestrationError):
    """A trigger declaration is unusable, or an event cannot be mapped to parameters."""


class LedgerError(OrchestrationError):
    """The run ledger rejected or could not perform an operation."""


class StaleWriteError(LedgerError):
    """A ledger write was refused because it would move a run or task backwards."""


class RunNotFound(OrchestrationError):
    """No run with this id where the command looked (or several, in different workflows)."""


class OperationError(OrchestrationError):
    """An operation on a run (cancel, repair, backfill) cannot be done in the run's present state."""


class StackError(OrchestrationError):
    """A deployed stack cannot be used: unknown, not an orchestrator stack, unreachable, or refused."""


class ArtifactError(OrchestrationError):
    """A task output could not be stored in, or read back from, the artifact bucket."""


class SecretError(OrchestrationError):
    """A task asked for a secret it did not declare, or the secret could not be read."""


class TaskFailure(OrchestrationError):
    """Raise from task code to fail the task with a chosen error name (retries still apply)."""

    def __init__(self, message: str, *, error_type: str = "TaskFailure") -> None:
        super().__init__(message)
        self.error_type = error_type


def exception_text(exc: BaseException) -> str:
    """`str(exc)`, or a stand-in naming the class when the exception's own `__str__` fails."""
    try:
        return str(exc)
    except Exception as inner:  # user code's __str__ may raise anything
        return f"<{type(exc).__name__} whose str() raised {type(inner).__name__}>"
