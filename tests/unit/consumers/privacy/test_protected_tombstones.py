"""Pruning a released journey tombstones its k-protected record: the tombstone is a record
of its own on the default tier, at the time the journey closed plus the public retention.
A reader who knows when a person's last visit was must not find the person's record
through it: released journeys of a group are pruned together, and a journey never released
leaves no tombstone there."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from consumers.journey.processor import JourneyProcessor, Pruned
from consumers.journey.rules import JoinRules, load_rules
from consumers.state.memory import MemoryStore
from contracts.events import CxEvent
from contracts.protected import ProtectedSnapshot, group_key
from tests.support.populations import population

K = 11


@pytest.fixture(scope="module")
def events() -> list[CxEvent]:
    # Journeys start over 200 days and are kept 30 days once closed: many are pruned while
    # the stream runs, one event at a time (not all at once by a closing tick).
    return population(seed=17, per_life_experience=120, span_days=200)


@pytest.fixture(scope="module")
def rules() -> JoinRules:
    return load_rules().with_retention(timedelta(days=30))


def _run(
    events: list[CxEvent], rules: JoinRules, processors: list[JourneyProcessor]
) -> tuple[dict[str, str], list[list[Pruned]]]:
    """Each released journey's group, and the journeys each event pruned."""
    groups: dict[str, str] = {}
    pruned: list[list[Pruned]] = []
    for event in events:
        processor = processors[ord(event.journey_token[-1]) % len(processors)]
        step = processor.process(event)
        for change in step.changes:
            if change.protected_json is not None:
                record = ProtectedSnapshot.model_validate_json(change.protected_json)
                groups[change.journey_token] = group_key(record)
        pruned.append(step.pruned)
    return groups, pruned


def test_released_journeys_are_tombstoned_k_at_a_time(
    events: list[CxEvent], rules: JoinRules
) -> None:
    processors = [JourneyProcessor(MemoryStore(p), rules) for p in range(2)]
    groups, pruned = _run(events, rules, processors)
    tombstoned = 0
    for step in pruned:
        # What the default tier sees of this event: tombstones of released journeys only.
        for gone in step:
            assert gone.released == (gone.journey_token in groups)
        sizes = Counter(groups[gone.journey_token] for gone in step if gone.released)
        assert all(size >= K for size in sizes.values())
        tombstoned += sum(sizes.values())
    assert tombstoned > 100  # the run did prune released journeys while it streamed
    assert sum(not gone.released for step in pruned for gone in step) > 0


def test_a_restored_processor_prunes_as_the_straight_one(
    events: list[CxEvent], rules: JoinRules
) -> None:
    straight = JourneyProcessor(MemoryStore(0), rules)
    restored = JourneyProcessor(MemoryStore(0), rules)
    half = len(events) // 2
    for event in events[:half]:
        straight.process(event)
        restored.process(event)
    restored.reload()  # the gate's stored members are rebuilt from the store
    for event in events[half:]:
        a = [(p.key, p.released) for p in straight.process(event).pruned]
        b = [(p.key, p.released) for p in restored.process(event).pruned]
        assert a == b
