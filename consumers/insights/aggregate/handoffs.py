"""Stall hand-offs: where between two agencies a stalled journey stopped.

A stalled journey stalls at the hand-off from the agency of its last event to the next
participating agency (catalog order) that it has not reached yet (None when it had reached
them all). The counting tables publish these as ``stalls-at-handoff`` cells (``agency`` =
from, ``to_agency`` = to, stage ``*``), suppressed with the stall totals;
:func:`stall_handoffs` gives the raw counts for audits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from consumers.insights.aggregate.model import ALL, CellKey, InsightMetric
from consumers.insights.aggregate.snapshots import latest_snapshots
from contracts.catalog import LifeExperience
from contracts.joined import JourneySnapshot, PeriodKind, period_of
from contracts.vocabulary import JourneyStatus

__all__ = ["HandOff", "handoff_key", "handoff_of", "stall_handoffs"]


@dataclass(frozen=True)
class HandOff:
    """Stalled journeys at one hand-off: last agency reached -> next agency expected."""

    from_agency: str
    to_agency: str | None
    stalls: int


def handoff_of(journey: JourneySnapshot, life_experience: LifeExperience) -> tuple[str, str | None]:
    """The hand-off a journey stopped at: (agency of its last event, next agency not reached)."""
    return _last_agency(journey), _next_agency(journey, life_experience)


def handoff_key(period: str, source: str, target: str | None) -> CellKey:
    """The key of the ``stalls-at-handoff`` count of ``source`` -> ``target`` in ``period``."""
    return CellKey(period, source, ALL, InsightMetric.STALLS_AT_HANDOFF, target)


def stall_handoffs(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience, kind: PeriodKind
) -> dict[str, list[HandOff]]:
    """Stalled journeys per hand-off and period, most stalls first (raw, unsuppressed counts).

    For audits and tests only: the published ``stalls-at-handoff`` cells come from
    :func:`~consumers.insights.aggregate.compute.compute_insights`, suppressed together with
    the stall totals.
    """
    counts: dict[str, dict[tuple[str, str | None], int]] = {}
    for journey in latest_snapshots(snapshots):
        if journey.life_experience != life_experience.id:
            continue
        if journey.status is not JourneyStatus.STALLED:
            continue
        handoff = handoff_of(journey, life_experience)
        period = counts.setdefault(period_of(journey.first_event_at, kind), {})
        period[handoff] = period.get(handoff, 0) + 1
    return {
        period: [
            HandOff(src, dst, n)
            for (src, dst), n in sorted(
                per.items(), key=lambda item: (-item[1], item[0][0], item[0][1] or "")
            )
        ]
        for period, per in sorted(counts.items())
    }


def _last_agency(journey: JourneySnapshot) -> str:
    # The agency of the journey's last event; ties go to the later agency in the journey.
    return max(enumerate(journey.agencies), key=lambda p: (p[1].last_event_at, p[0]))[1].agency


def _next_agency(journey: JourneySnapshot, life_experience: LifeExperience) -> str | None:
    reached = {step.agency for step in journey.agencies}
    order = list(life_experience.agencies)
    last = _last_agency(journey)
    start = order.index(last) + 1 if last in order else 0
    for agency in order[start:] + order[:start]:
        if agency not in reached:
            return agency
    return None
