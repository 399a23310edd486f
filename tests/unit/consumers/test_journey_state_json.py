"""The state's JSON (written by pydantic-core) is the same bytes as ``json.dumps`` compact;
the snapshot's bytes are the model's ``model_dump_json``."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.journey import JourneyProcessor
from consumers.journey.rules import load_rules
from consumers.journey.state import JourneyState
from consumers.state import MemoryStore
from contracts.catalog import load_catalog
from tests.support.journeys import T0, make_event, make_workload


def test_state_bytes_equal_json_dumps_with_compact_separators() -> None:
    rules = load_rules()
    store = MemoryStore()
    processor = JourneyProcessor(store, rules, grace=timedelta(minutes=30))
    store.begin()
    written = 0
    for event in make_workload(11, journeys_per_life_experience=20):
        for change in processor.process(event).changes:
            data = json.loads(change.state)
            assert change.state == json.dumps(data, separators=(",", ":")).encode("utf-8")
            written += 1
    assert written > 100


def test_snapshot_bytes_equal_the_models_json_for_every_change() -> None:
    # JourneyState.snapshot_json builds the snapshot record without the pydantic models;
    # JourneyState.snapshot (the models) is the specification it must match byte for byte.
    rules = load_rules()
    store = MemoryStore()
    processor = JourneyProcessor(store, rules, grace=timedelta(minutes=30))
    store.begin()
    compared = 0
    for seed in (3, 11):
        for event in make_workload(seed, journeys_per_life_experience=15):
            for change in processor.process(event).changes:
                state = JourneyState.from_json(change.state)
                model = state.snapshot(rules[state.life_experience])
                assert change.snapshot_json == model.model_dump_json().encode("utf-8")
                assert change.snapshot == model
                compared += 1
    assert compared > 500


_SERVICES = {a.id: a.services[0].id for a in load_catalog().agencies}
_AGENCIES = ("ssa", "cms", "irs", "usda-fns")


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(("interaction", "status", "feedback")),
            st.integers(0, len(_AGENCIES) - 1),
            st.integers(0, 400 * 86_400 * 1_000_000),  # µs after T0: sub-second times too
            st.integers(1, 5),
            st.integers(1, 5),
        ),
        min_size=1,
        max_size=12,
    ),
    closed=st.booleans(),
)
def test_snapshot_bytes_equal_the_models_json_for_any_journey(
    steps: list[tuple[str, int, int, int, int]], closed: bool
) -> None:
    rules = load_rules()["having-a-child"]
    state = JourneyState("having-a-child", "A" * 43)
    for number, (kind, agency, offset, first, second) in enumerate(steps):
        extra: dict[str, object] = {}
        if kind == "feedback":
            extra = {"satisfaction": first, "trust": second}
        elif kind == "status":
            extra = {"status": ("submitted", "approved", "denied")[first % 3]}
        state.apply(
            make_event(
                kind,
                agency=_AGENCIES[agency],
                service_id=_SERVICES[_AGENCIES[agency]],
                life_experience="having-a-child",
                journey_token="A" * 43,
                at=T0 + timedelta(microseconds=offset),
                event_id=UUID(int=number + 1),
                **extra,
            ),
            grace_us=3_600_000_000,
        )
    state.version = len(steps)
    state.closed = closed
    model = state.snapshot(rules)
    assert state.snapshot_json(rules) == model.model_dump_json().encode("utf-8")
