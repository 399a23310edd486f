"""The count tables of one ISO week and its days: what is counted and which totals are public.

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
6. stall hand-offs (:mod:`~consumers.insights.aggregate.handoffs`): every stalled journey
   stalls at exactly one hand-off, so the ``stalls-at-handoff`` counts of a period are the
   rows of a table whose total is the life experience's stalled journeys,
   ``journeys-stalled`` at ``(*, *)``:
   ``(*, *, stalled) = sum over hand-offs (a -> b) of stalls(a -> b)``, per period; and a
   week's hand-off count is the sum over its days (point 4). Only hand-offs seen in the week
   are listed (any other is 0). What these totals do not capture is an inequality: the
   stalls from ``a`` are at most ``(a, *, stalled)``; it only bounds values from above, and
   an upper bound pins a suppressed value (>= 1) only if it is 1, i.e. a published total of
   1, which is never published.

Suppression is therefore decided jointly per ISO week (the week and its days): a
:class:`CountTable` is one unit of suppression.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from consumers.insights.aggregate.handoffs import handoff_key, handoff_of
from consumers.insights.aggregate.model import (
    ALL,
    HIDDEN,
    LAYERS,
    STATUS_LAYERS,
    CellKey,
    InsightMetric,
)
from consumers.insights.suppression import Margin
from contracts.catalog import LifeExperience
from contracts.joined import JourneySnapshot, PeriodKind, period_of
from contracts.vocabulary import STAGE_ORDER, JourneyStatus

__all__ = ["CountTable", "WeekTables", "week_tables"]


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


def week_tables(
    week: str, journeys: Sequence[JourneySnapshot], life_experience: LifeExperience
) -> WeekTables:
    """The tables of ``week`` from its journeys' latest snapshots."""
    agencies = _agency_order(
        life_experience, (step.agency for j in journeys for step in j.agencies)
    )
    return WeekTables(week, journeys, agencies, life_experience)


class WeekTables:
    """The count tables and members of one ISO week and its days (see the module docstring).

    ``periods`` are the days then the week, ``rows`` the agencies then ``*``, ``columns``
    the stages then ``*``; ``members`` lists the journeys counted at each position (the
    statistics are computed over them), ``handoffs`` the stall hand-offs seen this week.
    """

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
            for metric, _ in LAYERS
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
                self.counts[handoff_key(period, source, target)] = 0
        for journey in journeys:
            self._add(journey, life_experience)

    def _add(self, journey: JourneySnapshot, life_experience: LifeExperience) -> None:
        day = period_of(journey.first_event_at, PeriodKind.DAY)
        if journey.status is JourneyStatus.STALLED:
            source, target = handoff_of(journey, life_experience)
            for period in (day, self.week):
                self.counts[handoff_key(period, source, target)] += 1
        layers = [metric for metric, status in LAYERS if status is None or status is journey.status]
        for period in (day, self.week):
            places = [(ALL, ALL)]
            for step in journey.agencies:
                places += [(step.agency, step.stage.value), (step.agency, ALL)]
                places.append((ALL, step.stage.value))
            for agency, stage in places:
                self.members[(period, agency, stage)].append(journey)
                for metric in layers:
                    self.counts[CellKey(period, agency, stage, metric)] += 1

    def table(self) -> CountTable:
        """The counts, their published totals and the hidden keys, for suppression."""
        hidden = frozenset(key for key in self.counts if key.metric in HIDDEN)
        return CountTable(self.week, dict(self.counts), self.margins(), hidden)

    def margins(self) -> list[Margin[CellKey]]:
        """Every published total with its parts (module docstring, points 1-6)."""
        stages = self.columns[:-1]
        agencies = self.rows[:-1]
        result: list[Margin[CellKey]] = []
        for period in self.periods:
            for metric, _ in LAYERS:
                for agency in agencies:
                    parts = [CellKey(period, agency, s, metric) for s in stages]
                    result.append((CellKey(period, agency, ALL, metric), parts))
                for stage in stages:
                    parts = [CellKey(period, a, stage, metric) for a in agencies]
                    result.append((CellKey(period, ALL, stage, metric), parts))
            for agency in self.rows:
                for stage in self.columns:
                    parts = [CellKey(period, agency, stage, m) for m in STATUS_LAYERS]
                    started = CellKey(period, agency, stage, InsightMetric.JOURNEYS_STARTED)
                    result.append((started, parts))
        for metric, _ in LAYERS:
            for agency in self.rows:
                for stage in self.columns:
                    parts = [CellKey(day, agency, stage, metric) for day in self.days]
                    result.append((CellKey(self.week, agency, stage, metric), parts))
        result += self._distinct_links(agencies)
        result += self._handoff_totals()
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
                for metric, _ in LAYERS:
                    parts = [CellKey(period, a, ALL, metric) for a in group]
                    result.append((CellKey(period, ALL, ALL, metric), parts))
        return result

    def _handoff_totals(self) -> list[Margin[CellKey]]:
        """Point 6 of the module docstring: every stalled journey stalls at exactly one
        hand-off."""
        result: list[Margin[CellKey]] = []
        if self.handoffs:
            for period in self.periods:
                parts = [handoff_key(period, a, b) for a, b in self.handoffs]
                result.append((CellKey(period, ALL, ALL, InsightMetric.JOURNEYS_STALLED), parts))
            for source, target in self.handoffs:
                parts = [handoff_key(day, source, target) for day in self.days]
                result.append((handoff_key(self.week, source, target), parts))
        return result


def _agency_order(life_experience: LifeExperience, seen: Iterable[str]) -> list[str]:
    """Catalog participant order first, then any other agency alphabetically."""
    participants = list(life_experience.agencies)
    rank = {agency: index for index, agency in enumerate(participants)}
    return sorted(set(seen), key=lambda a: (rank.get(a, len(participants)), a))
