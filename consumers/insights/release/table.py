"""What one release of one ISO week publishes, and every public relation among its cells.

The population of a week is the journeys that *started* in it (``first_event_at``, UTC); a
journey belongs to one week, so weeks are audited apart. The shape of a week's table is the
same in every release (all seven days, every catalog agency, every stage, every hand-off):
two versions of a week differ only in values, so every cell's change can be audited.

Published (each a count unless said otherwise; ``*`` = all):

* ``journeys-started`` at (agency, stage), (agency, ``*``), (``*``, stage), (``*``, ``*``);
* the statuses ``journeys-completed``, ``-stalled``, ``-expired`` at (agency, ``*``) and
  (``*``, ``*``) only: per stage they would be small cells almost everywhere;
* per day of the week, every status at (``*``, ``*``);
* ``stalls-at-handoff`` per (from agency, to agency or none);
* the A-11 driver means at (agency, ``*``) and (``*``, ``*``), each with its answer count
  in ``count`` (:mod:`consumers.insights.release.draft` decides what is shown).

Hidden cells (never published, part of the arithmetic): ``journeys-active`` everywhere,
the sums of answers behind the means, and the **derived groups**. A journey touches one or
more agencies, so ``(*, *)`` (distinct journeys) is not the sum of the agency rows: what an
outsider can say is ``(a, *) <= (*, *) <= sum of (a, *)`` (every row total and total
satisfying these is realised by some agency sets, so the inequalities are the exact
arithmetic of the published rows), and that "the journeys that did *not* touch agency a",
``(*, *) - (a, *)``, are a group of their own; with two agencies, so are the journeys that
touched both (``(a, *) + (b, *) - (*, *)``). These groups are hidden cells (counts,
answers, sums and their means), protected like any cell.

Relations (everything an outsider can use): row and column totals of the started stage
table; ``started = completed + stalled + expired + active`` at every position, day and
group; days add up to the week; groups add up to the agency rows and the total; every
stalled journey stalls at one hand-off (``(*, *, stalled) = sum of hand-offs``) and the
stalls handed off from ``a`` are at most ``(a, *, stalled)``; answers are at most the
journeys; in a **final** release (no journey of the week is still active; the release
says so) every active count is 0; and every count is at least what the default tier's
k-protected stream can show of the week (``_protected_floors``: a reader of both tiers
counts released records per agency, stage and status).

Agencies outside the life experience's catalog participants are left out of the tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Final, NamedTuple

from consumers.insights.aggregate.handoffs import handoff_of
from consumers.insights.aggregate.model import ALL, CellKey, InsightMetric
from consumers.insights.audit import MeanSpec, Relation, Sense, VarKind
from contracts.catalog import LifeExperience
from contracts.events import A11_DRIVERS
from contracts.joined import JourneySnapshot, PeriodKind, period_of
from contracts.protected import Precision, group_key, protect
from contracts.vocabulary import STAGE_ORDER, JourneyStatus

__all__ = [
    "DRIVER_METRICS",
    "LAYERS",
    "STATUSES",
    "GroupKey",
    "PartKey",
    "WeekTable",
    "days_of",
    "week_shape",
    "week_table",
]

Started, Completed, Stalled, Expired, Active = (
    InsightMetric.JOURNEYS_STARTED,
    InsightMetric.JOURNEYS_COMPLETED,
    InsightMetric.JOURNEYS_STALLED,
    InsightMetric.JOURNEYS_EXPIRED,
    InsightMetric.JOURNEYS_ACTIVE,
)
#: Status layers and the journey status each counts.
STATUSES: Final = {
    Completed: JourneyStatus.COMPLETED,
    Stalled: JourneyStatus.STALLED,
    Expired: JourneyStatus.EXPIRED,
    Active: JourneyStatus.ACTIVE,
}
LAYERS: Final = (Started, *STATUSES)
#: The driver attribute of ``DriverAverages`` -> its metric.
DRIVER_METRICS: Final = {d: InsightMetric(d.replace("_", "-")) for d in A11_DRIVERS}


class PartKey(NamedTuple):
    """A hidden part of a mean cell: its answer count (``"answers"``) or sum (``"sum"``)."""

    part: str
    cell: CellKey


class GroupKey(NamedTuple):
    """A hidden derived group of ``week``: the journeys that did not touch ``agency``
    (``kind`` ``"without"``) or, with two agencies, touched both (``"both"``, ``agency``
    ``*``); ``metric`` a layer or a driver, ``part`` ``"count"``, ``"answers"``, ``"sum"``
    or ``"mean"``."""

    week: str
    kind: str
    agency: str
    metric: str
    part: str = "count"


@dataclass
class WeekTable:
    """True values of every cell of one week and the public relations among them."""

    week: str
    final: bool
    values: dict[object, float] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    hidden: set[object] = field(default_factory=set)
    kinds: dict[object, VarKind] = field(default_factory=dict)
    means: dict[object, MeanSpec] = field(default_factory=dict)
    #: Completed journeys' days to complete per position (agency or ``*``), for percentiles.
    days_to_complete: dict[str, list[float]] = field(default_factory=dict)


def days_of(week: str) -> list[str]:
    """The seven days of ISO ``week``, Monday first."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return [(monday + timedelta(days=i)).isoformat() for i in range(7)]


def week_table(
    week: str, journeys: Sequence[JourneySnapshot], life_experience: LifeExperience
) -> WeekTable:
    """The table of ``week`` from its journeys' latest snapshots (module docstring)."""
    builder = _Builder(week, list(life_experience.agencies))
    for journey in journeys:
        builder.add(journey, life_experience)
    table = builder.finish()
    _protected_floors(table, journeys, life_experience)
    return table


#: Precisions of a k-protected record (``journey-snapshot`` 2.0.0) that name the start week.
WEEK_PRECISIONS: Final = (Precision.DAY, Precision.WEEK, Precision.PATH)


def _protected_floors(
    table: WeekTable, journeys: Sequence[JourneySnapshot], life_experience: LifeExperience
) -> None:
    """What the default tier's k-protected stream can tell about the week, as relations.

    A reader of both the insights and ``cx.protected.<le>`` counts the records of the week
    per agency, stage and status: at least that many journeys are in each cell. A closed
    journey of the week may be released at a week precision when its group there has k
    journeys or more (the joiner counts per partition, so it releases no more than that):
    every such journey is counted, so each cell gets ``cell >= floor`` (an upper bound on
    what the reader learns). Without it, 11 completed and 11 stalled journeys released on
    the protected stream pinned a suppressed single expired journey next to them.
    Coarser precisions (month, quarter) are not modelled here: they span weeks.
    """
    k = life_experience.min_group_size
    closed = [j for j in journeys if j.status is not JourneyStatus.ACTIVE]
    keys = [[group_key(protect(j, p, k=k)) for p in WEEK_PRECISIONS] for j in closed]
    sizes = Counter(g for mine in keys for g in mine)
    shown = [j for j, mine in zip(closed, keys, strict=True) if any(sizes[g] >= k for g in mine)]
    if not shown:
        return
    floors = _Builder(table.week, list(life_experience.agencies))
    for journey in shown:
        floors.add(journey, life_experience)
    for key, value in floors.values.items():
        if value > 0 and _floored(key, table.week):
            table.relations.append(Relation(((key, -1.0),), Sense.LE, -value))


def _floored(key: object, week: str) -> bool:
    """Whether a protected record tells about ``key``: the week's counts (not per day, not
    the A-11 answers, which it does not carry)."""
    if isinstance(key, GroupKey):
        return key.part == "count"
    counts = (*LAYERS, InsightMetric.STALLS_AT_HANDOFF)
    return isinstance(key, CellKey) and key.period == week and key.metric in counts


def week_shape(week: str, life_experience: LifeExperience, *, final: bool) -> WeekTable:
    """The relations, kinds and means of ``week``'s table (values all 0): what an earlier
    release of the week is rebuilt on for the audit (a week's shape never changes)."""
    builder = _Builder(week, list(life_experience.agencies))
    builder.table.final = final
    return builder.finish()


class _Builder:
    def __init__(self, week: str, agencies: list[str]):
        self.week = week
        self.agencies = agencies
        self.days = days_of(week)
        self.stages = [s.value for s in STAGE_ORDER]
        self.groups: list[tuple[str, str]] = [("without", a) for a in agencies]
        if len(agencies) == 2:
            self.groups.append(("both", ALL))
        self.pairs: list[tuple[str, str | None]] = [
            (a, b) for a in agencies for b in [*(x for x in agencies if x != a), None]
        ]
        self.table = WeekTable(week, final=True)
        self.values = self.table.values
        for key in self._count_keys():
            self.values[key] = 0.0
        self.days_to_complete: dict[str, list[float]] = {a: [] for a in [*agencies, ALL]}

    def _count_keys(self) -> Iterable[object]:
        w = self.week
        for a in self.agencies:
            yield from (CellKey(w, a, s, Started) for s in self.stages)
            yield from (CellKey(w, a, ALL, layer) for layer in LAYERS)
        yield from (CellKey(w, ALL, s, Started) for s in self.stages)
        yield from (CellKey(p, ALL, ALL, layer) for p in [*self.days, w] for layer in LAYERS)
        yield from (self.handoff(a, b) for a, b in self.pairs)
        for metric in DRIVER_METRICS.values():
            for place in [*self.agencies, ALL]:
                cell = CellKey(w, place, ALL, metric)
                yield PartKey("answers", cell)
                yield PartKey("sum", cell)
        for kind, agency in self.groups:
            yield from (GroupKey(w, kind, agency, str(layer)) for layer in LAYERS)
            for metric in DRIVER_METRICS.values():
                yield GroupKey(w, kind, agency, str(metric), "answers")
                yield GroupKey(w, kind, agency, str(metric), "sum")

    def handoff(self, source: str, target: str | None) -> CellKey:
        return CellKey(self.week, source, ALL, InsightMetric.STALLS_AT_HANDOFF, target)

    def add(self, journey: JourneySnapshot, life_experience: LifeExperience) -> None:
        steps = [step for step in journey.agencies if step.agency in self.agencies]
        if not steps:
            return
        w, status = self.week, journey.status
        if status is JourneyStatus.ACTIVE:
            self.table.final = False
        layers = [Started, next(m for m, s in STATUSES.items() if s is status)]
        day = period_of(journey.first_event_at, PeriodKind.DAY)
        touched = [a for a in self.agencies if any(s.agency == a for s in steps)]
        groups = [(kind, a) for kind, a in self.groups if _member(kind, a, touched)]
        for layer in layers:
            for key in (CellKey(w, ALL, ALL, layer), CellKey(day, ALL, ALL, layer)):
                self.values[key] += 1
            for agency in touched:
                self.values[CellKey(w, agency, ALL, layer)] += 1
            for kind, agency in groups:
                self.values[GroupKey(w, kind, agency, str(layer))] += 1
        for step in steps:
            self.values[CellKey(w, step.agency, step.stage.value, Started)] += 1
            self.values[CellKey(w, ALL, step.stage.value, Started)] += 1
        if status is JourneyStatus.STALLED:
            key = self.handoff(*handoff_of(journey, life_experience))
            if key in self.values:
                self.values[key] += 1
        if status is JourneyStatus.COMPLETED:
            for place in [*touched, ALL]:
                self.days_to_complete[place].append(journey.elapsed_seconds / 86_400.0)
        for driver, metric in DRIVER_METRICS.items():
            answer = getattr(journey.drivers, driver)
            if answer is None:
                continue
            parts: list[tuple[object, object]] = [
                (PartKey("answers", c), PartKey("sum", c))
                for c in (CellKey(w, place, ALL, metric) for place in [*touched, ALL])
            ]
            parts += [
                (
                    GroupKey(w, kind, agency, str(metric), "answers"),
                    GroupKey(w, kind, agency, str(metric), "sum"),
                )
                for kind, agency in groups
            ]
            for answers, total in parts:
                self.values[answers] += 1
                self.values[total] += float(answer)

    def finish(self) -> WeekTable:
        table = self.table
        table.days_to_complete = {k: sorted(v) for k, v in self.days_to_complete.items()}
        self._relations()
        self._means()
        for key in self.values:
            part = getattr(key, "part", None)
            if isinstance(key, GroupKey) or part == "sum":
                table.hidden.add(key)
            if isinstance(key, CellKey) and key.metric is Active:
                table.hidden.add(key)
            if part == "sum":
                table.kinds[key] = VarKind.SUM
        return table

    def _relations(self) -> None:
        w, rel = self.week, self.table.relations
        for a in self.agencies:
            stages = (CellKey(w, a, s, Started) for s in self.stages)
            rel.append(Relation.total(CellKey(w, a, ALL, Started), stages))
        for s in self.stages:
            agencies = (CellKey(w, a, s, Started) for a in self.agencies)
            rel.append(Relation.total(CellKey(w, ALL, s, Started), agencies))
        positions = [CellKey(w, a, ALL, Started) for a in [*self.agencies, ALL]]
        positions += [CellKey(d, ALL, ALL, Started) for d in self.days]
        for key in positions:
            rel.append(Relation.total(key, (key._replace(metric=m) for m in STATUSES)))
        for layer in LAYERS:
            days = (CellKey(d, ALL, ALL, layer) for d in self.days)
            rel.append(Relation.total(CellKey(w, ALL, ALL, layer), days))
            self._distinct(str(layer), "count", partial(_position, w, layer, None))
        stalled = [self.handoff(a, b) for a, b in self.pairs]
        rel.append(Relation.total(CellKey(w, ALL, ALL, Stalled), stalled))
        for a in self.agencies:
            mine = [self.handoff(a, b) for x, b in self.pairs if x == a]
            rel.append(Relation.at_most(mine, [CellKey(w, a, ALL, Stalled)]))
        for metric in DRIVER_METRICS.values():
            for part in ("answers", "sum"):
                self._distinct(str(metric), part, partial(_position, w, metric, part))
        if self.table.final:
            for cell in self.values:
                if getattr(cell, "metric", None) == Active.value:
                    rel.append(Relation.fixed(cell, 0.0))

    def _distinct(self, metric: str, part: str, position: Callable[[str], object]) -> None:
        """``(a, *) <= (*, *) <= sum of (a, *)`` and the derived groups, for one metric."""
        w, rel = self.week, self.table.relations
        everyone = position(ALL)
        rows = [position(a) for a in self.agencies]
        rel.append(Relation.at_most([everyone], rows))
        for kind, agency in self.groups:
            group = GroupKey(w, kind, agency, metric, part)
            if kind == "without":
                rel.append(Relation.total(everyone, [position(agency), group]))
            else:  # both of two agencies: (a, *) + (b, *) = (*, *) + both
                rel.append(
                    Relation(((rows[0], 1.0), (rows[1], 1.0), (everyone, -1.0), (group, -1.0)))
                )

    def _means(self) -> None:
        w, table = self.week, self.table
        for metric in DRIVER_METRICS.values():
            specs: dict[object, MeanSpec] = {}
            for place in [*self.agencies, ALL]:
                cell = CellKey(w, place, ALL, metric)
                specs[cell] = MeanSpec(PartKey("sum", cell), PartKey("answers", cell))
            for kind, agency in self.groups:
                group = GroupKey(w, kind, agency, str(metric), "mean")
                specs[group] = MeanSpec(group._replace(part="sum"), group._replace(part="answers"))
            for key, spec in specs.items():
                table.means[key] = spec
                n = self.values[spec.count_key]
                self.values[key] = self.values[spec.sum_key] / n if n else 0.0


def _position(week: str, metric: InsightMetric, part: str | None, place: str) -> object:
    """The cell (``part`` None) or the hidden part of a mean at ``(place, *)``."""
    cell = CellKey(week, place, ALL, metric)
    return cell if part is None else PartKey(part, cell)


def _member(kind: str, agency: str, touched: Sequence[str]) -> bool:
    """Whether a journey that touched ``touched`` belongs to the group."""
    return agency not in touched if kind == "without" else len(touched) == 2
