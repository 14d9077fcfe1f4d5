"""Concurrency limit: a cache refresh requested by events, one run at a time, the others queued.

Each "RefreshRequested" event starts a run; while one runs, later ones wait QUEUED and start in
arrival order as it ends (`on_limit="skip"` would record them SKIPPED instead).
"""

from orchestration import Param, Workflow
from orchestration.triggers import EventTrigger

refresh = Workflow(
    "cache_refresh",
    params={"region": Param(str, default="eu"), "seconds": Param(float, default=0.1)},
    description="Rebuild one region's cache; never two rebuilds at once",
    max_concurrent_runs=1,
    on_limit="queue",
    triggers=[
        EventTrigger(
            name="refresh_requested",
            pattern={"source": ["com.example.cache"], "detail-type": ["RefreshRequested"]},
            params={"region": "$.detail.region"},
        )
    ],
)


@refresh.task
def rebuild(ctx):
    """Rebuild the cache (here: wait a moment and report)."""
    import time

    time.sleep(ctx.params.seconds)
    return {"region": ctx.params.region, "rebuilt": True}
