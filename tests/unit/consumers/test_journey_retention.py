"""Retention: a journey closed for longer than its life experience's retention is pruned
(state and dedup set deleted, reported for tombstoning); memory stays bounded."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from importlib import resources
from uuid import UUID

import pytest

from consumers.journey import JourneyProcessor, reference_run
from consumers.journey.rules import load_rules
from consumers.state import MemoryStore
from contracts.catalog import DEFAULT_RETENTION, load_catalog, parse_catalog
from contracts.events import CxEvent
from tests.support.journeys import T0, make_event, token

LE = "having-a-child"
WINDOW = timedelta(days=120)  # having-a-child in the catalog
RETENTION = timedelta(days=10)
TOKEN = token(random.Random(7))
OTHER = token(random.Random(8))


def ev(n: int, at: timedelta, journey: str = TOKEN) -> CxEvent:
    return make_event(
        "interaction",
        agency="ssa",
        service_id="ssa.enumeration-at-birth",
        life_experience=LE,
        journey_token=journey,
        at=T0 + at,
        event_id=UUID(int=n, version=4),
        stage="apply",
    )


def test_the_catalog_names_a_retention_per_life_experience_defaulting_to_400_days() -> None:
    catalog = load_catalog()
    assert {le.retention for le in catalog.life_experiences} == {timedelta(days=400)}
    assert timedelta(days=400) == DEFAULT_RETENTION
    rules = load_rules()
    assert rules[LE].retention_us == 400 * 86_400 * 1_000_000


def test_a_catalog_without_retention_gets_the_default_and_a_non_positive_one_is_refused() -> None:
    files = resources.files("contracts")
    raw = files.joinpath("catalog/life-experiences.json").read_text()
    agencies = json.loads(files.joinpath("catalog/agencies.json").read_text())
    without = json.loads(raw.replace('"retention": "P400D",', ""))
    catalog = parse_catalog(agencies, without)
    assert {le.retention for le in catalog.life_experiences} == {DEFAULT_RETENTION}
    zero = json.loads(raw.replace('"retention": "P400D"', '"retention": "PT0S"'))
    with pytest.raises(Exception, match="retention"):
        parse_catalog(agencies, zero)


def test_a_closed_journey_is_pruned_once_its_retention_has_passed() -> None:
    rules = load_rules().with_retention(RETENTION)
    processor = JourneyProcessor(MemoryStore(), rules)
    processor.process(ev(1, timedelta(0)))
    # Closes (expired) once stream time passes the window...
    closing = processor.process(ev(2, WINDOW + timedelta(seconds=1), journey=OTHER))
    assert [c.journey_token for c in closing.changes] == [OTHER, TOKEN]
    assert not closing.pruned
    # ...is still held exactly at the end of its retention...
    held = processor.process(ev(3, WINDOW + RETENTION, journey=OTHER))
    assert not held.pruned
    assert processor.store.get(f"{LE}|{TOKEN}") is not None
    # ...and pruned right after it: state and dedup set gone.
    step = processor.process(ev(4, WINDOW + RETENTION + timedelta(seconds=1), journey=OTHER))
    assert [(p.life_experience, p.journey_token) for p in step.pruned] == [(LE, TOKEN)]
    assert processor.store.get(f"{LE}|{TOKEN}") is None
    assert processor.journeys() == 1


def test_the_reference_fold_drops_pruned_journeys_from_its_final_view() -> None:
    rules = load_rules().with_retention(RETENTION)
    late = WINDOW + RETENTION + timedelta(days=1)
    # The jump closes the first journey; the next event finds it past its retention
    # (a journey is never closed and pruned by the same event).
    events = [ev(1, timedelta(0)), ev(2, late, journey=OTHER), ev(3, late, journey=OTHER)]
    result = reference_run(events, rules=rules)
    assert result.pruned == {(LE, TOKEN)}
    assert set(result.final) == {(LE, OTHER)}
    # Its snapshots were published before the tombstone: versions 1 (open), 2 (closed).
    assert [s.snapshot_version for s in result.history[(LE, TOKEN)]] == [1, 2]


def test_an_open_journey_is_never_pruned_however_long_its_retention_ran() -> None:
    rules = load_rules().with_retention(timedelta(seconds=1))
    processor = JourneyProcessor(MemoryStore(), rules)
    for n in range(1, 30):  # one event every 100 days keeps it open (window 120 days)
        step = processor.process(ev(n, timedelta(days=100 * n)))
        assert not step.pruned
    assert processor.journeys() == 1


def test_state_stays_bounded_while_journeys_open_and_close_continuously() -> None:
    rules = load_rules().with_retention(RETENTION)
    processor = JourneyProcessor(MemoryStore(), rules)
    rng = random.Random(3)
    held: list[int] = []
    pruned = 0
    for n in range(1, 4001):
        # A new journey every 12 hours of event time, each with one event.
        step = processor.process(ev(n, timedelta(hours=12 * n), journey=token(rng)))
        pruned += len(step.pruned)
        held.append(processor.journeys())
    # At most (window + retention + a quarter) / 12 h journeys are held, however long the
    # stream: a released journey is pruned with its k-protected group, whose journeys all
    # started in one period (a quarter at the coarsest precision), when the last is due.
    bound = (WINDOW + RETENTION + timedelta(days=92)) / timedelta(hours=12) + 2
    assert max(held[1000:]) <= bound
    # Flat: what comes in goes out (in k-protected group batches, so a sawtooth).
    assert max(held[3000:]) <= max(held[1000:2000])
    assert min(held[3000:]) >= min(held[1000:2000]) - 2
    assert pruned == 4000 - held[-1]


def test_with_retention_refuses_a_non_positive_retention() -> None:
    with pytest.raises(ValueError, match="retention"):
        load_rules().with_retention(timedelta(0))
