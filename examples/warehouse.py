"""Pools: the warehouse takes at most 2 loads at once, across every run and workflow that uses it."""

from orchestration import Pool, Retry, Workflow

warehouse = Pool("warehouse", slots=2)

loads = Workflow("warehouse_loads", description="Load the day's tables, then refresh the views")


@loads.task
def tables():
    """The tables to load today."""
    return ["orders", "customers", "payments"]


@loads.task(for_each=tables, pool=warehouse, retry=Retry(max_attempts=2, interval_seconds=5))
def load(item):
    """One load per table; each holds a warehouse slot while it runs (its retries included)."""
    return {"table": item, "rows": 1000 + len(item)}


@loads.task(pool="warehouse", timeout_seconds=300)
def refresh_views(load):
    """Also a warehouse query: it waits for a slot like the loads of other runs."""
    return sum(r["rows"] for r in load)
