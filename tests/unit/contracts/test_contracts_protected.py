"""journey-snapshot 2.0.0: what each precision publishes, and that it never shows a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts.protected import (
    DAY_CAP,
    PRECISIONS,
    Precision,
    ProtectedSnapshot,
    group_key,
    protect,
)
from contracts.registry import load_registry
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.snapshots import journey

START = datetime(2026, 3, 31, 9, tzinfo=UTC)  # Tuesday of ISO week 14, month 03, Q1
STEPS = (("fema", Stage.APPLY), ("sba", Stage.DECISION), ("hud", Stage.RECEIVE))


def test_day_precision_publishes_week_stages_and_whole_days() -> None:
    fine = journey(1, start=START, steps=STEPS, days=200.0, status=JourneyStatus.COMPLETED)
    out = protect(fine, Precision.DAY, k=11)
    assert out.start == "2026-W14"
    assert [(s.agency, s.stage, s.day) for s in out.steps] == [
        ("fema", Stage.APPLY, 0),
        ("sba", Stage.DECISION, 0),
        ("hud", Stage.RECEIVE, 0),
    ]
    assert out.elapsed_days == DAY_CAP  # 200 days: the long tail is capped
    assert out.status is JourneyStatus.COMPLETED and out.k == 11


def test_each_precision_is_coarser_than_the_one_before() -> None:
    fine = journey(2, start=START, steps=STEPS, days=17.5)
    outs = [protect(fine, p, k=11) for p in PRECISIONS]
    assert [o.elapsed_days for o in outs] == [17, 14, 14, 0, 0, 0, None]
    assert [o.start for o in outs] == ["2026-W14"] * 3 + ["2026-03"] + ["2026-Q1"] * 3
    assert [s.stage for s in outs[3].steps] == [None, None, None]
    assert [s.agency for s in outs[4].steps] == ["other", "hud"]
    assert outs[5].steps == () and outs[6].steps == ()
    assert len({group_key(o) for o in outs}) == len(PRECISIONS)


def test_no_timestamp_a11_answer_or_token_in_the_group_key() -> None:
    fine = journey(3, start=START, steps=STEPS, days=3.0, satisfaction=4.0)
    for precision in PRECISIONS:
        out = protect(fine, precision, k=11)
        key = group_key(out)
        assert "T09" not in key and "satisfaction" not in key
        assert fine.journey_token not in key
        assert "drivers" not in out.model_dump_json()


def test_start_must_match_the_precision() -> None:
    out = protect(journey(4, start=START), Precision.WEEK, k=11)
    with pytest.raises(ValidationError, match="start does not match"):
        ProtectedSnapshot.model_validate({**out.model_dump(), "start": "2026-03"})


def test_registered_as_a_new_major_of_journey_snapshot() -> None:
    registry = load_registry()
    assert registry.majors("journey-snapshot") == frozenset({1, 2})
    assert registry.latest("journey-snapshot").model is ProtectedSnapshot
    assert registry.latest("journey-snapshot", 1).version == "1.0.0"
