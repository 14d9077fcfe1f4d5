"""Batched file arrival: one run per batch of CSV files landing in S3, not one per file.

A batch closes when no new file arrived for 5 minutes, when it holds 100 files, or an hour after its
first file; then one run starts with the batch's object keys (sorted) in `keys`. Deployed, the trigger
function keeps the open batch in the run ledger and wakes itself with a one-time timer; locally,
`orch dev examples/file_batches.py --files DIR` batches the files dropped in DIR the same way.
"""

from orchestration import Param, Workflow
from orchestration.triggers import Batch, on_s3_object_created

file_batches = Workflow(
    "file_batches",
    params={
        "bucket": Param(str, default="my-landing-bucket", description="Bucket holding the files"),
        "keys": Param(list[str], description="Object keys of the batch's files"),
    },
    description="Load a batch of files at once",
    max_concurrent_runs=1,
    triggers=[
        on_s3_object_created(
            "my-landing-bucket",
            prefix="batches/",
            suffix=".csv",
            name="csv_batch",
            batch=Batch(quiet_seconds=300, max_files=100, max_wait_seconds=3_600, files_param="keys"),
            constants={"bucket": "my-landing-bucket"},
        )
    ],
)


@file_batches.task
def plan(ctx):
    """List what the batch holds (here: the URIs that would be read)."""
    return [f"s3://{ctx.params.bucket}/{key}" for key in ctx.params.keys]


@file_batches.task
def load(ctx, plan):
    """Load the batch in one go (here: report how many files)."""
    return {"files": len(plan), "first": plan[0] if plan else None}
