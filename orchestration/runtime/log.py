"""The platform functions' logger (Powertools, structured JSON), named after the service. What they
log about a value they reject is its type and size (`orchestration.runtime.redact`), never the value."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from orchestration.runtime.registry import SERVICE, Env

logger = Logger(service=SERVICE, level=os.environ.get(Env.LOG_LEVEL, "INFO"))
