"""When a week is released, and what its next release is (pure).

A week is **due** once the life experience's watermark (the latest event time its joined
journeys show) has passed the end of the week plus the grace (default
:data:`DEFAULT_GRACE`): late events within the grace are in the first release. Then:

* version 1 is released; it is *final* when no journey of the week is still active, else
  *provisional* (active journeys are hidden cells);
* a provisional week is released again (version 2, a correction) only once it is final:
  the figures of journeys still in progress are not re-published every few seconds;
* a final week is released again only when late data changed it.

Every new version is drafted, complemented and audited against every earlier version of
the week (:func:`next_release`); it is recorded before it is published.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from consumers.insights.aggregate.model import CellKey
from consumers.insights.aggregate.snapshots import journeys_by_week
from consumers.insights.audit import AuditReport, ProtectionRule, Release, protect
from consumers.insights.release.cells import release_cells
from consumers.insights.release.draft import MONOTONE, draft_release
from consumers.insights.release.history import PastRelease
from consumers.insights.release.table import WeekTable, week_table
from contracts.catalog import LifeExperience
from contracts.insights import InsightRelease, Privacy, release_id
from contracts.joined import JourneySnapshot

__all__ = [
    "DEFAULT_GRACE",
    "Planned",
    "audit_history",
    "first_releases",
    "is_due",
    "next_release",
    "week_end",
]

#: How long after a week ends its first release waits for late events.
DEFAULT_GRACE: Final = timedelta(days=2)


def week_end(week: str) -> datetime:
    """The first instant after ISO ``week``: Monday 00:00 UTC of the next week."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return datetime.combine(monday + timedelta(days=7), time(0), tzinfo=UTC)


def is_due(week: str, watermark: datetime | None, grace: timedelta = DEFAULT_GRACE) -> bool:
    """Whether ``week`` has closed, grace included, by the event time ``watermark``."""
    return watermark is not None and watermark >= week_end(week) + grace


@dataclass(frozen=True)
class Planned:
    """A week's next release: the record to write, the table and its audit."""

    record: PastRelease
    table: WeekTable
    report: AuditReport
    seconds: float


def audit_history(past: Sequence[PastRelease], life_experience: LifeExperience) -> list[Release]:
    """Earlier releases of a week as the audit takes them, with their monotone links
    (:data:`~consumers.insights.release.draft.MONOTONE`)."""
    out: list[Release] = []
    for index, record in enumerate(past):
        release = record.release(life_experience)
        before = past[index - 1].truth if index else None
        monotone = frozenset(
            key
            for key in release.cells
            if before is not None
            and isinstance(key, CellKey)
            and key.metric in MONOTONE
            and record.truth.get(key, 0.0) >= before.get(key, 0.0)
        )
        out.append(
            Release(
                release.release_id,
                release.unit,
                release.version,
                release.cells,
                release.relations,
                release.kinds,
                monotone,
                release.means,
            )
        )
    return out


def next_release(
    week: str,
    journeys: Sequence[JourneySnapshot],
    life_experience: LifeExperience,
    past: Sequence[PastRelease],
    *,
    now: datetime,
    rule: ProtectionRule | None = None,
) -> Planned | None:
    """The week's next release, or None when nothing is to be released (module docstring).

    The caller has checked that the week is due.
    """
    rule = rule or ProtectionRule()
    table = week_table(week, journeys, life_experience)
    last = past[-1] if past else None
    if last is not None:
        if last.truth == table.values:
            return None
        if not last.manifest.final and not table.final:
            return None  # provisional: wait until the week is final
    version = 1 if last is None else last.manifest.version + 1
    rid = release_id(week, version)
    history = audit_history(past, life_experience)
    previous = None if last is None else (history[-1], last.truth)
    draft = draft_release(table, rid, unit=week, version=version, previous=previous, rule=rule)
    truth = {p.manifest.release: p.truth for p in past}
    truth[rid] = table.values
    protection = protect(draft.release, truth, history=history, rule=rule)
    cells = release_cells(life_experience.id, table, protection.release, draft.reasons)
    cells = [cell.model_copy(update={"release": rid}) for cell in cells]
    manifest = InsightRelease(
        life_experience=life_experience.id,
        period=week,
        release=rid,
        version=version,
        cells=len(cells),
        final=table.final,
        privacy=Privacy.SUPPRESSION,
        supersedes=None if last is None else last.manifest.release,
        published_at=now,
    )
    record = PastRelease(manifest, dict(protection.release.cells), dict(table.values), cells)
    return Planned(record, table, protection.report, protection.seconds)


def first_releases(
    snapshots: Iterable[JourneySnapshot],
    life_experience: LifeExperience,
    *,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
) -> list[PastRelease]:
    """What a first run of the service releases from ``snapshots`` (every version seen):
    version 1 of every due week, in week order. A reference for tests and the demo."""
    weeks = journeys_by_week(snapshots, life_experience)
    watermark = max((j.last_event_at for js in weeks.values() for j in js), default=None)
    out: list[PastRelease] = []
    for week, journeys in weeks.items():
        if is_due(week, watermark, grace):
            planned = next_release(week, journeys, life_experience, [], now=now)
            if planned is not None:
                out.append(planned.record)
    return out
