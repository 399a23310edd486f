"""Counts of simulated records (per agency, life experience, kind): for tests, CLI and demo.

Counts only service facts; no identifier is looked at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from producers.deid.ids import canonical_content
from producers.deid.raw import RawRecord

__all__ = ["SimulationSummary", "SummaryBuilder", "expected_summary"]


def _frozen(counter: Counter[str]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(counter.items())))


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """How many records were produced, in total and by agency, life experience and kind.

    ``records`` counts deliveries (duplicates included); ``distinct_events`` counts event
    ids, i.e. what a deduplicating consumer ends up with.
    """

    records: int = 0
    distinct_events: int = 0
    by_agency: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    by_life_experience: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    by_kind: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: ``"<agency> <life experience>"`` → records.
    by_agency_life_experience: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )


class SummaryBuilder:
    """Accumulates a :class:`SimulationSummary` record by record (flat memory but event ids)."""

    def __init__(self) -> None:
        self._records = 0
        self._events: set[str | bytes] = set()
        self._agency: Counter[str] = Counter()
        self._life: Counter[str] = Counter()
        self._kind: Counter[str] = Counter()
        self._pair: Counter[str] = Counter()

    def add(self, record: RawRecord) -> None:
        """Count one delivered record."""
        self._records += 1
        self._events.add(record.event_id or canonical_content(record))
        self._agency[record.agency] += 1
        self._life[record.life_experience] += 1
        self._kind[record.kind.value] += 1
        self._pair[f"{record.agency} {record.life_experience}"] += 1

    def build(self) -> SimulationSummary:
        """The summary of everything added so far."""
        return SimulationSummary(
            records=self._records,
            distinct_events=len(self._events),
            by_agency=_frozen(self._agency),
            by_life_experience=_frozen(self._life),
            by_kind=_frozen(self._kind),
            by_agency_life_experience=_frozen(self._pair),
        )


def expected_summary(records: Iterable[RawRecord]) -> SimulationSummary:
    """Counts of ``records`` by agency, life experience and kind (pure; no I/O)."""
    builder = SummaryBuilder()
    for record in records:
        builder.add(record)
    return builder.build()
