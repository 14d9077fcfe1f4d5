"""For-each fan-out: list the day's files, process each one (at most 4 at a time), then summarise."""

from orchestration import Param, Retry, Workflow

fanout = Workflow(
    "file_fanout",
    params={
        "files": Param(int, default=12, description="How many files arrived"),
        "prefix": Param(str, default="raw/"),
    },
)


@fanout.task
def list_files(ctx):
    """The files to process (a real workflow would list an S3 prefix)."""
    return [f"{ctx.params.prefix}part-{i:04d}.csv" for i in range(ctx.params.files)]


@fanout.task(for_each="list_files", max_concurrency=4, retry=Retry(max_attempts=2, interval_seconds=5))
def process(ctx, item):
    """Runs once per file; its output is the list of per-file results, in order."""
    return {"file": item, "rows": 100 + len(item) * (ctx.item_index or 0)}


@fanout.task
def summarise(process):
    return {"files": len(process), "rows": sum(r["rows"] for r in process)}
