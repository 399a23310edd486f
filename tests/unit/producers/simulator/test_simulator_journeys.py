"""Journeys look like agency data: every life experience and agency, plausible stage order,
realistic drop-offs, application statuses, A-11 feedback, and marked delivery quirks."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import pairwise
from statistics import mean

import pytest

from contracts.catalog import load_catalog
from contracts.privacy import RESTRICTED_ZIP3
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage, stage_rank
from producers.deid.raw import EventKind
from producers.simulator import SSN_LESS_AGENCIES, Delivery, Simulation, SimulationConfig
from producers.simulator.profiles import life_experience_profile

from .conftest import JOURNEYS

_TERMINAL = {ApplicationState.APPROVED, ApplicationState.DENIED, ApplicationState.WITHDRAWN}


def _firsts(deliveries: list[Delivery]) -> list[Delivery]:
    """Each record once (duplicated deliveries dropped)."""
    return [d for d in deliveries if not d.duplicate]


def test_every_life_experience_and_each_of_its_agencies_appears(
    deliveries: list[Delivery],
) -> None:
    seen = {(d.record.life_experience, d.record.agency) for d in deliveries}
    for le in load_catalog().life_experiences:
        for agency in le.agencies:
            assert (le.id, agency) in seen, (le.id, agency)


def test_records_only_use_services_and_stages_of_their_life_experience(
    deliveries: list[Delivery],
) -> None:
    catalog = load_catalog()
    for d in deliveries:
        r = d.record
        assert r.service_id in catalog.life_experience(r.life_experience).services
        if r.stage is not None:
            assert r.stage in catalog.service(r.service_id).stages


def test_agencies_are_met_in_the_catalog_order(deliveries: list[Delivery]) -> None:
    catalog = load_catalog()
    first_contact: dict[tuple[int, str], dict[str, object]] = defaultdict(dict)
    for d in _firsts(deliveries):
        key = (d.journey, d.record.life_experience)
        first_contact[key].setdefault(d.record.agency, d.record.occurred_at)
    for (_, le_id), firsts in first_contact.items():
        order = catalog.life_experience(le_id).agencies
        by_time = sorted(firsts, key=lambda a: (firsts[a], order.index(a)))
        # The first agency reached is the earliest participating one in catalog order.
        assert by_time[0] == min(firsts, key=order.index)


def test_stages_advance_per_service_except_for_marked_late_deliveries(
    deliveries: list[Delivery],
) -> None:
    last: dict[tuple[int, str], tuple[int, object]] = {}
    out_of_order = 0
    for d in deliveries:
        r = d.record
        if r.kind is not EventKind.SERVICE_INTERACTION or d.duplicate:
            continue
        assert r.stage is not None
        key = (d.journey, r.service_id or "")
        position = (stage_rank(r.stage), r.occurred_at)
        previous = last.get(key)
        if previous is not None and position < previous:
            assert d.late, "only deliveries marked late may arrive out of order"
            out_of_order += 1
            continue
        last[key] = position
    assert out_of_order > 0  # the quirk is present and countable


def test_delivery_times_never_go_backwards_and_late_ones_are_delayed(
    deliveries: list[Delivery],
) -> None:
    times = [d.delivered_at for d in deliveries]
    assert times == sorted(times)
    late = [d for d in _firsts(deliveries) if d.late]
    assert late and all(d.delivered_at > d.record.occurred_at for d in late)
    assert all(d.delivered_at == d.record.occurred_at for d in _firsts(deliveries) if not d.late)
    assert 0.01 < len(late) / len(_firsts(deliveries)) < 0.06  # configured 3 %


def test_duplicates_repeat_an_earlier_record_at_the_configured_rate(
    deliveries: list[Delivery],
) -> None:
    seen: dict[object, Delivery] = {}
    duplicates = 0
    for d in deliveries:
        if d.duplicate:
            duplicates += 1
            assert seen[d.record.event_id].record == d.record
        else:
            assert d.record.event_id not in seen
            seen[d.record.event_id] = d
    assert 0.01 < duplicates / len(seen) < 0.035  # configured 2 %


def test_rates_can_be_turned_off() -> None:
    config = SimulationConfig(late_rate=0, duplicate_rate=0, second_life_experience_rate=0)
    run = list(Simulation(60, 4, config=config).deliveries())
    assert not any(d.late or d.duplicate for d in run)
    assert len({d.record.event_id for d in run}) == len(run)
    people = Counter((d.person, d.record.life_experience) for d in run)
    assert len({p for p, _ in people}) == len({d.journey for d in run})


def test_application_statuses_follow_the_lifecycle(deliveries: list[Delivery]) -> None:
    by_application: dict[tuple[str, str], list[ApplicationState]] = defaultdict(list)
    for d in _firsts(sorted(deliveries, key=lambda d: d.record.occurred_at)):
        r = d.record
        if r.kind is EventKind.APPLICATION_STATUS:
            assert r.status is not None and r.application_id is not None
            by_application[(r.agency, r.application_id)].append(r.status)
    assert len(by_application) > 100
    for states in by_application.values():
        assert states[0] is ApplicationState.SUBMITTED
        assert states.count(ApplicationState.SUBMITTED) == 1
        terminal = [i for i, s in enumerate(states) if s in _TERMINAL]
        assert terminal in ([], [len(states) - 1])  # at most one decision, and it is the last
        if terminal:
            assert ApplicationState.IN_REVIEW in states[:-1]
        for before, after in pairwise(states):
            if after is ApplicationState.MORE_INFO_REQUESTED:
                assert before is ApplicationState.IN_REVIEW
    seen = Counter(s for states in by_application.values() for s in states)
    assert set(seen) == set(ApplicationState)
    assert seen[ApplicationState.APPROVED] > seen[ApplicationState.DENIED]
    assert seen[ApplicationState.DENIED] > seen[ApplicationState.WITHDRAWN]


def test_outcomes_channels_and_kinds_all_occur_in_realistic_proportions(
    deliveries: list[Delivery],
) -> None:
    records = [d.record for d in _firsts(deliveries)]
    outcomes = Counter(r.outcome for r in records if r.outcome is not None)
    assert set(outcomes) == set(Outcome)
    assert outcomes[Outcome.COMPLETED] / sum(outcomes.values()) > 0.7
    assert set(r.channel for r in records if r.channel is not None) == set(Channel)
    kinds = Counter(r.kind for r in records)
    assert kinds[EventKind.SERVICE_INTERACTION] > kinds[EventKind.APPLICATION_STATUS]
    assert kinds[EventKind.APPLICATION_STATUS] > kinds[EventKind.FEEDBACK] > 0
    assert all(0 <= (r.wait_seconds or 0) <= 366 * 86400 for r in records)
    for r in records:
        if r.kind is EventKind.SERVICE_INTERACTION:
            assert r.started_at is not None and r.ended_at is not None
            assert r.started_at <= r.ended_at == r.occurred_at
            assert r.attempt is not None and 1 <= r.attempt <= 4


def test_some_journeys_complete_and_some_drop_off(deliveries: list[Delivery]) -> None:
    catalog = load_catalog()
    reached: dict[tuple[int, str], set[tuple[str, Stage]]] = defaultdict(set)
    for d in _firsts(deliveries):
        r = d.record
        if r.kind is EventKind.SERVICE_INTERACTION and r.outcome is Outcome.COMPLETED:
            assert r.stage is not None
            reached[(d.journey, r.life_experience)].add((r.agency, r.stage))
    journeys = {(d.journey, d.record.life_experience) for d in deliveries}
    assert len(journeys) == JOURNEYS
    completed = sum(
        all((m.agency, m.stage) in reached[j] for m in catalog.life_experience(j[1]).completion)
        for j in journeys
    )
    assert 0.2 < completed / len(journeys) < 0.85


def test_feedback_scores_differ_by_channel_and_outcome(deliveries: list[Delivery]) -> None:
    feedback = [d.record for d in _firsts(deliveries) if d.record.kind is EventKind.FEEDBACK]
    assert len(feedback) > 150
    for r in feedback:
        assert r.satisfaction is not None and 1 <= r.satisfaction <= 5
        assert r.channel is not None and r.service_id is not None
        if r.channel not in (Channel.PHONE, Channel.IN_PERSON, Channel.CHAT):
            assert r.employee_helpfulness is None
    by_channel: dict[Channel, list[int]] = defaultdict(list)
    for r in feedback:
        assert r.channel is not None and r.satisfaction is not None
        by_channel[r.channel].append(r.satisfaction)
    assert mean(by_channel[Channel.IN_PERSON]) > mean(by_channel[Channel.PHONE])
    assert len(set(r.satisfaction for r in feedback)) == 5


def test_some_comments_embed_the_persons_own_identifiers(deliveries: list[Delivery]) -> None:
    with_own = 0
    for d in _firsts(deliveries):
        r = d.record
        if not r.free_text:
            continue
        own = [v for v in (r.phone, r.email, r.application_id) if v] + [
            r.first_name.split()[0].lower()
        ]
        with_own += any(value.lower() in r.free_text.lower() for value in own)
    assert with_own >= 3


def test_identities_are_untidy_but_plausible(deliveries: list[Delivery]) -> None:
    rows = [d.row for d in _firsts(deliveries)]
    records = [d.record for d in _firsts(deliveries)]
    assert any(not str(row["last_name"]).isascii() for row in rows)
    assert any("'" in str(row["last_name"]) or "-" in str(row["last_name"]) for row in rows)
    assert any(r.zip[:3] in RESTRICTED_ZIP3 for r in records)
    assert any(r.zip[:3] not in RESTRICTED_ZIP3 for r in records)
    dobs = {str(row["date_of_birth"]) for row in rows}
    assert any("/" in dob for dob in dobs)  # MM/DD/YYYY
    assert any("-" in dob for dob in dobs)  # YYYY-MM-DD
    assert any(dob.isdigit() for dob in dobs)  # YYYYMMDD
    for r in records:
        assert r.email is None or r.email.rsplit("@", 1)[1].startswith("example.")
        assert r.phone is None or "555" in r.phone
        if r.agency in SSN_LESS_AGENCIES:
            assert r.ssn is None
        else:
            assert r.ssn is not None and 773 <= int(r.ssn[:3]) <= 899


def test_some_people_live_two_life_experiences_at_fitting_ages(
    deliveries: list[Delivery],
) -> None:
    lives: dict[int, set[str]] = defaultdict(set)
    for d in deliveries:
        r = d.record
        lives[d.person].add(r.life_experience)
        youngest, oldest = life_experience_profile(r.life_experience).ages
        first_event = r.occurred_at.date()
        age = first_event.year - r.date_of_birth.year
        assert youngest - 1 <= age <= oldest + 2  # journeys run on past a birthday
    twice = [p for p, les in lives.items() if len(les) > 1]
    assert 0.02 < len(twice) / len(lives) < 0.2


@pytest.mark.parametrize("life_experience", ["having-a-child"])
def test_having_a_child_records_are_about_the_parent(
    deliveries: list[Delivery], life_experience: str
) -> None:
    for d in deliveries:
        r = d.record
        if r.life_experience == life_experience:
            assert (r.occurred_at.date() - r.date_of_birth).days > 17 * 365
