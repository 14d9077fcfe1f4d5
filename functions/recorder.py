"""Lambda entry point of the recorder function (its work: `orchestration.runtime.recorder`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import RECORDER

handler = lambda_handler(RECORDER)
