"""The embedded AWS: fake credentials plus an in-process moto with Step Functions execution on.

Shared by `LocalCloud` and the CloudFormation-on-moto adapter, with the event both emit when an
execution ends (what EventBridge delivers to the recorder on AWS), and what a local function is
named and holds as code.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orchestration.local.moto_dynamodb import answer_in_process, stop_answering
from orchestration.protocol import STATUS_CHANGE_DETAIL_TYPE, STATUS_CHANGE_SOURCE, StatusChangeDetail

ACCOUNT = "123456789012"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "MOTO_ACCOUNT_ID": ACCOUNT,
}


class EmbeddedAws:
    """`start()` sets fake credentials and starts moto; `stop()` undoes both."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None

    def start(self) -> Any:
        """Start moto; returns a boto3 Session for the region."""
        from moto import mock_aws

        from orchestration.local.moto_imports import share_model_loader

        share_model_loader()

        for key, value in {**FAKE_ENV, "AWS_DEFAULT_REGION": self.region}.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._mock.start()
        session = _session(self.region)
        answer_in_process(session.events, ACCOUNT)  # DynamoDB item calls skip moto's HTTP emulation
        return session

    def stop(self) -> None:
        if self._mock is not None:
            stop_answering(_session(self.region).events)
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()


@functools.cache
def _session(region: str) -> Any:
    """The process's boto3 session for the region. Its service models come through the loader of the
    session moto lists each service's regions with: each model file is read and parsed once."""
    import boto3
    import botocore.session
    from moto.core.base_backend import AccountSpecificBackend

    core = botocore.session.get_session()
    core.register_component("data_loader", AccountSpecificBackend.get_session()._session.get_component("data_loader"))
    return boto3.session.Session(botocore_session=core, region_name=region)


def status_change_event(execution_arn: str, desc: Mapping[str, Any]) -> dict[str, Any]:
    """The EventBridge "Step Functions Execution Status Change" event for a DescribeExecution result."""

    def ms(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if isinstance(value, datetime) else None

    detail = StatusChangeDetail(
        executionArn=execution_arn,
        stateMachineArn=desc.get("stateMachineArn"),
        name=desc.get("name"),
        status=desc["status"],
        startDate=ms(desc.get("startDate")),
        stopDate=ms(desc.get("stopDate")),
        input=desc.get("input"),
        output=desc.get("output"),
        error=desc.get("error"),
        cause=desc.get("cause"),
    )
    return {
        "source": STATUS_CHANGE_SOURCE,
        "detail-type": STATUS_CHANGE_DETAIL_TYPE,
        "resources": [execution_arn],
        "detail": detail.model_dump(mode="json"),
    }


def function_name(workflow: str, task: str) -> str:
    """A Lambda function name (at most 64 characters) unique per workflow and task."""
    name = f"{workflow}-{task}"
    if len(name) <= 64:
        return name
    return f"{name[:55]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def _empty_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "The local runtime runs task code in-process; this package is a placeholder.\n")
    return buf.getvalue()


EMPTY_ZIP = _empty_zip()  # the code of every local function: the adapter answers its calls
# Who may assume the local cloud's one role: its functions and state machines.
LOCAL_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
