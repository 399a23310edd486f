"""Which snapshots count: the latest of each journey, grouped by the week it started in.

The joined topics are compacted, but a reader may still see several versions of a journey
(before compaction, or replayed); every figure is computed from the latest one only.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.catalog import LifeExperience
from contracts.joined import JourneySnapshot, PeriodKind, period_of

__all__ = ["journeys_by_week", "latest_snapshots"]


def latest_snapshots(snapshots: Iterable[JourneySnapshot]) -> list[JourneySnapshot]:
    """The latest snapshot of every journey, as a compacted topic keeps it.

    The highest ``snapshot_version`` wins (a replayed older version never undoes a newer
    one); between equal versions the later one. Sorted by (life experience, token).
    """
    latest: dict[tuple[str, str], JourneySnapshot] = {}
    for snapshot in snapshots:
        key = (snapshot.life_experience, snapshot.journey_token)
        current = latest.get(key)
        if current is None or snapshot.snapshot_version >= current.snapshot_version:
            latest[key] = snapshot
    return [latest[key] for key in sorted(latest)]


def journeys_by_week(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> dict[str, list[JourneySnapshot]]:
    """The latest snapshot of each journey of ``life_experience``, grouped by the ISO week the
    journey started in (weeks sorted). Each week is an independent unit of suppression."""
    by_week: dict[str, list[JourneySnapshot]] = {}
    for journey in latest_snapshots(snapshots):
        if journey.life_experience == life_experience.id:
            by_week.setdefault(_week_of(journey), []).append(journey)
    return {week: by_week[week] for week in sorted(by_week)}


def _week_of(snapshot: JourneySnapshot) -> str:
    return period_of(snapshot.first_event_at, PeriodKind.WEEK)
