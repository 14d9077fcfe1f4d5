"""Joins on shapes nested Parallel states cannot express (N shapes, lattices), run on the local
cloud with real task code: statuses equal the reference evaluation, with and without failures,
including a join wait that carries the signal of the task just before it."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration import RunIf, Workflow, compile_workflow
from orchestration.ledger import RunLedger
from orchestration.local import LocalCloud
from tests.helpers import all_states
from tests.reference import expected_statuses


def lattice(name: str, n: int, width: int, failing: set[str], run_ifs: dict[str, RunIf]) -> Workflow:
    """Tasks in rows of `width`, each after the task above it and the one to its left."""
    wf = Workflow(name)
    for i in range(n):
        row, col = divmod(i, width)
        after = ([f"t{i - width}"] if row else []) + ([f"t{i - 1}"] if col else [])

        def body(_name: str = f"t{i}") -> str:
            if _name in failing:
                raise RuntimeError(f"{_name} fails on purpose")
            return _name

        wf.task(name=f"t{i}", after=after, run_if=run_ifs.get(f"t{i}", RunIf.ALL_SUCCESS))(body)
    return wf


def test_a_join_wait_carries_the_signal_of_the_task_before_it() -> None:
    states = all_states(compile_workflow(lattice("lattice_shape", 12, 3, set(), {})))
    wait = states["t7.join"]
    assert wait["Parameters"]["Payload"]["signal"]["task"] == "t4"  # t4 signals t5's join, then t7 waits
    assert wait["Parameters"]["Payload"]["signal"]["joins"] == ["t5"]
    assert states["t4"]["Next"] == "t7.join" and states["t4.failed"]["Next"] == "t7.join"
    assert wait["Retry"] == states["t4.signal"]["Retry"]  # retried as the signal was
    # should the wait still fail, the signal alone runs, then t7 is FAILED
    assert wait["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.res.t7", "Next": "t4.signal"}]
    assert states["t4.signal"]["Next"] == "t7.failed"


CASES = {
    "all succeed": (set(), {}),
    "the folded signal carries a failure": ({"t4"}, {}),
    "run-if rules downstream of a failure": (
        {"t1"},
        {"t5": RunIf.ALL_DONE, "t7": RunIf.AT_LEAST_ONE_SUCCESS, "t8": RunIf.AT_LEAST_ONE_FAILED},
    ),
    "a failure handler is skipped": (set(), {"t8": RunIf.ALL_FAILED, "t5": RunIf.NONE_FAILED}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_lattice_runs_equal_the_reference(cloud: LocalCloud, case: str) -> None:
    failing, run_ifs = CASES[case]
    wf = lattice(f"lattice_{list(CASES).index(case)}", 12, 3, failing, run_ifs)
    record = cloud.run(wf)
    assert {n: t.status for n, t in record.tasks.items()} == expected_statuses(wf, failing)
    for name, task in record.tasks.items():
        assert task.output == (name if task.status == "SUCCEEDED" else None)


def test_a_failing_folded_wait_still_signals_and_fails_its_task(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join function fails t7's wait every time: after its retries, t4's signal runs alone (t5
    still gets it) and t7 is FAILED; nothing is left waiting."""
    original = RunLedger.join_wait

    def broken(self: RunLedger, workflow: str, run_id: str, task: str, *args: Any, **kwargs: Any) -> Any:
        if task == "t7":
            raise RuntimeError("join item unavailable")
        return original(self, workflow, run_id, task, *args, **kwargs)

    monkeypatch.setattr(RunLedger, "join_wait", broken)
    wf = lattice("lattice_broken_wait", 12, 3, set(), {"t8": RunIf.ALL_DONE, "t10": RunIf.ALL_DONE})
    record = cloud.run(wf)
    statuses = {n: t.status for n, t in record.tasks.items()}
    assert statuses == {**{f"t{i}": "SUCCEEDED" for i in range(12)}, "t7": "FAILED"}
    assert record.tasks["t7"].attempts == 0  # its code never ran
