"""Lambda entry point of a run_workflow task's function (its work: `orchestration.runtime.subflow`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import SUBFLOW

handler = lambda_handler(SUBFLOW)
