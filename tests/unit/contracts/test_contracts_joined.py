"""Joined contracts: journey snapshots and suppressed insight cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import JourneySnapshot, JourneyStatus, Metric, PeriodKind
from contracts.export import load_released_schemas
from contracts.insights import InsightCell, InsightRelease, SuppressionReason, release_id
from contracts.joined import (
    AgencyStep,
    DriverAverages,
    EventCounts,
    InsightCellV1_0,
    InsightCellV1_1,
    MetricV1_0,
    period_of,
)
from contracts.registry import load_registry
from tests.support.contract_samples import T0, cell, snapshot


def test_snapshot_holds_the_journey_in_agency_order() -> None:
    snap = snapshot()
    assert [step.agency for step in snap.agencies] == ["ssa", "usda-fns"]
    assert isinstance(snap.agencies[0], AgencyStep)
    assert snap.status is JourneyStatus.ACTIVE
    assert snap.event_counts == EventCounts(total=4, service_interaction=3, feedback=1)
    assert snap.drivers == DriverAverages(responses=1, satisfaction=4.0)
    assert snap.late_events == 0
    assert JourneySnapshot.model_validate_json(snap.model_dump_json()) == snap
    assert (JourneySnapshot.contract_name, JourneySnapshot.contract_version) == (
        "journey-snapshot",
        "1.0.0",
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"last_event_at": T0 - timedelta(seconds=1)},
        {"snapshot_version": 0},
        {"elapsed_seconds": -1},
        {"status": "paused"},
        {"agencies": []},
        {"event_counts": {"total": 1, "service_interaction": 3}},
        {"drivers": {"satisfaction": 5.5}},
        {"life_experience": "buying-a-boat"},
        {"late_events": -1},
        {"name": "x"},
    ],
)
def test_snapshot_rejects_inconsistent_state(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        snapshot(**overrides)


def test_snapshot_rejects_an_agency_listed_twice() -> None:
    step = snapshot().agencies[0].model_dump()
    with pytest.raises(ValidationError, match="twice"):
        snapshot(agencies=[step, step])


def test_insight_cell_key_and_periods() -> None:
    assert cell().key() == "having-a-child|2026-W14|usda-fns|apply|journeys-started"
    assert cell(agency=None, stage=None).key() == "having-a-child|2026-W14|*|*|journeys-started"
    day = cell(period_kind="day", period="2026-04-03", metric="satisfaction", value=4.2)
    assert day.metric is Metric.SATISFACTION
    assert period_of(datetime(2026, 4, 3, 23, 59, tzinfo=UTC), PeriodKind.WEEK) == "2026-W14"
    assert period_of(date(2026, 1, 1), PeriodKind.WEEK) == "2026-W01"
    assert period_of(date(2026, 4, 3), PeriodKind.DAY) == "2026-04-03"


@pytest.mark.parametrize(
    "overrides",
    [
        {"period": "2026-04-03"},  # a day labelled as a week
        {"period_kind": "day", "period": "2026-02-30"},
        {"period": "2026-W54"},
        {"period": "2021-W53"},  # 2021 has 52 ISO weeks
        {"period": "last week"},
    ],
)
def test_insight_cell_period_must_match_its_kind_and_calendar(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        cell(**overrides)


@pytest.mark.parametrize("count", [1, 5, 10])
def test_unsuppressed_small_counts_are_refused(count: int) -> None:
    with pytest.raises(ValidationError, match="must be suppressed"):
        cell(count=count, value=float(count))
    suppressed = cell(count=None, value=None, suppressed=True)
    assert suppressed.count is None and suppressed.value is None


def test_zero_and_larger_counts_are_shown_and_suppressed_cells_hide_everything() -> None:
    assert cell(count=0, value=0.0).count == 0
    assert cell(count=11, value=11.0).count == 11
    with pytest.raises(ValidationError, match="neither value nor count"):
        cell(suppressed=True, count=None, value=3.0)
    with pytest.raises(ValidationError, match="neither value nor count"):
        cell(suppressed=True, count=12, value=None)


def test_insight_cell_1_1_adds_metrics_and_a_handoff_agency_to_a_frozen_1_0() -> None:
    assert (InsightCellV1_0.contract_version, InsightCellV1_1.contract_version) == (
        "1.0.0",
        "1.1.0",
    )
    new = {m.value for m in Metric} - {m.value for m in MetricV1_0}
    assert new == {
        "completion-rate",
        "median-days-to-complete",
        "p90-days-to-complete",
        "stalls-at-handoff",
    }
    assert "to_agency" in InsightCell.model_fields
    assert "to_agency" not in InsightCellV1_0.model_fields
    released = load_released_schemas()
    assert ("insight-cell", "1.0.0") in released and ("insight-cell", "1.1.0") in released
    # The released 1.0.0 still refuses what only 1.1.0 can say.
    fields = cell().model_dump(exclude={"to_agency", "release", "reason", "error_95"})
    with pytest.raises(ValidationError):
        InsightCellV1_0(**{**fields, "metric": "completion-rate", "value": 0.5, "count": None})


def test_a_1_0_cell_is_read_and_upcast_with_its_key_unchanged() -> None:
    fields = cell().model_dump(exclude={"to_agency", "release", "reason", "error_95"})
    old = InsightCellV1_0.model_validate_json(InsightCellV1_0(**fields).model_dump_json())
    upcast = load_registry().upcast(old)
    assert isinstance(upcast, InsightCell)
    assert upcast.to_agency is None and upcast.metric is Metric.JOURNEYS_STARTED
    assert upcast.key() == old.key() == cell().key()


def test_a_handoff_cell_is_keyed_by_both_agencies() -> None:
    base = {"agency": "usda-fns", "stage": None, "metric": "stalls-at-handoff"}
    to_ssa = cell(**base, to_agency="ssa")
    to_none = cell(**base)
    assert to_ssa.key() == "having-a-child|2026-W14|usda-fns|*|stalls-at-handoff|ssa"
    assert to_none.key() == "having-a-child|2026-W14|usda-fns|*|stalls-at-handoff"
    assert cell(**base, to_agency="hhs").key() != to_ssa.key()
    assert InsightCell.model_validate_json(to_ssa.model_dump_json()) == to_ssa


@pytest.mark.parametrize(
    "overrides",
    [
        {"metric": "stalls-at-handoff", "stage": None, "agency": None, "to_agency": "ssa"},
        {"metric": "stalls-at-handoff", "stage": "apply", "to_agency": "ssa"},
        {"metric": "stalls-at-handoff", "stage": None, "to_agency": "usda-fns"},
        {"metric": "journeys-started", "to_agency": "ssa"},
        {"metric": "stalls-at-handoff", "stage": None, "count": 4, "value": 4.0},
    ],
)
def test_a_handoff_cell_must_be_well_formed(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        cell(**overrides)


def test_insight_cell_1_2_carries_its_release_and_why_it_is_suppressed() -> None:
    assert InsightCell.contract_version == "1.2.0"
    released = load_released_schemas()
    assert ("insight-cell", "1.2.0") in released and ("insight-release", "1.0.0") in released
    shown = cell(release=release_id("2026-W14", 2))
    assert shown.release == "2026-W14.v2"
    hidden = cell(suppressed=True, value=None, count=None, reason=SuppressionReason.SMALL_CELL)
    assert hidden.reason is SuppressionReason.SMALL_CELL
    with pytest.raises(ValidationError, match="suppression reason"):
        cell(reason=SuppressionReason.FEW_ANSWERS)
    with pytest.raises(ValidationError):
        cell(release="2026-W14")  # not a release id
    # A 1.1.0 cell is read and upcast: no release, no reason, the same key.
    old = InsightCellV1_1.model_validate_json(
        InsightCellV1_1(
            **cell().model_dump(exclude={"release", "reason", "error_95"})
        ).model_dump_json()
    )
    upcast = load_registry().upcast(old)
    assert isinstance(upcast, InsightCell) and upcast.release is None
    assert upcast.key() == cell().key()


def test_a_release_manifest_is_keyed_by_its_week() -> None:
    manifest = InsightRelease(
        life_experience="having-a-child",
        period="2026-W14",
        release="2026-W14.v1",
        version=1,
        cells=120,
        final=False,
        published_at=T0,
    )
    assert manifest.key() == "having-a-child|2026-W14|release"
