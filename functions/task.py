"""Lambda entry point of the task function (its work: `orchestration.runtime.task`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import TASK

handler = lambda_handler(TASK)
