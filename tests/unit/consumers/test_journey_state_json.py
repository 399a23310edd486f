"""The state's JSON is written by a reused encoder: same bytes as ``json.dumps`` compact."""

from __future__ import annotations

import json
from datetime import timedelta

from consumers.journey import JourneyProcessor
from consumers.journey.rules import load_rules
from consumers.state import MemoryStore
from tests.unit.consumers.journey_workload import make_workload


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
