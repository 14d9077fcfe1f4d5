"""`orch schedule list|pause|resume --stack NAME`: a deployed workflow's Scheduler schedules and
EventBridge rules, disabled and enabled again through boto3 over HTTP (moto's server serving the
examples stack deployed into the in-process moto, as in test_stack_runs)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from orchestration.local.cfn_adapter import DeployedStack
from tests.helpers import invoke
from tests.infra.conftest import STACK
from tests.infra.on_stack.conftest import REGION
from tests.samples import s3_object_created

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]
WHERE = ("--stack", STACK, "--region", REGION)


@pytest.fixture
def over_http(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # boto3 reads it
    session = boto3.Session(region_name=REGION)
    return {"scheduler": session.client("scheduler"), "events": session.client("events")}


def _listed() -> dict[tuple[str, str], dict[str, Any]]:
    code, out, err = invoke("schedule", "list", *WHERE, "--json")
    assert code == 0, err
    return {(t["workflow"], t["trigger"]): t for t in json.loads(out)}


def test_pause_and_resume_every_trigger_of_a_workflow(
    deployed: DeployedStack,
    over_http: dict[str, Any],
) -> None:
    listed = _listed()
    assert set(listed) == {
        ("cache_refresh", "refresh_requested"),
        ("file_arrival", "csv_arrived"),
        ("file_arrival", "report_requested"),
        ("file_arrival", "weekday_morning"),
        ("file_batches", "csv_batch"),
    }  # the platform's own rule (status changes -> recorder) is no workflow's trigger
    schedule = listed[("file_arrival", "weekday_morning")]
    assert (schedule["kind"], schedule["state"]) == ("schedule", "ENABLED")
    assert schedule["expression"] == "cron(0 6 ? * MON-FRI *) Europe/Paris"
    before = over_http["scheduler"].get_schedule(Name=schedule["name"])

    code, _, err = invoke("schedule", "pause", "file_arrival", *WHERE)
    assert code == 0, err
    assert "paused file_arrival / weekday_morning (schedule" in err and "runs already started are not affected" in err
    states = {key: t["state"] for key, t in _listed().items()}
    assert states == {
        ("cache_refresh", "refresh_requested"): "ENABLED",
        ("file_arrival", "csv_arrived"): "DISABLED",
        ("file_arrival", "report_requested"): "DISABLED",
        ("file_arrival", "weekday_morning"): "DISABLED",
        ("file_batches", "csv_batch"): "ENABLED",  # another workflow's triggers are left alone
    }
    after = over_http["scheduler"].get_schedule(Name=schedule["name"])
    kept = ("Target", "FlexibleTimeWindow", "ScheduleExpression", "ScheduleExpressionTimezone", "Description")
    assert {k: after.get(k) for k in kept} == {k: before.get(k) for k in kept}  # UpdateSchedule kept the rest
    rule = listed[("file_arrival", "csv_arrived")]["name"]
    assert over_http["events"].describe_rule(Name=rule)["State"] == "DISABLED"

    # paused: neither the schedule nor a file arrival starts a run
    assert deployed.fire_schedule(_logical(deployed, schedule["name"]), _monday_six()) is None
    assert not [
        r for r in deployed.put_event(s3_object_created(bucket="my-landing-bucket")) if "filearrival" in r["rule"]
    ]

    code, _, err = invoke("schedule", "pause", "file_arrival", *WHERE, "--trigger", "weekday_morning")
    assert code == 0 and "was already paused (DISABLED): nothing to do" in err

    code, _, err = invoke("schedule", "resume", "file_arrival", *WHERE, "--trigger", "weekday_morning")
    assert code == 0 and "resumed file_arrival / weekday_morning" in err
    states = {key: t["state"] for key, t in _listed().items() if key[0] == "file_arrival"}
    assert states == {
        ("file_arrival", "csv_arrived"): "DISABLED",
        ("file_arrival", "report_requested"): "DISABLED",
        ("file_arrival", "weekday_morning"): "ENABLED",
    }
    fired = deployed.fire_schedule(_logical(deployed, schedule["name"]), _monday_six())
    assert fired["status"] == "started"  # resumed: the schedule starts runs again

    code, _, err = invoke("schedule", "resume", "file_arrival", *WHERE)
    assert code == 0 and "was already resumed" in err and "resumed file_arrival / csv_arrived" in err
    assert {t["state"] for t in _listed().values()} == {"ENABLED"}


def test_unknown_workflows_and_triggers_exit_2_naming_the_known_ones(over_http: dict[str, Any]) -> None:
    code, _, err = invoke("schedule", "pause", "nope", *WHERE)
    assert code == 2 and "workflow 'nope' is not deployed" in err and "cache_refresh, file_arrival" in err
    code, _, err = invoke("schedule", "pause", "daily_etl", *WHERE)
    assert code == 2 and "workflow 'daily_etl' has no schedule or event trigger" in err
    code, _, err = invoke("schedule", "resume", "file_arrival", *WHERE, "--trigger", "hourly")
    assert code == 2 and "its triggers are csv_arrived, report_requested, weekday_morning" in " ".join(err.split())
    code, _, err = invoke("schedule", "list", "--stack", "nope", "--region", REGION)
    assert code == 2 and "no stack named 'nope'" in err and "Traceback" not in err


def _logical(deployed: DeployedStack, name: str) -> str:
    return next(logical for logical, physical in deployed.resources.items() if physical == name)


def _monday_six() -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime(2026, 11, 23, 6, 0, tzinfo=ZoneInfo("Europe/Paris"))
