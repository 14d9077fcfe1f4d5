"""Lambda entry point of the finalize function (its work: `orchestration.runtime.finalize`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import FINALIZE

handler = lambda_handler(FINALIZE)
