"""The pure journey fold: rules, grace and late events, closing by event time, dedup."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.journey import JourneyProcessor, JourneyState, reference_fold, reference_run
from consumers.journey.rules import load_rules
from consumers.state import MemoryStore
from contracts.events import CxEvent
from contracts.vocabulary import JourneyStatus
from tests.support.journeys import T0, make_event, make_workload, token

LE = "having-a-child"
TOKEN = token(random.Random(7))
OTHER = token(random.Random(8))
WINDOW = timedelta(days=120)  # having-a-child in the catalog


def ev(
    n: int,
    at: timedelta,
    *,
    kind: str = "interaction",
    agency: str = "ssa",
    journey: str = TOKEN,
    **fields: object,
) -> CxEvent:
    services = {
        "ssa": "ssa.enumeration-at-birth",
        "usda-fns": "usda-fns.wic",
        "cms": "cms.medicaid-enrollment",
    }
    return make_event(
        kind,
        agency=agency,
        service_id=services[agency],
        life_experience=LE,
        journey_token=journey,
        at=T0 + at,
        event_id=UUID(int=n, version=4),
        **fields,
    )


def test_snapshot_aggregates_agencies_counts_drivers_and_latest_values() -> None:
    events = [
        ev(1, timedelta(hours=5), agency="usda-fns", stage="apply", outcome="abandoned"),
        ev(2, timedelta(hours=1), stage="apply"),
        ev(3, timedelta(hours=9), stage="receive", outcome="completed"),
        ev(4, timedelta(hours=7), kind="status", agency="usda-fns", status="in-review"),
        ev(
            5,
            timedelta(hours=8),
            kind="feedback",
            agency="usda-fns",
            satisfaction=2,
            trust=5,
            stage=None,
        ),
        ev(6, timedelta(hours=10), kind="feedback", agency="ssa", satisfaction=5, stage=None),
    ]
    snap = reference_fold(events)[(LE, TOKEN)]
    assert [step.agency for step in snap.agencies] == ["ssa", "usda-fns"]
    ssa, fns = snap.agencies
    assert (ssa.stage.value, ssa.events) == ("receive", 3)
    assert (fns.stage.value, fns.events) == ("decision", 3)  # in-review counts as decision
    assert snap.first_event_at == T0 + timedelta(hours=1)
    assert snap.last_event_at == T0 + timedelta(hours=10)
    assert snap.elapsed_seconds == 9 * 3600
    assert snap.event_counts.total == 6
    assert (snap.event_counts.service_interaction, snap.event_counts.feedback) == (3, 2)
    assert snap.outcome is not None and snap.outcome.value == "completed"  # latest at 9h
    assert snap.application_status is not None and snap.application_status.value == "in-review"
    assert snap.drivers.responses == 2
    assert snap.drivers.satisfaction == 3.5
    assert snap.drivers.trust == 5.0
    assert snap.status is JourneyStatus.ACTIVE  # usda-fns has not reached "receive"
    assert snap.snapshot_version == 6


def test_journey_completes_when_every_milestone_is_reached() -> None:
    events = [
        ev(1, timedelta(hours=1), stage="receive"),
        ev(2, timedelta(hours=2), agency="usda-fns", stage="follow-up"),
    ]
    history = reference_run(events).history[(LE, TOKEN)]
    assert [s.status for s in history] == [JourneyStatus.ACTIVE, JourneyStatus.COMPLETED]
    assert [s.snapshot_version for s in history] == [1, 2]


def test_events_within_grace_are_not_late_and_later_ones_are_counted_but_applied() -> None:
    grace = timedelta(hours=2)
    events = [
        ev(1, timedelta(hours=10), stage="apply"),
        ev(2, timedelta(hours=9), stage="decision"),  # 1 h behind: within grace
        ev(3, timedelta(hours=1), stage="receive"),  # 9 h behind: late
    ]
    result = reference_run(events, grace=grace)
    snap = result.final[(LE, TOKEN)]
    assert result.late == 1
    assert snap.late_events == 1
    assert snap.event_counts.total == 3
    assert snap.agencies[0].stage.value == "receive"  # the late event still counted
    assert snap.first_event_at == T0 + timedelta(hours=1)  # and placed by its event time


def test_duplicate_event_ids_change_nothing() -> None:
    first = ev(1, timedelta(hours=1))
    events = [first, ev(2, timedelta(hours=2)), first, first]
    result = reference_run(events)
    assert result.duplicates == 2
    history = result.history[(LE, TOKEN)]
    assert [s.snapshot_version for s in history] == [1, 2]
    assert history[-1].event_counts.total == 2


def test_journey_closes_when_stream_time_passes_its_window() -> None:
    events = [
        ev(1, timedelta(0), stage="apply"),
        ev(2, WINDOW, journey=OTHER),  # exactly at the window: not past it
        ev(3, WINDOW + timedelta(seconds=1), journey=OTHER),
    ]
    result = reference_run(events)
    history = result.history[(LE, TOKEN)]
    assert [s.status for s in history] == [JourneyStatus.ACTIVE, JourneyStatus.EXPIRED]
    assert [s.snapshot_version for s in history] == [1, 2]
    assert result.final[(LE, OTHER)].status is JourneyStatus.ACTIVE


def test_closed_journey_with_pending_application_is_stalled() -> None:
    events = [
        ev(1, timedelta(0), kind="status", agency="cms", status="more-info-requested"),
        ev(2, WINDOW + timedelta(days=1), journey=OTHER),
    ]
    assert reference_fold(events)[(LE, TOKEN)].status is JourneyStatus.STALLED


def test_completed_journey_closes_as_completed() -> None:
    events = [
        ev(1, timedelta(0), stage="receive"),
        ev(2, timedelta(hours=1), agency="usda-fns", stage="receive"),
        ev(3, WINDOW * 2, journey=OTHER),
    ]
    history = reference_run(events).history[(LE, TOKEN)]
    assert [s.status for s in history][-1] is JourneyStatus.COMPLETED
    assert len(history) == 3


def test_stream_time_is_per_partition() -> None:
    events = [ev(1, timedelta(0)), ev(2, WINDOW * 2, journey=OTHER)]
    partitions = {TOKEN: 0, OTHER: 1}
    result = reference_run(events, partition_of=partitions.__getitem__)
    assert result.final[(LE, TOKEN)].status is JourneyStatus.ACTIVE


def test_event_after_close_reopens_the_journey() -> None:
    events = [
        ev(1, timedelta(0)),
        ev(2, WINDOW + timedelta(days=1), journey=OTHER),
        ev(3, WINDOW + timedelta(days=2), stage="decision"),
    ]
    history = reference_run(events).history[(LE, TOKEN)]
    assert [s.status for s in history] == [
        JourneyStatus.ACTIVE,
        JourneyStatus.EXPIRED,
        JourneyStatus.ACTIVE,
    ]


def test_very_late_event_for_a_closed_journey_keeps_it_closed_in_one_version() -> None:
    events = [
        ev(1, timedelta(days=1)),
        ev(2, WINDOW * 2, journey=OTHER),
        ev(3, timedelta(0)),  # far behind stream time: applied, late, still closed
    ]
    history = reference_run(events).history[(LE, TOKEN)]
    assert [s.snapshot_version for s in history] == [1, 2, 3]
    assert history[-1].status is JourneyStatus.EXPIRED
    assert history[-1].late_events == 1
    assert history[-1].event_counts.total == 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_and_duplicated_input_gives_the_same_final_snapshots(seed: int) -> None:
    events = make_workload(seed)
    rng = random.Random(seed)
    noisy = events + rng.sample(events, len(events) // 3)
    rng.shuffle(noisy)
    # A grace wider than the workload's span: no event is late in any order.
    grace = timedelta(days=30)
    assert reference_fold(noisy, grace=grace) == reference_fold(events, grace=grace)


def test_shuffling_only_changes_late_counts_under_a_small_grace() -> None:
    events = make_workload(4)
    shuffled = list(events)
    random.Random(4).shuffle(shuffled)
    ordered = reference_fold(events)
    mixed = reference_fold(shuffled)
    assert sum(s.late_events for s in ordered.values()) == 0
    assert sum(s.late_events for s in mixed.values()) > 0
    strip = {"late_events"}
    assert {k: s.model_dump(exclude=strip) for k, s in mixed.items()} == {
        k: s.model_dump(exclude=strip) for k, s in ordered.items()
    }


def test_state_json_round_trip_is_exact() -> None:
    rules = load_rules()
    processor = JourneyProcessor(MemoryStore(), rules)
    for event in make_workload(5, 3):
        processor.process(event)
    for le in rules.by_id:
        for key, raw in list(processor.store.iter_due(2**62)):
            if key.startswith(le):
                state = JourneyState.from_json(raw)
                assert state.to_json() == raw


def test_cache_stays_bounded_and_results_match_an_unbounded_cache() -> None:
    events = make_workload(6)
    rules = load_rules()
    small = JourneyProcessor(MemoryStore(), rules, cache_size=3)
    large = JourneyProcessor(MemoryStore(), rules, cache_size=100_000)
    for event in events:
        a = [c.snapshot for c in small.process(event).changes]
        b = [c.snapshot for c in large.process(event).changes]
        assert a == b
        assert len(small._cache) <= 3


def test_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="grace"):
        JourneyProcessor(MemoryStore(), load_rules(), grace=timedelta(seconds=-1))


_PROPERTY_EVENTS = make_workload(9, 2)


@settings(max_examples=40, deadline=None)
@given(
    order=st.permutations(range(len(_PROPERTY_EVENTS))),
    repeats=st.lists(st.integers(0, len(_PROPERTY_EVENTS) - 1), max_size=20),
)
def test_any_order_with_any_duplicates_folds_to_the_same_journeys(
    order: list[int], repeats: list[int]
) -> None:
    delivery = [_PROPERTY_EVENTS[i] for i in order + repeats]
    grace = timedelta(days=30)
    assert reference_fold(delivery, grace=grace) == reference_fold(_PROPERTY_EVENTS, grace=grace)
