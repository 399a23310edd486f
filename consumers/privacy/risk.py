"""Disclosure risk of a record-level stream: k-anonymity of what its snapshots publish.

Pure. A journey's *quasi-identifiers* are the fields a reader could know from outside
(when and where a person was served, how far they got); journeys with equal
quasi-identifiers form a group, and a journey alone in its group (size 1) can be singled
out by anyone who knows its values. :func:`assess` counts, over the latest record of each
journey:

* the distribution of group sizes (journeys in groups of 1, 2, 3-4, 5-10, 11 or more);
* the share of unique journeys and of journeys in groups smaller than k;
* which fields drive uniqueness: the unique share when each field is dropped in turn.

:func:`fine_quasi_identifiers` reads a 1.0.0 snapshot at a time precision (second to
month, what the issue measured); :func:`protected_quasi_identifiers` reads a 2.0.0 record
(every published field but token and version).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = [
    "SIZE_BANDS",
    "RiskReport",
    "TimePrecision",
    "assess",
    "fine_quasi_identifiers",
    "protected_quasi_identifiers",
]

QuasiIdentifiers = Mapping[str, Hashable]

#: Group-size bands of the distribution: (label, smallest size, largest size or None).
SIZE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-4", 3, 4),
    ("5-10", 5, 10),
    ("11+", 11, None),
)


class TimePrecision(StrEnum):
    """How finely a 1.0.0 snapshot's times are read as quasi-identifiers."""

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


_FORMATS = {
    TimePrecision.SECOND: "%Y-%m-%dT%H:%M:%S",
    TimePrecision.MINUTE: "%Y-%m-%dT%H:%M",
    TimePrecision.HOUR: "%Y-%m-%dT%H",
    TimePrecision.DAY: "%Y-%m-%d",
    TimePrecision.MONTH: "%Y-%m",
}


def _at(moment: datetime, precision: TimePrecision) -> str:
    return moment.strftime(_FORMATS[precision])


def fine_quasi_identifiers(
    snapshot: JourneySnapshot, precision: TimePrecision = TimePrecision.SECOND
) -> dict[str, Hashable]:
    """Life experience, agency path, stages, first time per agency, status (1.0.0)."""
    return {
        "life_experience": snapshot.life_experience,
        "path": tuple(step.agency for step in snapshot.agencies),
        "stages": tuple(step.stage.value for step in snapshot.agencies),
        "times": tuple(_at(step.first_event_at, precision) for step in snapshot.agencies),
        "status": snapshot.status.value,
    }


def protected_quasi_identifiers(record: ProtectedSnapshot) -> dict[str, Hashable]:
    """Every field a 2.0.0 record publishes but its token and version."""
    return {
        "life_experience": record.life_experience,
        "precision": record.precision.value,
        "start": record.start,
        "path": tuple(step.agency for step in record.steps),
        "stages": tuple(step.stage.value if step.stage else None for step in record.steps),
        "days": tuple(step.day for step in record.steps),
        "elapsed_days": record.elapsed_days,
        "status": record.status.value,
    }


@dataclass(frozen=True)
class RiskReport:
    """Group-size figures of one set of journeys (see the module docstring)."""

    journeys: int
    k: int
    fields: tuple[str, ...]
    #: Journeys per band of :data:`SIZE_BANDS`.
    bands: dict[str, int]
    unique: int
    below_k: int
    smallest_group: int
    groups: int
    #: Field -> unique share when that field is left out.
    unique_without: dict[str, float] = field(default_factory=dict)

    @property
    def unique_share(self) -> float:
        """Share of journeys alone in their group."""
        return self.unique / self.journeys if self.journeys else 0.0

    @property
    def below_k_share(self) -> float:
        """Share of journeys in a group smaller than k."""
        return self.below_k / self.journeys if self.journeys else 0.0

    def metrics(self) -> dict[str, float]:
        """Gauges a long-running process can serve (Prometheus names, no labels)."""
        return {
            "cx_disclosure_journeys": float(self.journeys),
            "cx_disclosure_unique_share": self.unique_share,
            "cx_disclosure_below_k_share": self.below_k_share,
            "cx_disclosure_smallest_group": float(self.smallest_group),
        }

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures."""
        return {
            "journeys": self.journeys,
            "k": self.k,
            "fields": list(self.fields),
            "groups": self.groups,
            "bands": self.bands,
            "unique": self.unique,
            "unique_share": round(self.unique_share, 4),
            "below_k": self.below_k,
            "below_k_share": round(self.below_k_share, 4),
            "smallest_group": self.smallest_group,
            "unique_without": {f: round(v, 4) for f, v in self.unique_without.items()},
        }


def _sizes(rows: Sequence[QuasiIdentifiers], fields: Sequence[str]) -> list[int]:
    keys = [tuple(row[f] for f in fields) for row in rows]
    counts = Counter(keys)
    return [counts[key] for key in keys]


def assess(rows: Iterable[QuasiIdentifiers], *, k: int = 11) -> RiskReport:
    """Group sizes over ``rows`` (one per journey, all with the same fields)."""
    table = list(rows)
    fields = tuple(table[0]) if table else ()
    sizes = _sizes(table, fields)
    bands = {
        label: sum(1 for s in sizes if s >= low and (high is None or s <= high))
        for label, low, high in SIZE_BANDS
    }
    unique_without = {}
    for dropped in fields:
        kept = [f for f in fields if f != dropped]
        rest = _sizes(table, kept)
        unique_without[dropped] = sum(1 for s in rest if s == 1) / len(table)
    return RiskReport(
        journeys=len(table),
        k=k,
        fields=fields,
        bands=bands,
        unique=sum(1 for s in sizes if s == 1),
        below_k=sum(1 for s in sizes if s < k),
        smallest_group=min(sizes, default=0),
        groups=len({tuple(row[f] for f in fields) for row in table}),
        unique_without=unique_without,
    )
