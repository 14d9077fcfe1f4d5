"""Lambda entry point of the join function (its work: `orchestration.runtime.join`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import JOIN

handler = lambda_handler(JOIN)
