"""The release gate: every default-tier record is in a group of >= k at every point of a
streaming run, each journey is released at most once, and the gate survives a restore."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from consumers.journey.processor import JourneyProcessor
from consumers.journey.reference import ReferenceResult, reference_run
from consumers.journey.rules import load_rules
from consumers.state.memory import MemoryStore
from contracts.events import CxEvent
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot, group_key
from contracts.vocabulary import JourneyStatus
from tests.support.populations import population

K = 11


@pytest.fixture(scope="module")
def events() -> list[CxEvent]:
    return population(seed=23, per_life_experience=120, span_days=100)


def _stream(events: list[CxEvent], partitions: int = 2) -> list[list[ProtectedSnapshot]]:
    """Run the fold event by event; the records released by each event, in order."""
    rules = load_rules()
    processors = [JourneyProcessor(MemoryStore(p), rules) for p in range(partitions)]
    out = []
    for event in events:
        processor = processors[ord(event.journey_token[-1]) % partitions]
        step = processor.process(event)
        out.append(
            [
                ProtectedSnapshot.model_validate_json(c.protected_json)
                for c in step.changes
                if c.protected_json is not None
            ]
        )
    return out


def test_every_group_has_k_journeys_at_every_point_of_the_run(events: list[CxEvent]) -> None:
    released: Counter[str] = Counter()
    tokens: set[str] = set()
    for records in _stream(events):
        # Each release is a batch of >= k into its group: its timing singles nobody out.
        assert all(n >= K for n in Counter(group_key(r) for r in records).values())
        for record in records:
            assert record.journey_token not in tokens  # at most once per journey
            tokens.add(record.journey_token)
            released[group_key(record)] += 1
        # Right after any event: every group anyone could have seen holds >= k journeys.
        assert all(count >= K for count in released.values())
    assert len(tokens) > 250  # most closed journeys were released, not withheld


def test_a_record_publishes_no_time_finer_than_a_week_and_no_answers(
    events: list[CxEvent],
) -> None:
    result = reference_run(events)
    assert result.protected
    for record in result.protected:
        text = record.model_dump_json()
        assert "T" not in record.start and "satisfaction" not in text and "_at" not in text
        assert record.status is not JourneyStatus.ACTIVE


def test_restoring_from_the_store_rebuilds_the_same_gate(events: list[CxEvent]) -> None:
    rules = load_rules()
    half = len(events) // 2
    straight = JourneyProcessor(MemoryStore(0), rules)
    restored = JourneyProcessor(MemoryStore(0), rules)
    for event in events[:half]:
        straight.process(event)
        restored.process(event)
    restored.reload()  # as after a rollback or a restore from the changelog
    assert restored.gate is not None and straight.gate is not None
    assert restored.gate.released == straight.gate.released
    assert restored.gate.pending == straight.gate.pending
    for event in events[half:]:
        a = [c.protected_json for c in straight.process(event).changes]
        b = [c.protected_json for c in restored.process(event).changes]
        assert a == b


def _consistent(record: ProtectedSnapshot, agency: str, day: date) -> bool:
    """Could ``record`` be the journey of someone seen at ``agency`` on ``day``?"""
    if record.steps and not any(s.agency in (agency, "other") for s in record.steps):
        return False
    start = record.start
    if "W" in start:
        year, week = start.split("-W")
        first = date.fromisocalendar(int(year), int(week), 1)
    elif "Q" in start:
        year, quarter = start.split("-Q")
        first = date(int(year), 3 * int(quarter) - 2, 1)
    else:
        first = date.fromisoformat(f"{start}-01")
    return first <= day  # the journey started on or before the visit


def _truths(result: ReferenceResult) -> dict[tuple[str, str], JourneySnapshot]:
    """Each person's last journey snapshot, also of journeys pruned since (the attacker
    knows the truth about the person, whatever the topic still holds)."""
    return {journey: snapshots[-1] for journey, snapshots in result.history.items()}


def _attack(
    finals: dict[tuple[str, str], JourneySnapshot],
    records: list[ProtectedSnapshot],
) -> list[int]:
    """For each released journey: how many records fit one true visit (agency, date)."""
    by_le: dict[str, list[ProtectedSnapshot]] = {}
    for record in records:
        by_le.setdefault(record.life_experience, []).append(record)
    sizes = []
    for record in records:
        truth = finals[(record.life_experience, record.journey_token)]
        visit = truth.agencies[-1]
        day = visit.first_event_at.date()
        fits = [r for r in by_le[record.life_experience] if _consistent(r, visit.agency, day)]
        assert record in fits  # the attacker's knowledge is true of the target
        sizes.append(len(fits))
    return sizes


def test_one_known_visit_never_narrows_a_default_tier_journey_below_k(
    events: list[CxEvent],
) -> None:
    result = reference_run(events)
    sizes = _attack(_truths(result), result.protected)
    assert sizes and min(sizes) >= K
    # The same knowledge against the fine stream (restricted tier) singles people out.
    fine_hits = 0
    finals = _truths(result)
    for record in result.protected:
        truth = finals[(record.life_experience, record.journey_token)]
        visit = truth.agencies[-1]
        same = [
            s
            for s in finals.values()
            if s.life_experience == truth.life_experience
            and any(
                a.agency == visit.agency and a.first_event_at.date() == visit.first_event_at.date()
                for a in s.agencies
            )
        ]
        fine_hits += len(same) < K
    assert fine_hits > len(result.protected) // 2


def test_a_small_population_is_withheld_not_published() -> None:
    result = reference_run(population(seed=2, per_life_experience=4, span_days=30))
    assert result.protected == []
    assert any(s.status is not JourneyStatus.ACTIVE for s in _truths(result).values())


def test_coarse_precisions_wait_for_the_week_to_settle() -> None:
    rules = load_rules()
    processor = JourneyProcessor(MemoryStore(0), rules)
    events = population(seed=4, per_life_experience=60, span_days=20)
    tick = len(load_rules().by_id)  # the closing tick: one event per life experience
    early: list[ProtectedSnapshot] = []
    for event in events[:-tick]:  # within 20 days: no start week has settled (+28 days)
        early += [
            ProtectedSnapshot.model_validate_json(c.protected_json)
            for c in processor.process(event).changes
            if c.protected_json is not None
        ]
    assert all(r.precision.value in ("day", "week") for r in early)
    late: list[ProtectedSnapshot] = []
    for event in events[-tick:]:  # a year later: every week has rolled over and settled
        late += [
            ProtectedSnapshot.model_validate_json(c.protected_json)
            for c in processor.process(event).changes
            if c.protected_json is not None
        ]
    assert any(r.precision.value not in ("day", "week") for r in late)


def test_everything_but_the_token_is_shared_by_k_journeys(events: list[CxEvent]) -> None:
    """The k group covers every published field but the token: ``snapshot_version`` (and
    ``ce_id``, derived from it) once carried the fine version, which counts a journey's
    events and told a fifth of the released journeys apart inside their groups."""
    released: Counter[str] = Counter()
    for records in _stream(events):
        for record in records:
            released[record.model_dump_json(exclude={"journey_token"})] += 1
    assert released
    assert min(released.values()) >= K
