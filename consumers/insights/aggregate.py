"""Insights of one life experience, computed from the latest journey snapshots (pure).

What is counted
===============
The population of a period is the journeys that *started* in it (``first_event_at``, UTC):
every day and every ISO week. A journey reaches a furthest stage at each agency it touched
(:class:`~contracts.joined.AgencyStep`), so one journey is one *visit* per agency.

For every period there is a count table per *layer*: all journeys (``journeys-started``),
and by status ``journeys-completed``, ``journeys-stalled``, ``journeys-expired`` and
``journeys-active`` (the last one is never published: the contract has no metric for it, but
it is ``started - completed - stalled - expired``, so it is modelled as a hidden cell and
protected like any other). Positions in a layer:

* ``(agency, stage)``: journeys whose furthest stage at that agency is that stage;
* ``(agency, *)``: journeys that touched the agency (row total);
* ``(*, stage)``: visits that ended at that stage, over all agencies (column total);
* ``(*, *)``: distinct journeys (not the sum of the rows: one journey visits many agencies).

Published totals, i.e. the equations an outsider can use (the margins of the suppression):

1. row: ``(a, *) = sum over stages of (a, s)``, per period and layer;
2. column: ``(*, s) = sum over agencies of (a, s)``, per period and layer;
3. status: ``started = completed + stalled + expired + active`` at every position;
4. time: a week's cell = the sum of the same cell over the days of that week;
5. distinct journeys: ``(*, *)`` is not a linear total, but when the published started
   counts show that every journey of a period touched agency ``a`` (``(a, *) = (*, *)``),
   or that none touched two agencies (``sum of (a, *) = (*, *)``), an outsider knows the
   same holds in every layer; those equalities are added as totals too;
6. stall hand-offs: every stalled journey stalls at exactly one hand-off, so the
   ``stalls-at-handoff`` counts of a period are the rows of a table whose total is the
   life experience's stalled journeys, ``journeys-stalled`` at ``(*, *)``:
   ``(*, *, stalled) = sum over hand-offs (a -> b) of stalls(a -> b)``, per period; and a
   week's hand-off count is the sum over its days (point 4). Only hand-offs seen in the week
   are listed (any other is 0). What these totals do not capture is an inequality: the
   stalls from ``a`` are at most ``(a, *, stalled)``; it only bounds values from above, and
   an upper bound pins a suppressed value (>= 1) only if it is 1, i.e. a published total of
   1, which is never published.

Suppression is therefore decided jointly per ISO week (the week and its days). Statistics
of a position are published only when the counts they are computed from are:

* ``completion-rate`` = completed / started, needs both counts published (a rate and one
  count would give the other count away);
* ``median-days-to-complete``, ``p90-days-to-complete`` (nearest rank) over completed
  journeys' elapsed time, need the completed count published;
* ``mean-elapsed-days`` and the A-11 driver means (each journey's driver average weighs
  one) need the started count published, and a driver mean also needs more than 10
  journeys with an answer for that driver.

Statistics at ``(*, stage)`` are over visits, like the count there; everything else is over
journeys. Stall hand-offs: a stalled journey stalls at the hand-off from the agency of its
last event to the next participating agency (catalog order) that it has not reached yet
(None when it had reached them all); published as ``stalls-at-handoff`` cells with
``agency`` = from, ``to_agency`` = to, stage ``*`` (point 6).

What reaches Kafka: :func:`to_insight_cells` keeps the figures whose metric the
``InsightCell`` contract (1.1.0) names: the four journey counts, ``completion-rate``,
``median-days-to-complete``, ``p90-days-to-complete``, ``stalls-at-handoff``,
``mean-elapsed-days`` and the eight A-11 drivers; never the hidden active count.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NamedTuple

from consumers.insights.suppression import Margin, Suppression, is_small, suppress
from contracts.catalog import LifeExperience
from contracts.events import A11_DRIVERS
from contracts.joined import InsightCell, JourneySnapshot, Metric, PeriodKind, period_of
from contracts.vocabulary import STAGE_ORDER, JourneyStatus

__all__ = [
    "ALL",
    "CellKey",
    "CountTable",
    "Figure",
    "HandOff",
    "InsightMetric",
    "compute_figures",
    "compute_insights",
    "count_tables",
    "handoff_of",
    "journeys_by_week",
    "latest_snapshots",
    "stall_handoffs",
    "to_insight_cells",
    "week_insights",
]

#: The "all agencies" / "all stages" marker inside a :class:`CellKey`.
ALL: Final = "*"

_SECONDS_PER_DAY: Final = 86_400.0


class InsightMetric(StrEnum):
    """Everything the aggregation computes. Values equal to a contract ``Metric`` are published
    under it; ``journeys-active`` is never published (a hidden count, see the module
    docstring and :func:`to_insight_cells`)."""

    JOURNEYS_STARTED = "journeys-started"
    JOURNEYS_COMPLETED = "journeys-completed"
    JOURNEYS_STALLED = "journeys-stalled"
    JOURNEYS_EXPIRED = "journeys-expired"
    JOURNEYS_ACTIVE = "journeys-active"
    COMPLETION_RATE = "completion-rate"
    MEDIAN_DAYS_TO_COMPLETE = "median-days-to-complete"
    P90_DAYS_TO_COMPLETE = "p90-days-to-complete"
    STALLS_AT_HANDOFF = "stalls-at-handoff"
    MEAN_ELAPSED_DAYS = "mean-elapsed-days"
    SATISFACTION = "satisfaction"
    TRUST = "trust"
    EFFECTIVENESS = "effectiveness"
    EASE = "ease"
    EFFICIENCY = "efficiency"
    EQUITY_TRANSPARENCY = "equity-transparency"
    EMPLOYEE_HELPFULNESS = "employee-helpfulness"
    HUMANITY = "humanity"


#: Count layers and the journey status each one keeps (None: every journey).
_LAYERS: Final[tuple[tuple[InsightMetric, JourneyStatus | None], ...]] = (
    (InsightMetric.JOURNEYS_STARTED, None),
    (InsightMetric.JOURNEYS_COMPLETED, JourneyStatus.COMPLETED),
    (InsightMetric.JOURNEYS_STALLED, JourneyStatus.STALLED),
    (InsightMetric.JOURNEYS_EXPIRED, JourneyStatus.EXPIRED),
    (InsightMetric.JOURNEYS_ACTIVE, JourneyStatus.ACTIVE),
)
_STATUS_LAYERS: Final = tuple(metric for metric, status in _LAYERS if status is not None)
_HIDDEN: Final = frozenset({InsightMetric.JOURNEYS_ACTIVE})

#: Driver attribute of DriverAverages -> its metric.
_DRIVER_METRICS: Final[dict[str, InsightMetric]] = {
    driver: InsightMetric(driver.replace("_", "-")) for driver in A11_DRIVERS
}


class CellKey(NamedTuple):
    """Address of one figure: period label, agency or ``*``, stage or ``*``, metric, and for
    a stall hand-off the agency handed to (None: the journey had reached every agency)."""

    period: str
    agency: str
    stage: str
    metric: InsightMetric
    to_agency: str | None = None


@dataclass(frozen=True)
class Figure:
    """One computed figure after suppression.

    ``value`` is None when suppressed or undefined (no journeys to average over);
    ``count`` is set for count metrics only.
    """

    key: CellKey
    value: float | None
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class HandOff:
    """Stalled journeys at one hand-off: last agency reached -> next agency expected."""

    from_agency: str
    to_agency: str | None
    stalls: int


@dataclass(frozen=True)
class CountTable:
    """The linear structure suppression protects for one ISO week and its days.

    ``counts`` holds every count (hidden ones included), ``margins`` every published total
    with its parts, ``hidden`` the keys never published. An auditor can rebuild the
    outsider's view from published cells and check it with
    :func:`~consumers.insights.suppression.derivable_cells`.
    """

    week: str
    counts: dict[CellKey, int]
    margins: list[Margin[CellKey]]
    hidden: frozenset[CellKey]


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


def _week_of(snapshot: JourneySnapshot) -> str:
    return period_of(snapshot.first_event_at, PeriodKind.WEEK)


def _agency_order(life_experience: LifeExperience, seen: Iterable[str]) -> list[str]:
    """Catalog participant order first, then any other agency alphabetically."""
    participants = list(life_experience.agencies)
    rank = {agency: index for index, agency in enumerate(participants)}
    return sorted(set(seen), key=lambda a: (rank.get(a, len(participants)), a))


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (deterministic, always an observation)."""
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


class _WeekTables:
    """The count tables and members of one ISO week and its days (see the module docstring)."""

    def __init__(
        self,
        week: str,
        journeys: Sequence[JourneySnapshot],
        agencies: list[str],
        life_experience: LifeExperience,
    ):
        self.week = week
        days = sorted({period_of(j.first_event_at, PeriodKind.DAY) for j in journeys})
        self.periods = [*days, week]
        self.days = days
        self.rows = [*agencies, ALL]
        self.columns = [*(stage.value for stage in STAGE_ORDER), ALL]
        self.counts: dict[CellKey, int] = {
            CellKey(period, agency, stage, metric): 0
            for period in self.periods
            for metric, _ in _LAYERS
            for agency in self.rows
            for stage in self.columns
        }
        self.members: dict[tuple[str, str, str], list[JourneySnapshot]] = {
            (period, agency, stage): []
            for period in self.periods
            for agency in self.rows
            for stage in self.columns
        }
        # Stall hand-offs seen in this week; a pair never seen is 0 on every day (not listed).
        self.handoffs = sorted(
            {handoff_of(j, life_experience) for j in journeys if j.status is JourneyStatus.STALLED},
            key=lambda pair: (self.rows.index(pair[0]), pair[1] or ""),
        )
        for period in self.periods:
            for source, target in self.handoffs:
                self.counts[_handoff_key(period, source, target)] = 0
        for journey in journeys:
            self._add(journey, life_experience)

    def _add(self, journey: JourneySnapshot, life_experience: LifeExperience) -> None:
        day = period_of(journey.first_event_at, PeriodKind.DAY)
        if journey.status is JourneyStatus.STALLED:
            source, target = handoff_of(journey, life_experience)
            for period in (day, self.week):
                self.counts[_handoff_key(period, source, target)] += 1
        layers = [
            metric for metric, status in _LAYERS if status is None or status is journey.status
        ]
        for period in (day, self.week):
            places = [(ALL, ALL)]
            for step in journey.agencies:
                places += [(step.agency, step.stage.value), (step.agency, ALL)]
                places.append((ALL, step.stage.value))
            for agency, stage in places:
                self.members[(period, agency, stage)].append(journey)
                for metric in layers:
                    self.counts[CellKey(period, agency, stage, metric)] += 1

    def margins(self) -> list[Margin[CellKey]]:
        """Every published total with its parts (module docstring, points 1-5)."""
        stages = self.columns[:-1]
        agencies = self.rows[:-1]
        result: list[Margin[CellKey]] = []
        for period in self.periods:
            for metric, _ in _LAYERS:
                for agency in agencies:
                    parts = [CellKey(period, agency, s, metric) for s in stages]
                    result.append((CellKey(period, agency, ALL, metric), parts))
                for stage in stages:
                    parts = [CellKey(period, a, stage, metric) for a in agencies]
                    result.append((CellKey(period, ALL, stage, metric), parts))
            for agency in self.rows:
                for stage in self.columns:
                    parts = [CellKey(period, agency, stage, m) for m in _STATUS_LAYERS]
                    started = CellKey(period, agency, stage, InsightMetric.JOURNEYS_STARTED)
                    result.append((started, parts))
        for metric, _ in _LAYERS:
            for agency in self.rows:
                for stage in self.columns:
                    parts = [CellKey(day, agency, stage, metric) for day in self.days]
                    result.append((CellKey(self.week, agency, stage, metric), parts))
        result += self._distinct_links(agencies)
        # Point 6: every stalled journey stalls at exactly one hand-off.
        if self.handoffs:
            for period in self.periods:
                parts = [_handoff_key(period, a, b) for a, b in self.handoffs]
                result.append((CellKey(period, ALL, ALL, InsightMetric.JOURNEYS_STALLED), parts))
            for source, target in self.handoffs:
                parts = [_handoff_key(day, source, target) for day in self.days]
                result.append((_handoff_key(self.week, source, target), parts))
        return result

    def _distinct_links(self, agencies: list[str]) -> list[Margin[CellKey]]:
        """Point 5 of the module docstring: when the started counts show that every journey
        touched an agency, or that no journey touched two, the distinct count equals that
        row total, or the sum of the row totals, in every layer."""
        result: list[Margin[CellKey]] = []
        started = InsightMetric.JOURNEYS_STARTED
        for period in self.periods:
            distinct = self.counts[CellKey(period, ALL, ALL, started)]
            rows = {a: self.counts[CellKey(period, a, ALL, started)] for a in agencies}
            linked = [[a] for a, n in rows.items() if n == distinct]
            if sum(rows.values()) == distinct and len(agencies) > 1:
                linked.append(agencies)
            for group in linked:
                for metric, _ in _LAYERS:
                    parts = [CellKey(period, a, ALL, metric) for a in group]
                    result.append((CellKey(period, ALL, ALL, metric), parts))
        return result

    def table(self) -> CountTable:
        """The counts, their published totals and the hidden keys, for suppression."""
        hidden = frozenset(key for key in self.counts if key.metric in _HIDDEN)
        return CountTable(self.week, dict(self.counts), self.margins(), hidden)

    def figures(self) -> list[Figure]:
        """Suppressed counts and the statistics that may follow from them."""
        table = self.table()
        result: Suppression[CellKey] = suppress(table.counts, table.margins, hidden=table.hidden)
        published = result.published
        figures: list[Figure] = []
        for period in self.periods:
            for agency in self.rows:
                for stage in self.columns:
                    figures += self._position(period, agency, stage, published)
            for source, target in self.handoffs:
                key = _handoff_key(period, source, target)
                shown = published[key]
                value = None if shown is None else float(shown)
                figures.append(Figure(key, value, shown, shown is None))
        return figures

    def _position(
        self, period: str, agency: str, stage: str, published: Mapping[CellKey, int | None]
    ) -> list[Figure]:
        def key(metric: InsightMetric) -> CellKey:
            return CellKey(period, agency, stage, metric)

        def shown(metric: InsightMetric) -> int | None:
            return published[key(metric)]

        figures = [
            Figure(
                key(m),
                None if shown(m) is None else float(self.counts[key(m)]),
                shown(m),
                shown(m) is None,
            )
            for m, _ in _LAYERS
            if m not in _HIDDEN
        ]
        members = self.members[(period, agency, stage)]
        started = shown(InsightMetric.JOURNEYS_STARTED)
        completed = shown(InsightMetric.JOURNEYS_COMPLETED)

        def stat(metric: InsightMetric, blocked: bool, value: float | None) -> None:
            figures.append(Figure(key(metric), None if blocked else value, None, blocked))

        rate = completed / started if started and completed is not None else None
        stat(
            InsightMetric.COMPLETION_RATE,
            started is None or completed is None,
            None if rate is None else round(rate, 6),
        )
        days_to_complete = sorted(
            j.elapsed_seconds / _SECONDS_PER_DAY
            for j in members
            if j.status is JourneyStatus.COMPLETED
        )
        no_completed = started is None or completed is None
        stat(
            InsightMetric.MEDIAN_DAYS_TO_COMPLETE,
            no_completed,
            round(statistics.median(days_to_complete), 4) if days_to_complete else None,
        )
        stat(
            InsightMetric.P90_DAYS_TO_COMPLETE,
            no_completed,
            round(_percentile(days_to_complete, 0.9), 4) if days_to_complete else None,
        )
        elapsed = [j.elapsed_seconds / _SECONDS_PER_DAY for j in members]
        stat(
            InsightMetric.MEAN_ELAPSED_DAYS,
            started is None,
            round(statistics.fmean(elapsed), 4) if elapsed else None,
        )
        for driver, metric in _DRIVER_METRICS.items():
            answers = [value for j in members if (value := getattr(j.drivers, driver)) is not None]
            blocked = started is None or is_small(len(answers))
            stat(metric, blocked, round(statistics.fmean(answers), 4) if answers else None)
        return figures


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


def _week_tables(
    week: str, journeys: Sequence[JourneySnapshot], life_experience: LifeExperience
) -> _WeekTables:
    agencies = _agency_order(
        life_experience, (step.agency for j in journeys for step in j.agencies)
    )
    return _WeekTables(week, journeys, agencies, life_experience)


def _weeks(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[_WeekTables]:
    return [
        _week_tables(week, journeys, life_experience)
        for week, journeys in journeys_by_week(snapshots, life_experience).items()
    ]


def week_insights(
    week: str, journeys: Sequence[JourneySnapshot], life_experience: LifeExperience
) -> list[InsightCell]:
    """The cells of one ISO week and its days, from that week's latest snapshots (see
    :func:`journeys_by_week`); :func:`compute_insights` is this over every week."""
    figures = _week_tables(week, journeys, life_experience).figures()
    return to_insight_cells(life_experience.id, figures)


def count_tables(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[CountTable]:
    """The unsuppressed count tables of ``life_experience``, one per ISO week (for audits)."""
    return [week.table() for week in _weeks(snapshots, life_experience)]


def compute_figures(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[Figure]:
    """Every figure (suppressed) of ``life_experience`` for every day and ISO week.

    Only the latest snapshot of each journey of this life experience counts. The result is
    deterministic: per ISO week, the days in order then the week; agencies in catalog order
    then ``*``; stages in journey order then ``*``.
    """
    return [figure for week in _weeks(snapshots, life_experience) for figure in week.figures()]


def to_insight_cells(life_experience: str, figures: Iterable[Figure]) -> list[InsightCell]:
    """The figures the ``InsightCell`` contract can carry, as contract records.

    A figure whose metric the contract's ``Metric`` does not name is left out (see
    ``InsightMetric``), as are hidden counts.
    """
    known = {metric.value: metric for metric in Metric}
    cells: list[InsightCell] = []
    for figure in figures:
        metric = known.get(figure.key.metric.value)
        if metric is None:
            continue
        period = figure.key.period
        cells.append(
            InsightCell(
                life_experience=life_experience,
                period_kind=PeriodKind.WEEK if "W" in period else PeriodKind.DAY,
                period=period,
                agency=None if figure.key.agency == ALL else figure.key.agency,
                stage=None if figure.key.stage == ALL else figure.key.stage,
                metric=metric,
                to_agency=figure.key.to_agency,
                value=figure.value,
                count=figure.count,
                suppressed=figure.suppressed,
            )
        )
    return cells


def compute_insights(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[InsightCell]:
    """``InsightCell`` records of ``life_experience`` (see :func:`compute_figures`)."""
    return to_insight_cells(life_experience.id, compute_figures(snapshots, life_experience))


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


def handoff_of(journey: JourneySnapshot, life_experience: LifeExperience) -> tuple[str, str | None]:
    """The hand-off a journey stopped at: (agency of its last event, next agency not reached)."""
    return _last_agency(journey), _next_agency(journey, life_experience)


def _handoff_key(period: str, source: str, target: str | None) -> CellKey:
    return CellKey(period, source, ALL, InsightMetric.STALLS_AT_HANDOFF, target)


def stall_handoffs(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience, kind: PeriodKind
) -> dict[str, list[HandOff]]:
    """Stalled journeys per hand-off and period, most stalls first (raw, unsuppressed counts).

    For audits and tests only: the published ``stalls-at-handoff`` cells come from
    :func:`compute_insights`, suppressed together with the stall totals.
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
