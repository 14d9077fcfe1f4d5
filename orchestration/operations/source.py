"""What `orch runs`, `orch logs` and the other operating commands need from where runs are kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from orchestration.times import parse_iso

if TYPE_CHECKING:  # the ledger imports boto3: keep the CLI fast to import
    from orchestration.ledger import RunRecord


@dataclass(frozen=True)
class RunFilter:
    """Which runs `orch runs list` shows: newest first, at most `limit`."""

    workflow: str | None = None
    status: str | None = None
    since: datetime | None = None  # runs created at or after this moment
    limit: int = 20

    def matches(self, run: RunRecord) -> bool:
        if self.workflow is not None and run.workflow != self.workflow:
            return False
        if self.status is not None and run.status != self.status:
            return False
        if self.since is not None:
            created = parse_iso(run.created_at)
            if created is None or _utc(created) < _utc(self.since):
                return False
        return True


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def newest_first(runs: Iterable[RunRecord], which: RunFilter) -> list[RunRecord]:
    """The runs `which` selects, newest first (by creation time, then run id), at most `which.limit`."""
    chosen = [run for run in runs if which.matches(run)]
    chosen.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
    return chosen[: which.limit]


@dataclass(frozen=True)
class LogLine:
    """One line a task wrote while it ran (its own logging or print output)."""

    at: str  # ISO 8601, UTC
    task: str
    attempt: int | None
    message: str


class RunSource(Protocol):
    """Runs kept somewhere: the local store or a deployed stack."""

    where: str  # shown to the user: ".orch/ in /path" or "stack NAME (region)"

    def list_runs(self, which: RunFilter) -> list[RunRecord]:
        """Runs `which` selects, newest first."""
        ...

    def get_run(self, run_id: str, workflow: str | None = None) -> RunRecord:
        """The run with its tasks and every attempt; RunNotFound (an OrchestrationError naming the
        run id and where it looked) when there is none, or when two workflows have a run with this
        id and `workflow` does not say which."""
        ...

    def graph(self, run: RunRecord) -> Mapping[str, Sequence[str]] | None:
        """The run's task graph (task -> upstream tasks) as it ran, when known."""
        ...

    def cancel(self, run_id: str, workflow: str | None = None) -> RunRecord:
        """Stop a run that is still going (recorded ABORTED); OrchestrationError when it has ended."""
        ...

    def logs(self, run_id: str, task: str | None = None, workflow: str | None = None) -> Iterator[LogLine]:
        """The run's task log lines in time order, of one task when `task` is given."""
        ...

    def notices(self, run: RunRecord) -> list[dict[str, Any]]:
        """The notifications of the run (every pass): {"kind", "repair", "claimed_at", "results"},
        `results` one {"destination", "ok", "attempts", "error"?} per destination (None: not recorded)."""
        ...
