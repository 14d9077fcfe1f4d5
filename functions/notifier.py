"""Lambda entry point of the notifier function (its work: `orchestration.runtime.notifier`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import NOTIFIER

handler = lambda_handler(NOTIFIER)
