"""How a run's final status follows from its tasks' statuses (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FAILED_LIKE = frozenset({"FAILED", "UPSTREAM_FAILED"})


def run_outcome(statuses: Mapping[str, str], leaves: Iterable[str]) -> str:
    """The rule (Databricks Lakeflow's, made exact):

    - FAILED when any leaf task (one nothing depends on) is FAILED or UPSTREAM_FAILED;
    - else SUCCEEDED_WITH_FAILURES when some task FAILED (its failure was absorbed by a run-if
      path, e.g. an ALL_DONE or AT_LEAST_ONE_FAILED task downstream of it);
    - else SUCCEEDED. A leaf SKIPPED by a condition or an unmet failure-handler run-if is fine.
    """
    if any(statuses.get(leaf) in FAILED_LIKE for leaf in leaves):
        return "FAILED"
    if any(status == "FAILED" for status in statuses.values()):
        return "SUCCEEDED_WITH_FAILURES"
    return "SUCCEEDED"
