"""Triggers: a run per CSV file landing in S3, per custom "ReportRequested" event, and every weekday.

Deployed (`cdk deploy`), EventBridge starts the runs through the trigger function; locally,
`orch trigger examples/file_arrival.py --event EVENT.json` does the same on moto, and
`orch schedule examples/file_arrival.py` previews the schedule.
"""

from orchestration import Param, Retry, Workflow
from orchestration.triggers import EventTrigger, Schedule, on_s3_object_created

file_arrival = Workflow(
    "file_arrival",
    params={
        "bucket": Param(str, default="my-landing-bucket", description="Bucket holding the file"),
        "key": Param(str, description="Object key of the file to ingest"),
        "priority": Param(int, default=5),
    },
    description="Ingest one file: inspect it, then load it",
    schedule=Schedule(
        cron="0 6 ? * MON-FRI *",
        timezone="Europe/Paris",
        flexible_window_minutes=15,
        params={"key": "daily/summary.csv"},
        name="weekday_morning",
    ),
    triggers=[
        on_s3_object_created(
            "my-landing-bucket",
            prefix="incoming/",
            suffix=".csv",
            name="csv_arrived",
            params={"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
        ),
        EventTrigger(
            name="report_requested",
            pattern={
                "source": ["com.example.reports"],
                "detail-type": ["ReportRequested"],
                "detail": {
                    "key": [{"exists": True}],
                    "priority": [{"numeric": [">=", 3]}],
                    "requested_by": [{"anything-but": ["load-test"]}],
                },
            },
            params={"key": "$.detail.key", "priority": "$.detail.priority"},
        ),
    ],
)


@file_arrival.task(retry=Retry(max_attempts=2, interval_seconds=5))
def inspect(ctx):
    """Look at the file (here: describe what would be read)."""
    return {"uri": f"s3://{ctx.params.bucket}/{ctx.params.key}", "priority": ctx.params.priority}


@file_arrival.task
def load(ctx, inspect):
    """Load the file (here: report where it went)."""
    return {"loaded": inspect["uri"], "logical_date": ctx.logical_date.isoformat() if ctx.logical_date else None}
