"""What the data teams' questions get from each journey stream (pure).

The demo's questions, answered from the fine journeys (restricted tier, every journey no
longer active) and from the k-protected ones (default tier, as released): completion rate,
median days to complete, hand-offs (journeys going from one agency to the next, where the
stream shows the agency path), and stalls per hand-off (the agency a stalled journey
reached last -> the next participating agency it had not reached). The difference is what
the default tier loses to the protection.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from contracts.joined import JourneySnapshot
from contracts.protected import OTHER_AGENCIES, ProtectedSnapshot
from contracts.vocabulary import JourneyStatus

__all__ = ["Utility", "handoff", "utility_of_fine", "utility_of_protected"]


@dataclass(frozen=True)
class Utility:
    """The answers one stream gives."""

    journeys: int
    completed: int
    completion_rate: float | None
    median_days_to_complete: float | None
    #: Completed journeys whose days are shown (the median is over these).
    completed_with_days: int
    #: "<le>: <from> -> <to>" -> stalled journeys.
    stalls: dict[str, int] = field(default_factory=dict)
    #: Stalled journeys whose hand-off the stream does not show.
    stalls_not_shown: int = 0
    #: "<from> -> <to>" -> journeys that went from one agency to the next.
    handoffs: dict[str, int] = field(default_factory=dict)
    #: Journeys whose whole agency path is shown.
    paths_shown: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "journeys": self.journeys,
            "completed": self.completed,
            "completion_rate": None
            if self.completion_rate is None
            else round(self.completion_rate, 4),
            "median_days_to_complete": self.median_days_to_complete,
            "completed_with_days": self.completed_with_days,
            "stalls": dict(sorted(self.stalls.items(), key=lambda kv: (-kv[1], kv[0]))[:10]),
            "stalls_not_shown": self.stalls_not_shown,
            "handoffs": dict(sorted(self.handoffs.items(), key=lambda kv: (-kv[1], kv[0]))[:10]),
            "paths_shown": self.paths_shown,
        }


def _handoffs(paths: Iterable[Sequence[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        for a, b in pairwise(path):
            counts[f"{a} -> {b}"] += 1
    return counts


def handoff(agencies: Sequence[str], order: Sequence[str]) -> tuple[str, str]:
    """(last agency reached, next participating agency not reached, or ``(end)``)."""
    last = agencies[-1]
    reached = set(agencies)
    after = order[order.index(last) + 1 :] if last in order else ()
    rest = [a for a in after if a not in reached]
    return last, rest[0] if rest else "(end)"


def _rate(completed: int, journeys: int) -> float | None:
    return completed / journeys if journeys else None


def utility_of_fine(
    snapshots: Iterable[JourneySnapshot], order: Mapping[str, Sequence[str]]
) -> Utility:
    """The answers of the fine stream (latest snapshot per journey; active ones left out).

    ``order`` maps a life experience to its participating agencies in catalog order.
    """
    done = [s for s in snapshots if s.status is not JourneyStatus.ACTIVE]
    completed = [s for s in done if s.status is JourneyStatus.COMPLETED]
    stalls: Counter[str] = Counter()
    for s in done:
        if s.status is JourneyStatus.STALLED:
            a, b = handoff([step.agency for step in s.agencies], order[s.life_experience])
            stalls[f"{s.life_experience}: {a} -> {b}"] += 1
    days = [s.elapsed_seconds / 86_400 for s in completed]
    paths = [[step.agency for step in s.agencies] for s in done]
    return Utility(
        journeys=len(done),
        completed=len(completed),
        completion_rate=_rate(len(completed), len(done)),
        median_days_to_complete=round(statistics.median(days), 1) if days else None,
        completed_with_days=len(days),
        stalls=dict(stalls),
        handoffs=dict(_handoffs(paths)),
        paths_shown=len(paths),
    )


def utility_of_protected(
    records: Iterable[ProtectedSnapshot], order: Mapping[str, Sequence[str]]
) -> Utility:
    """The answers of the k-protected stream, as released (days are the published,
    rounded-down values; a hand-off is shown when the last agency is)."""
    released = list(records)
    completed = [r for r in released if r.status is JourneyStatus.COMPLETED]
    days = [r.elapsed_days for r in completed if r.elapsed_days is not None]
    stalls: Counter[str] = Counter()
    hidden = 0
    for r in released:
        if r.status is not JourneyStatus.STALLED:
            continue
        agencies = [str(step.agency) for step in r.steps]
        if not agencies or agencies[-1] == OTHER_AGENCIES:
            hidden += 1
            continue
        a, b = handoff(agencies, order[r.life_experience])
        stalls[f"{r.life_experience}: {a} -> {b}"] += 1
    paths = [
        [str(step.agency) for step in r.steps]
        for r in released
        if r.steps and r.precision.value in ("day", "week", "path", "agencies")
    ]
    return Utility(
        journeys=len(released),
        completed=len(completed),
        completion_rate=_rate(len(completed), len(released)),
        median_days_to_complete=float(statistics.median(days)) if days else None,
        completed_with_days=len(days),
        stalls=dict(stalls),
        stalls_not_shown=hidden,
        handoffs=dict(_handoffs(paths)),
        paths_shown=len(paths),
    )
