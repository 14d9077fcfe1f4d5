"""Lambda entry point of the pool function (its work: `orchestration.runtime.pool`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import POOL

handler = lambda_handler(POOL)
