"""Insights aggregation on hand-made snapshots with figures known in advance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consumers.insights.aggregate import (
    ALL,
    CellKey,
    Figure,
    InsightMetric,
    compute_figures,
    compute_insights,
    count_tables,
    journeys_by_week,
    latest_snapshots,
    stall_handoffs,
    week_insights,
)
from consumers.insights.suppression import derivable_cells, is_small
from contracts.catalog import LifeExperience, load_catalog
from contracts.joined import InsightCell, JourneySnapshot, Metric, PeriodKind
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.snapshots import journey, random_journeys

LE = "recovering-from-a-disaster"
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)  # ISO week 2026-W10
DAY, WEEK = "2026-03-02", "2026-W10"


@pytest.fixture
def disaster() -> LifeExperience:
    return load_catalog().life_experience(LE)


def by_key(figures: list[Figure]) -> dict[CellKey, Figure]:
    return {f.key: f for f in figures}


def known_population() -> list[JourneySnapshot]:
    """12 completed at FEMA/receive (1..12 days, satisfaction 4), 15 active at FEMA/apply."""
    done = [
        journey(
            i,
            steps=(("fema", Stage.RECEIVE),),
            days=float(i),
            status=JourneyStatus.COMPLETED,
            satisfaction=4.0,
        )
        for i in range(1, 13)
    ]
    waiting = [journey(100 + i, steps=(("fema", Stage.APPLY),)) for i in range(15)]
    return done + waiting


def test_counts_rates_and_times_on_known_figures(disaster: LifeExperience) -> None:
    figures = by_key(compute_figures(known_population(), disaster))

    def value(agency: str, stage: str, metric: InsightMetric, period: str = DAY) -> float | None:
        figure = figures[CellKey(period, agency, stage, metric)]
        assert not figure.suppressed
        return figure.value

    for period in (DAY, WEEK):
        assert value(ALL, ALL, InsightMetric.JOURNEYS_STARTED, period) == 27
        assert value("fema", ALL, InsightMetric.JOURNEYS_COMPLETED, period) == 12
    assert value("fema", "receive", InsightMetric.JOURNEYS_STARTED) == 12
    assert value("fema", "apply", InsightMetric.JOURNEYS_STARTED) == 15
    assert value("fema", "apply", InsightMetric.JOURNEYS_COMPLETED) == 0
    assert value("fema", ALL, InsightMetric.COMPLETION_RATE) == pytest.approx(12 / 27)
    assert value("fema", "receive", InsightMetric.COMPLETION_RATE) == 1.0
    assert value("fema", "apply", InsightMetric.COMPLETION_RATE) == 0.0
    assert value("fema", "receive", InsightMetric.MEDIAN_DAYS_TO_COMPLETE) == 6.5
    assert value("fema", "receive", InsightMetric.P90_DAYS_TO_COMPLETE) == 11.0  # rank 11 of 12
    assert value("fema", "apply", InsightMetric.MEDIAN_DAYS_TO_COMPLETE) is None  # none done
    assert value("fema", "apply", InsightMetric.MEAN_ELAPSED_DAYS) == 1.0
    assert value("fema", "receive", InsightMetric.SATISFACTION) == 4.0
    assert value("fema", "apply", InsightMetric.SATISFACTION) is None  # nobody answered
    assert not any(f.key.metric is InsightMetric.JOURNEYS_ACTIVE for f in figures.values())


def test_only_the_latest_snapshot_of_a_journey_counts(disaster: LifeExperience) -> None:
    population = known_population()
    # Journey 1 first showed up at FEMA/discover; its later version (v2) is the one above.
    early = journey(1, steps=(("fema", Stage.DISCOVER),), version=1)
    later = [
        s.model_copy(update={"snapshot_version": 2})
        if s.journey_token == early.journey_token
        else s
        for s in population
    ]
    for ordering in ([early, *later], [*later, early]):
        figures = by_key(compute_figures(ordering, disaster))
        assert figures[CellKey(DAY, ALL, ALL, InsightMetric.JOURNEYS_STARTED)].count == 27
        assert figures[CellKey(DAY, "fema", "discover", InsightMetric.JOURNEYS_STARTED)].count == 0
    assert len(latest_snapshots([early, *later])) == 27


def test_small_counts_are_suppressed_with_their_statistics(disaster: LifeExperience) -> None:
    stalled = [
        journey(
            200 + i, steps=(("fema", Stage.APPLY),), status=JourneyStatus.STALLED, satisfaction=1.0
        )
        for i in range(3)
    ]
    figures = by_key(compute_figures(known_population() + stalled, disaster))
    for period in (DAY, WEEK):
        stall = figures[CellKey(period, "fema", "apply", InsightMetric.JOURNEYS_STALLED)]
        assert stall.suppressed and stall.value is None and stall.count is None
    for figure in figures.values():
        if figure.count is not None:
            assert not is_small(figure.count)
        if figure.suppressed:
            assert figure.value is None


def test_statistics_of_a_small_population_are_suppressed(disaster: LifeExperience) -> None:
    few = [
        journey(
            i,
            steps=(("sba", Stage.DECISION),),
            status=JourneyStatus.COMPLETED,
            days=3.0,
            satisfaction=5.0,
        )
        for i in range(4)
    ]
    figures = by_key(compute_figures(few, disaster))
    for metric in (
        InsightMetric.JOURNEYS_STARTED,
        InsightMetric.COMPLETION_RATE,
        InsightMetric.MEDIAN_DAYS_TO_COMPLETE,
        InsightMetric.MEAN_ELAPSED_DAYS,
        InsightMetric.SATISFACTION,
    ):
        assert figures[CellKey(DAY, "sba", "decision", metric)].suppressed


def test_no_small_value_is_derivable_from_the_published_cells(disaster: LifeExperience) -> None:
    snapshots = random_journeys(120, seed=7, days=9)
    figures = by_key(compute_figures(snapshots, disaster))
    tables = count_tables(snapshots, disaster)
    assert tables
    for table in tables:
        published = {key: figures[key].count for key in table.counts if key not in table.hidden}
        assert all((value is None) == figures[key].suppressed for key, value in published.items())
        leaks = derivable_cells(published, table.margins)
        assert not any(is_small(table.counts[key]) for key in leaks)


def test_insight_cells_follow_the_contract_and_keys_are_unique(disaster: LifeExperience) -> None:
    snapshots = random_journeys(60, seed=3)
    cells = compute_insights(snapshots, disaster)
    assert cells == compute_insights(list(reversed(snapshots)), disaster)  # deterministic
    keys = [cell.key() for cell in cells]
    assert len(keys) == len(set(keys))
    for cell in cells:
        assert InsightCell.model_validate_json(cell.model_dump_json()) == cell
    kinds = {cell.period_kind for cell in cells}
    assert kinds == {PeriodKind.DAY, PeriodKind.WEEK}
    assert {cell.metric for cell in cells} <= set(Metric)


def test_week_figures_add_up_the_days(disaster: LifeExperience) -> None:
    snapshots = [
        journey(i, start=MONDAY + timedelta(days=i % 3), steps=(("fema", Stage.APPLY),))
        for i in range(40)
    ]
    figures = by_key(compute_figures(snapshots, disaster))
    days = ["2026-03-02", "2026-03-03", "2026-03-04"]
    counts = [figures[CellKey(d, ALL, ALL, InsightMetric.JOURNEYS_STARTED)].count for d in days]
    assert counts == [14, 13, 13]
    assert figures[CellKey(WEEK, ALL, ALL, InsightMetric.JOURNEYS_STARTED)].count == 40


def test_the_hand_off_with_most_stalls_comes_first(disaster: LifeExperience) -> None:
    fema_only = (("fema", Stage.DECISION),)
    fema_sba = (("fema", Stage.RECEIVE), ("sba", Stage.APPLY))
    everything = (("fema", Stage.RECEIVE), ("sba", Stage.RECEIVE), ("hud", Stage.APPLY))
    snapshots = (
        [journey(i, steps=fema_only, status=JourneyStatus.STALLED) for i in range(5)]
        + [journey(10 + i, steps=fema_sba, status=JourneyStatus.STALLED) for i in range(7)]
        + [journey(20 + i, steps=everything, status=JourneyStatus.STALLED) for i in range(2)]
        + [journey(30 + i, steps=fema_sba, status=JourneyStatus.COMPLETED) for i in range(9)]
    )
    handoffs = stall_handoffs(snapshots, disaster, PeriodKind.WEEK)[WEEK]
    assert [(h.from_agency, h.to_agency, h.stalls) for h in handoffs] == [
        ("sba", "hud", 7),
        ("fema", "sba", 5),
        ("hud", None, 2),
    ]


def test_weeks_are_independent_units(disaster: LifeExperience) -> None:
    snapshots = random_journeys(90, seed=9, days=16)  # three ISO weeks
    weeks = journeys_by_week(snapshots, disaster)
    assert len(weeks) == 3 and sum(map(len, weeks.values())) == 90
    per_week = [c for week, js in weeks.items() for c in week_insights(week, js, disaster)]
    assert per_week == compute_insights(snapshots, disaster)


def test_an_agency_every_journey_touched_links_its_row_to_the_distinct_count(
    disaster: LifeExperience,
) -> None:
    snapshots = [journey(i, steps=(("fema", Stage.APPLY), ("sba", Stage.APPLY))) for i in range(3)]
    snapshots += [journey(10 + i, steps=(("fema", Stage.RECEIVE),)) for i in range(12)]
    (table,) = count_tables(snapshots, disaster)
    links = {
        (total, tuple(parts))
        for total, parts in table.margins
        if total.agency == ALL == total.stage
    }
    for metric in (InsightMetric.JOURNEYS_STARTED, InsightMetric.JOURNEYS_ACTIVE):
        total = CellKey(DAY, ALL, ALL, metric)
        assert (total, (CellKey(DAY, "fema", ALL, metric),)) in links  # all 15 touched FEMA
        assert not any(
            parts == (CellKey(DAY, "sba", ALL, metric),) for t, parts in links if t == total
        )
    # The outsider may use it: with FEMA's row shown, sba's 3 journeys stay hidden anyway.
    figures = by_key(compute_figures(snapshots, disaster))
    assert figures[CellKey(DAY, "sba", ALL, InsightMetric.JOURNEYS_STARTED)].suppressed


def handoff_population() -> list[JourneySnapshot]:
    """Same day: 14 stalled fema->sba, 3 stalled sba->hud, 12 stalled hud->(none)."""
    fema = (("fema", Stage.DECISION),)
    fema_sba = (("fema", Stage.RECEIVE), ("sba", Stage.APPLY))
    everything = (("fema", Stage.RECEIVE), ("sba", Stage.RECEIVE), ("hud", Stage.APPLY))
    stalled = JourneyStatus.STALLED
    return (
        [journey(i, steps=fema, status=stalled) for i in range(14)]
        + [journey(100 + i, steps=fema_sba, status=stalled) for i in range(3)]
        + [journey(200 + i, steps=everything, status=stalled) for i in range(12)]
    )


def test_stall_handoffs_are_published_with_both_agencies_and_suppressed(
    disaster: LifeExperience,
) -> None:
    cells = compute_insights(handoff_population(), disaster)
    handoffs = {
        (c.period, c.agency, c.to_agency): c for c in cells if c.metric is Metric.STALLS_AT_HANDOFF
    }
    assert set(handoffs) == {
        (p, a, b) for p in (DAY, WEEK) for a, b in (("fema", "sba"), ("sba", "hud"), ("hud", None))
    }
    assert handoffs[(WEEK, "fema", "sba")].count == 14
    assert handoffs[(WEEK, "sba", "hud")].suppressed  # 3 journeys
    # 29 stalled in all: with 3 suppressed, one more hand-off must go too.
    assert sum(c.suppressed for (p, _, _), c in handoffs.items() if p == WEEK) >= 2
    stalled = next(
        c
        for c in cells
        if c.period == WEEK and c.metric is Metric.JOURNEYS_STALLED and c.agency is None
        if c.stage is None
    )
    assert stalled.count == 29
    assert all(c.stage is None for c in handoffs.values())
    assert len({c.key() for c in cells}) == len(cells)


def test_handoff_counts_are_rows_of_the_stalled_total(disaster: LifeExperience) -> None:
    (table,) = count_tables(handoff_population(), disaster)
    stalled = CellKey(WEEK, ALL, ALL, InsightMetric.JOURNEYS_STALLED)
    rows = [parts for total, parts in table.margins if total == stalled]
    handoff_rows = [p for p in rows if all(k.metric is InsightMetric.STALLS_AT_HANDOFF for k in p)]
    assert len(handoff_rows) == 1
    assert sum(table.counts[k] for k in handoff_rows[0]) == table.counts[stalled] == 29
    # The outsider, given every published cell, recovers no small hand-off count.
    figures = compute_figures(handoff_population(), disaster)
    view = {f.key: f.count for f in figures if f.key in table.counts}
    recovered = derivable_cells(view, table.margins)
    assert not [k for k in recovered if is_small(table.counts[k])]
    # Primary suppression alone would not do: 29 - 14 - 12 = 3.
    primary = {
        k: None if is_small(v) else v for k, v in table.counts.items() if k not in table.hidden
    }
    leaked = derivable_cells(primary, table.margins)
    assert leaked[CellKey(WEEK, "sba", ALL, InsightMetric.STALLS_AT_HANDOFF, "hud")] == 3
