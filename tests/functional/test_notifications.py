"""Notifications on the local cloud: a local HTTP server receives exactly one signed POST per failed
run (even when the status is processed twice), one per success when asked, and one duration-over
notification while the run is still going; a failing destination is retried, then recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestration import Workflow
from orchestration.ledger.keys import NOTICE_SK, run_pk
from orchestration.ledger.notices import notice_from_item
from orchestration.local import LocalCloud
from orchestration.notifications import Email, Webhook, on_duration_over, on_failure, on_start, on_success

KEY = "s3cr3t-hmac-key"


class Hook:
    """A local HTTP server recording each POST (path, headers, body); /fail answers 500."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.posts.append((self.path, dict(self.headers), body))
                self.send_response(500 if self.path == "/fail" else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(body) for p, _, body in self.posts if p == path]


@pytest.fixture()
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()


@pytest.fixture()
def cloud(quiet_logs: None) -> Iterator[LocalCloud]:
    with LocalCloud(secrets={"orch/hook": KEY}) as c:
        yield c


def _workflow(name: str, hook: Hook, *, fail: bool, sleep: float = 0.0, **kinds: Any) -> Workflow:
    notify = [on_failure(Webhook(f"{hook.url}/failure", secret="orch/hook"), Email("team@example.com"))]
    if kinds.get("success"):
        notify.append(on_success(Webhook(f"{hook.url}/success")))
    if kinds.get("start"):
        notify.append(on_start(Webhook(f"{hook.url}/start")))
    if kinds.get("minutes"):
        notify.append(on_duration_over(Webhook(f"{hook.url}/duration"), minutes=kinds["minutes"]))
    wf = Workflow(name, params={"password": str}, notify=notify)

    @wf.task
    def work(ctx: Any) -> int:
        time.sleep(sleep)
        if fail:
            raise RuntimeError("boom")
        return 1

    return wf


def test_one_signed_post_per_failed_run_even_when_processed_twice(cloud: LocalCloud, hook: Hook) -> None:
    wf = _workflow("n_fail", hook, fail=True)
    run = cloud.run(wf, {"password": "hunter2"})
    assert run.status == "FAILED"
    # the status-change event delivered again (EventBridge delivers at least once): nothing is sent twice
    assert run.execution_arn is not None
    again = cloud.notifier.status_changed(run.execution_arn, "FAILED")
    assert again["action"] == "ended" and again["sent"] == []
    ((path, headers, body),) = hook.posts
    assert path == "/failure"
    sent = json.loads(body)
    assert (sent["kind"], sent["run_id"], sent["status"]) == ("failure", run.run_id, "FAILED")
    assert sent["failed_tasks"] == ["work"]
    assert "hunter2" not in body.decode()  # never a parameter value
    stamp = headers["X-Orch-Timestamp"]
    expected = hmac.new(KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Orch-Signature"] == f"sha256={expected}"
    (item,) = cloud.ledger.client.query(
        TableName=cloud.table_name,
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": run_pk(wf.name, run.run_id)}, ":s": {"S": NOTICE_SK.text}},
    )["Items"]
    notice = notice_from_item(item)
    assert notice["kind"] == "failure"
    assert notice["results"] == [
        {"attempts": 1, "destination": "webhook http://127.0.0.1", "ok": True},
        {"attempts": 1, "destination": "email team@example.com", "ok": True, "sent": False},  # recorded locally
    ]


def test_success_and_start_only_when_asked(cloud: LocalCloud, hook: Hook) -> None:
    assert cloud.run(_workflow("n_quiet", hook, fail=False), {"password": "x"}).status == "SUCCEEDED"
    assert hook.posts == []
    run = cloud.run(_workflow("n_loud", hook, fail=False, success=True, start=True), {"password": "x"})
    assert [p for p, _, _ in hook.posts] == ["/start", "/success"]
    assert hook.bodies("/success")[0]["run_id"] == run.run_id
    assert "X-Orch-Signature" not in hook.posts[1][1]  # no secret: not signed


def test_duration_over_fires_while_the_run_is_still_going(cloud: LocalCloud, hook: Hook) -> None:
    wf = _workflow("n_slow", hook, fail=False, sleep=2.0, minutes=0.01)  # 0.6 s
    run_id = cloud.start(wf, {"password": "x"})
    run = cloud.wait(run_id)
    (sent,) = hook.bodies("/duration")
    assert sent["kind"] == "duration" and sent["status"] == "RUNNING" and sent["running_minutes_over"] == 0.01
    assert run.status == "SUCCEEDED" and run.ended_at is not None and run.ended_at > sent["started_at"]
    assert len(cloud.timers.fired) == 1  # the notifier's one-time timer, not a poll


def test_a_run_that_ends_first_cancels_its_duration_timer(cloud: LocalCloud, hook: Hook) -> None:
    run = cloud.run(_workflow("n_fast", hook, fail=False, minutes=30), {"password": "x"})
    assert run.status == "SUCCEEDED"
    assert cloud.timers.pending() == [] and cloud.timers.fired == []
    assert hook.bodies("/duration") == []


def test_a_failing_destination_is_retried_then_recorded_and_the_run_is_unaffected(
    cloud: LocalCloud, hook: Hook
) -> None:
    wf = Workflow("n_broken_hook", notify=[on_failure(Webhook(f"{hook.url}/fail"))])
    wf.task(name="work")(lambda: 1 / 0)
    run = cloud.run(wf)
    assert run.status == "FAILED"
    assert [p for p, _, _ in hook.posts] == ["/fail"] * 3


def test_email_is_one_publish_with_attributes_each_address_filters(cloud: LocalCloud) -> None:
    """On AWS email goes to the notification topic; each address's subscription filter (as infra writes
    it) lets through only its workflows' kinds. Checked with SQS subscribers, which moto delivers to."""
    import boto3

    from infra.constructs.notifications import filter_policy
    from orchestration.local.aws import status_change_event
    from orchestration.notifications import email_routes
    from orchestration.runtime.deps import Runtime
    from orchestration.runtime.notifier import run_notifier

    plain = Workflow("n_mail")  # run without notifications; then told as the deployed notifier would
    plain.task(name="work")(lambda: 1 / 0)
    run = cloud.run(plain)
    assert run.execution_arn is not None
    notify = [on_failure(Email("team@example.com")), on_success(Email("boss@example.com"))]
    mailing = Workflow("n_mail", notify=notify)
    other = Workflow("n_other", notify=[on_failure(Email("boss@example.com"))])
    sns, sqs = boto3.client("sns", region_name=cloud.region), boto3.client("sqs", region_name=cloud.region)
    topic = sns.create_topic(Name="orch-notify")["TopicArn"]
    queues = {}
    for address, by_workflow in email_routes({"n_mail": notify, "n_other": other.notify}).items():
        url = sqs.create_queue(QueueName=address.split("@")[0])["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps(filter_policy(by_workflow))
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"FilterPolicy": policy})
        queues[address] = url
    rt = Runtime(ledger=cloud.ledger, workflow=mailing, sns=sns, notify_topic_arn=topic)
    event = status_change_event(run.execution_arn, cloud.sfn.describe_execution(executionArn=run.execution_arn))
    first, again = run_notifier(event, rt), run_notifier(event, rt)
    assert first["sent"] == [{"destination": "email team@example.com", "ok": True, "attempts": 1}]
    assert again["sent"] == []  # a duplicated event publishes nothing
    (message,) = sqs.receive_message(QueueUrl=queues["team@example.com"], MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(message["Body"])
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {"workflow": "n_mail", "kind": "failure"}
    assert json.loads(envelope["Message"])["run_id"] == run.run_id
    assert "Messages" not in sqs.receive_message(QueueUrl=queues["boss@example.com"])  # n_mail's success only
