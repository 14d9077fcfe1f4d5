"""Daily ETL: extract -> transform -> (load, quality_check) -> publish, with retries."""

from orchestration import Param, Resources, Retry, Workflow

etl = Workflow(
    "daily_etl",
    params={
        "day": Param(str, default="2026-11-21", description="Partition to process"),
        "rows": Param(int, default=1_000, description="Rows to generate"),
        "min_rows": Param(int, default=10, description="Quality check: fewest rows accepted"),
    },
    description="Extract, transform, load and check a daily partition",
)


@etl.task(retry=Retry(max_attempts=3, interval_seconds=30, backoff_rate=2.0, jitter=True), timeout_seconds=60)
def extract(ctx):
    """Pull the day's raw records from the source system."""
    ctx.logger.info("extracting", extra={"day": ctx.params.day})
    return [{"id": i, "amount": (i * 37) % 101, "day": ctx.params.day} for i in range(ctx.params.rows)]


@etl.task(resources=Resources(memory_mb=1024, timeout_seconds=120))
def transform(extract):
    """Keep positive amounts and add a tax column."""
    return [{**row, "tax": round(row["amount"] * 0.2, 2)} for row in extract if row["amount"] > 0]


@etl.task(retry=Retry(max_attempts=2, interval_seconds=10))
def load(ctx, transform):
    """Write the rows to the warehouse (here: report what would be written)."""
    return {"table": f"sales_{ctx.params.day.replace('-', '')}", "rows": len(transform)}


@etl.task
def quality_check(ctx, transform):
    """Fail the run when the partition is suspiciously small."""
    if len(transform) < ctx.params.min_rows:
        raise ValueError(f"only {len(transform)} rows, expected at least {ctx.params.min_rows}")
    return {"rows": len(transform), "total": sum(r["amount"] for r in transform)}


@etl.task
def publish(load, quality_check):
    """Announce the new partition."""
    return f"published {load['table']} ({quality_check['rows']} rows, total {quality_check['total']})"
