"""Lambda entry point of the trigger function (its work: `orchestration.runtime.trigger`)."""

from orchestration.runtime.entry import lambda_handler
from orchestration.runtime.registry import TRIGGER

handler = lambda_handler(TRIGGER)
