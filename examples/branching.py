"""If/else with run-if failure handling.

validate -> is_large? -- true  --> heavy_transform --\\
                      \\- false --> light_transform ---> report (NONE_FAILED)
                                                     \\-> alert (AT_LEAST_ONE_FAILED)
cleanup runs whatever happened (ALL_DONE).
"""

from orchestration import Param, Workflow

branching = Workflow(
    "branching",
    params={"size": Param(int, default=5_000), "fail_heavy": Param(bool, default=False)},
)


@branching.task
def validate(ctx):
    return {"size": ctx.params.size}


@branching.condition
def is_large(validate):
    """Condition task: returns a bool; downstream tasks pick a side with .true / .false."""
    return validate["size"] > 1_000


@branching.task(after=[is_large.true])
def heavy_transform(ctx, validate):
    if ctx.params.fail_heavy:
        raise RuntimeError("cluster unavailable")
    return {"mode": "heavy", "size": validate["size"]}


@branching.task(after=[is_large.false])
def light_transform(validate):
    return {"mode": "light", "size": validate["size"]}


@branching.task(run_if="NONE_FAILED")
def report(heavy_transform, light_transform):
    """Runs when no branch failed; the branch not taken is SKIPPED and hands over None."""
    chosen = heavy_transform or light_transform
    return f"processed {chosen['size']} rows in {chosen['mode']} mode"


@branching.task(after=["heavy_transform", "light_transform"], run_if="AT_LEAST_ONE_FAILED")
def alert():
    return "paged the on-call engineer"


@branching.task(after=["report", "alert"], run_if="ALL_DONE")
def cleanup():
    return "temporary files removed"
