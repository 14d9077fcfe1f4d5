"""Notification declarations (pure): validation names the value and the fix; which end statuses
notify; the payload carries no parameter or output; webhook signatures."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from orchestration import Workflow
from orchestration.errors import ValidationError
from orchestration.notifications import (
    Email,
    Kind,
    Slack,
    Webhook,
    due_at_end,
    notification_problems,
    on_duration_over,
    on_failure,
    on_start,
    on_success,
    payload,
    sign,
    text,
)
from orchestration.validation import validate


def test_valid_declarations_pass() -> None:
    notify = [
        on_failure(Email("team@example.com"), Webhook("https://hooks.example.com/x", secret="orch/hook")),
        on_success(Slack(secret="orch/slack")),
        on_start(Webhook("http://127.0.0.1:8080/hook")),
        on_duration_over(Email("oncall@example.com"), minutes=45),
    ]
    assert notification_problems(notify) == []


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ("on_failure", "must be a list"),
        (["x"], "notify[0] is str: use on_failure"),
        ([on_failure()], "notify[0] (failure) has no destination"),
        ([on_failure(Email("not-an-address"))], "Email('not-an-address') is not an email address"),
        ([on_failure(Webhook("ftp://host/x"))], "Webhook('ftp://host/x') is not a URL"),
        ([on_failure(Webhook("http://hooks.example.com/x"))], "plain http to hooks.example.com: use https://"),
        ([on_failure(Webhook("https://h.example.com", secret="bad name!"))], "not a Secrets Manager secret name"),
        ([on_success(Slack(secret=""))], "Slack(secret='') must name the Secrets Manager secret"),
        ([on_duration_over(Email("a@b.co"), minutes=0)], "minutes=0 must be a number of minutes above 0"),
        ([on_duration_over(Email("a@b.co"), minutes=True)], "minutes=True must be a number"),
    ],
)
def test_bad_declarations_name_the_value_and_the_fix(notify: object, message: str) -> None:
    problems = notification_problems(notify)
    assert any(message in p for p in problems), problems


def test_validate_reports_notification_problems() -> None:
    wf = Workflow("n", notify=[on_failure(Email("nope"))])
    wf.task(name="a")(lambda: 1)
    with pytest.raises(ValidationError, match="is not an email address"):
        validate(wf)


@pytest.mark.parametrize(
    ("status", "partial", "kinds"),
    [
        ("SUCCEEDED", True, {Kind.SUCCESS}),
        ("FAILED", True, {Kind.FAILURE}),
        ("TIMED_OUT", True, {Kind.FAILURE}),
        ("ABORTED", True, {Kind.FAILURE}),
        ("SUCCEEDED_WITH_FAILURES", True, {Kind.FAILURE}),
        ("SUCCEEDED_WITH_FAILURES", False, set()),
    ],
)
def test_which_end_statuses_notify(status: str, partial: bool, kinds: set[Kind]) -> None:
    notify = [on_failure(Email("a@b.co"), partial=partial), on_success(Email("a@b.co"))]
    assert {n.kind for n in due_at_end(notify, status)} == kinds


def test_the_payload_holds_no_parameter_or_output_and_says_what_failed() -> None:
    run = {"run_id": "r1", "workflow": "etl", "status": "FAILED", "params": {"password": "hunter2"}, "error": "x"}
    body = payload(Kind.FAILURE, run, {"a": "SUCCEEDED", "b": "FAILED", "c": "UPSTREAM_FAILED"}, repair=1)
    assert "hunter2" not in str(body) and "params" not in body
    assert (body["failed_tasks"], body["repair"], body["kind"]) == (["b", "c"], 1, "failure")
    assert text(body) == "[orch] etl run r1 ended FAILED (failed: b, c)"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body, key, stamp = b'{"a":1}', b"k3y", "2026-11-21T00:00:00.000Z"
    expected = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert sign(body, key, stamp) == f"sha256={expected}"


def test_the_documented_verification_accepts_a_signature_and_refuses_a_tampered_body() -> None:
    import re
    from pathlib import Path

    from orchestration.notifications import SIGNATURE_HEADER, TIMESTAMP_HEADER
    from orchestration.times import now_iso

    doc = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    (code,) = re.findall(r"### Verifying a signature\n\n```python\n(.*?)```", doc, re.S)
    scope: dict[str, object] = {}
    exec(code, scope)  # the example as documented
    verify = scope["verify"]
    body, stamp = b'{"kind": "failure"}', now_iso()
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(body, b"k3y", stamp)}
    assert verify(body, headers, b"k3y") is True  # type: ignore[operator]
    assert verify(body + b" ", headers, b"k3y") is False  # type: ignore[operator]
