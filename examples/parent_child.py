"""A workflow that runs another one: `nightly` extracts a day of rows, runs `publish` on them as a
child run (a new one per attempt), then reports, whatever the child did.

    orch run examples/parent_child.py --param day=2026-01-02

Each child run is in the run ledger as a run of `publish`, naming its parent run and task; the
`publish_day` task's output names the child run (`day=2026-01-00` makes the child fail).
"""

from typing import Any

from orchestration import Param, Retry, TaskFailure, Workflow

publish = Workflow(
    "publish",
    params={"day": str, "rows": int, "dry_run": Param(bool, default=False)},
    description="Check a day's rows and upload them",
)


@publish.task
def check(ctx: Any) -> int:
    """Refuse a day without rows."""
    if ctx.params.rows <= 0:
        raise TaskFailure(f"no rows for {ctx.params.day}", error_type="EmptyDay")
    return int(ctx.params.rows)


@publish.task(retry=Retry(max_attempts=2, interval_seconds=5))
def upload(ctx: Any, check: int) -> dict[str, Any]:
    """Upload the checked rows (nothing in a dry run)."""
    return {"day": ctx.params.day, "uploaded": 0 if ctx.params.dry_run else check}


nightly = Workflow("nightly", params={"day": str}, description="Extract a day, publish it, report")


@nightly.task
def extract(ctx: Any) -> int:
    """Count the day's rows."""
    return 10 * int(ctx.params.day[-2:])


nightly.run_workflow(
    "publish_day",
    workflow=publish,
    params={"day": nightly.param("day"), "rows": extract, "dry_run": False},
    retry=Retry(max_attempts=1, interval_seconds=60),
    timeout_seconds=3600,
    description="Publish the day through the publish workflow",
)


@nightly.task(run_if="ALL_DONE")
def report(ctx: Any, publish_day: dict[str, Any] | None = None) -> str:
    """Say how the child run went (its output is None when it failed)."""
    if publish_day is None:
        return f"{ctx.params.day}: publishing failed"
    return f"{ctx.params.day}: run {publish_day['run_id']} {publish_day['status']}"
