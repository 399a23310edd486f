"""Week tables, releases and their history on hand-made and seeded snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.insights.aggregate import (
    ALL,
    CellKey,
    InsightMetric,
    journeys_by_week,
    latest_snapshots,
    stall_handoffs,
)
from consumers.insights.audit import audit
from consumers.insights.release.history import History, decode_key, encode_key
from consumers.insights.release.plan import audit_history, is_due, next_release, week_end
from consumers.insights.release.table import GroupKey, PartKey, week_table
from contracts.catalog import LifeExperience, load_catalog
from contracts.insights import InsightCell, SuppressionReason
from contracts.joined import SMALL_CELL_MAX, PeriodKind
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.snapshots import journey, random_journeys, random_week

LE = "recovering-from-a-disaster"
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)  # ISO week 2026-W10
WEEK = "2026-W10"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def disaster() -> LifeExperience:
    return load_catalog().life_experience(LE)


def test_the_week_table_counts_journeys_statuses_days_and_groups(
    disaster: LifeExperience,
) -> None:
    done = [
        journey(i, steps=(("fema", Stage.RECEIVE),), status=JourneyStatus.COMPLETED, days=i)
        for i in range(1, 13)
    ]
    both = [
        journey(100 + i, steps=(("fema", Stage.APPLY), ("sba", Stage.APPLY))) for i in range(15)
    ]
    table = week_table(WEEK, [*done, *both], disaster)
    v = table.values
    started = InsightMetric.JOURNEYS_STARTED
    assert v[CellKey(WEEK, ALL, ALL, started)] == 27
    assert v[CellKey(WEEK, "fema", ALL, started)] == 27
    assert v[CellKey(WEEK, "sba", ALL, started)] == 15
    assert v[CellKey(WEEK, "fema", "receive", started)] == 12
    assert v[CellKey(WEEK, ALL, "apply", started)] == 30  # visits
    assert v[CellKey("2026-03-02", ALL, ALL, InsightMetric.JOURNEYS_COMPLETED)] == 12
    assert v[GroupKey(WEEK, "without", "sba", str(started))] == 12
    assert v[GroupKey(WEEK, "without", "fema", str(started))] == 0
    assert not table.final  # 15 journeys still active
    assert table.days_to_complete[ALL][:2] == [1.0, 2.0]


def test_only_the_latest_snapshot_of_a_journey_counts() -> None:
    snapshots = random_journeys(40, seed=3)
    latest = latest_snapshots(snapshots)
    assert len(latest) == 40
    assert all(
        s.snapshot_version
        == max(o.snapshot_version for o in snapshots if o.journey_token == s.journey_token)
        for s in latest
    )


def test_the_hand_off_with_most_stalls_comes_first(disaster: LifeExperience) -> None:
    fema_only = (("fema", Stage.DECISION),)
    fema_sba = (("fema", Stage.RECEIVE), ("sba", Stage.APPLY))
    snapshots = [journey(i, steps=fema_only, status=JourneyStatus.STALLED) for i in range(5)]
    snapshots += [journey(10 + i, steps=fema_sba, status=JourneyStatus.STALLED) for i in range(7)]
    handoffs = stall_handoffs(snapshots, disaster, PeriodKind.WEEK)[WEEK]
    assert [(h.from_agency, h.to_agency, h.stalls) for h in handoffs] == [
        ("sba", "hud", 7),
        ("fema", "sba", 5),
    ]


def test_a_release_follows_the_contract_and_passes_its_audit(disaster: LifeExperience) -> None:
    week = random_week(200, seed=7)
    planned = next_release(WEEK, week, disaster, [], now=NOW)
    assert planned is not None and planned.report.passed
    cells = planned.record.published
    assert len({c.key() for c in cells}) == len(cells) == planned.record.manifest.cells
    for cell in cells:
        assert cell.release == "2026-W10.v1"
        InsightCell.model_validate_json(cell.model_dump_json())
        if cell.suppressed:
            assert cell.reason is not None and cell.value is None and cell.count is None
        elif cell.count is not None:
            assert not 1 <= cell.count <= SMALL_CELL_MAX
    reasons = {c.reason for c in cells if c.suppressed}
    assert SuppressionReason.SMALL_CELL in reasons
    # Primary and complementary suppression look the same to a reader.
    assert reasons <= {SuppressionReason.SMALL_CELL, SuppressionReason.FEW_ANSWERS}
    assert not planned.record.manifest.final  # active journeys remain


def test_a_provisional_week_waits_until_it_is_final_then_a_correction_follows(
    disaster: LifeExperience,
) -> None:
    week = random_week(120, seed=2)
    first = next_release(WEEK, week, disaster, [], now=NOW)
    assert first is not None
    progressed = [*week[:-1], week[-1].model_copy(update={"status": JourneyStatus.ACTIVE})]
    if progressed != week:
        assert next_release(WEEK, progressed, disaster, [first.record], now=NOW) is None
    settled = [
        j.model_copy(update={"status": JourneyStatus.EXPIRED})
        if j.status is JourneyStatus.ACTIVE
        else j
        for j in week
    ]
    second = next_release(WEEK, settled, disaster, [first.record], now=NOW)
    assert second is not None and second.record.manifest.final
    assert second.record.manifest.supersedes == "2026-W10.v1"
    records = [first.record, second.record]
    truth = {r.manifest.release: r.truth for r in records}
    assert audit(audit_history(records, disaster), truth, mode="exact").passed
    assert next_release(WEEK, settled, disaster, records, now=NOW) is None  # unchanged


def test_a_week_is_due_once_closed_plus_grace() -> None:
    end = week_end(WEEK)
    assert end == datetime(2026, 3, 9, tzinfo=UTC)
    grace = timedelta(days=2)
    assert not is_due(WEEK, None, grace)
    assert not is_due(WEEK, end + grace - timedelta(seconds=1), grace)
    assert is_due(WEEK, end + grace, grace)


def test_the_history_keeps_releases_across_restarts(
    tmp_path: Path, disaster: LifeExperience
) -> None:
    planned = next_release(WEEK, random_week(60, seed=4), disaster, [], now=NOW)
    assert planned is not None
    History(tmp_path).record(LE, WEEK, planned.record)
    (back,) = History(tmp_path).releases(LE, WEEK)
    assert back.manifest == planned.record.manifest
    assert back.truth == planned.record.truth and back.cells == planned.record.cells
    assert back.published == planned.record.published
    for key in (
        CellKey(WEEK, "fema", ALL, InsightMetric.STALLS_AT_HANDOFF, "sba"),
        PartKey("sum", CellKey(WEEK, ALL, ALL, InsightMetric.SATISFACTION)),
        GroupKey(WEEK, "without", "fema", "trust", "mean"),
    ):
        assert decode_key(encode_key(key)) == key


def test_weeks_are_independent_units(disaster: LifeExperience) -> None:
    snapshots = random_journeys(90, seed=9, days=16)  # three ISO weeks
    weeks = journeys_by_week(snapshots, disaster)
    assert len(weeks) == 3 and sum(map(len, weeks.values())) == 90
