"""One person's journey through a life experience, as the raw records each agency keeps.

A journey visits the life experience's agencies in the catalog's typical order. At each
agency the person uses one or more services and walks the service's own stages in order
(discover → apply → documents → decision → receive → follow-up, skipping what the service
does not have), with log-normal delays, retries after an abandoned or failed contact,
escalations, application-status changes (submitted → in-review → more-info-requested? →
approved / denied / withdrawn), and an A-11 survey answered now and then. People drop off:
before applying, after an abandoned application, or for good at a hand-off between two
agencies.

The result is a list of :class:`PlannedRecord` (event time, agency, the raw record's
columns); the engine orders and delivers them. Everything is drawn from the journey's own
``random.Random``, so a journey depends only on the seed and its number.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final

from contracts.catalog import load_catalog
from contracts.vocabulary import ApplicationState, Stage
from producers.simulator.contacts import _Service
from producers.simulator.draw import chance, lognormal_delay
from producers.simulator.people import Person
from producers.simulator.planned import PlannedRecord, _Journey
from producers.simulator.profiles import (
    DEFAULT_PARTICIPATION,
    agency_profile,
    life_experience_profile,
    service_profile,
)

__all__ = ["PlannedRecord", "plan_journey"]

_DISCOVER_FIRST: Final = 0.75
_QUIT_AFTER_FAILED_DISCOVERY: Final = 0.5
_DOCUMENTS_UP_FRONT: Final = 0.5
_NEVER_SENDS_DOCUMENTS: Final = 0.1
_WITHDRAW: Final = 0.03
_DECISION_CONTACT: Final = 0.7
_FOLLOW_UP: Final = 0.35
_APPEAL_CALL: Final = 0.3
_CONTINUE_AFTER_DROP: Final = 0.5
_EXTRA_SERVICE: Final = 0.5


def _walk(use: _Service) -> bool:
    """Walk one service's stages; False if the person dropped out along the way."""
    applies = use.has(Stage.APPLY) and use.has(Stage.DECISION)
    if not (_discover(use) and _apply(use, applies) and _send_documents(use, applies)):
        return False
    mood = 0.0
    if applies:
        reviewed = _review(use)
        if reviewed is None or not _decide(use, reviewed):
            return False
        mood = reviewed
    return _receive(use, mood)


def _discover(use: _Service) -> bool:
    """Look the service up first (usually); False if the person quit after failing to."""
    rng = use.rng
    if use.has(Stage.DISCOVER) and (not use.has(Stage.APPLY) or chance(rng, _DISCOVER_FIRST)):
        found = use.contact(Stage.DISCOVER)
        if not found and chance(rng, _QUIT_AFTER_FAILED_DISCOVERY):
            return False
        use.wait(timedelta(days=1), 1.2)
    return True


def _apply(use: _Service, applies: bool) -> bool:
    """Apply, and submit an application when a decision follows; False if given up."""
    rng = use.rng
    if use.has(Stage.APPLY):
        if not use.contact(Stage.APPLY):
            return False  # gave up on the application
        use.handoff_at = use.clock
        if applies:
            year = use.clock.year
            number = rng.randint(0, 9_999_999)
            use.application_id = f"{use.agency.application_prefix}-{year}-{number:07d}"
            use.status(ApplicationState.SUBMITTED)
    return True


def _send_documents(use: _Service, applies: bool) -> bool:
    """Send documents up front (sometimes); False if that failed and nothing is pending."""
    rng = use.rng
    if use.has(Stage.DOCUMENTS) and (not use.has(Stage.APPLY) or chance(rng, _DOCUMENTS_UP_FRONT)):
        use.wait(timedelta(days=2), 0.8)
        if not use.contact(Stage.DOCUMENTS) and not applies:
            return False
    return True


def _review(use: _Service) -> float | None:
    """The application in review, perhaps asked for more information.

    Returns the person's mood after it, or None when the application ended here (denied
    for missing documents, or withdrawn).
    """
    rng = use.rng
    profile = use.profile
    mood = 0.0
    use.wait(timedelta(days=2), 0.8)
    use.status(ApplicationState.IN_REVIEW)
    if chance(rng, profile.more_info_rate):
        use.wait(timedelta(days=5), 0.7)
        use.status(ApplicationState.MORE_INFO_REQUESTED, rng.choice(profile.more_info_reasons))
        mood -= 0.3
        use.wait(timedelta(days=3), 0.9)
        sent = (
            use.contact(Stage.DOCUMENTS, mood=mood)
            if use.has(Stage.DOCUMENTS)
            else use.contact(Stage.APPLY, mood=mood)
        )
        if not sent or chance(rng, _NEVER_SENDS_DOCUMENTS):
            use.wait(timedelta(days=30), 0.3)
            use.status(ApplicationState.DENIED, "MISSING-DOCS")
            return None
        use.wait(timedelta(days=1), 0.8)
        use.status(ApplicationState.IN_REVIEW)
    if chance(rng, _WITHDRAW):
        use.wait(timedelta(days=4), 1.0)
        use.status(ApplicationState.WITHDRAWN, "CUSTOMER-REQUEST")
        return None
    return mood


def _decide(use: _Service, mood: float) -> bool:
    """The decision, now and then a contact about it, after a denial perhaps an appeal call.

    True if approved: a denied application ends the service use.
    """
    rng = use.rng
    profile = use.profile
    use.wait(profile.decision_median, 0.5)
    approved = chance(rng, profile.approval_rate)
    if approved:
        use.status(ApplicationState.APPROVED)
    else:
        use.status(ApplicationState.DENIED, rng.choice(profile.denial_reasons))
        mood -= 1.0
    if chance(rng, _DECISION_CONTACT):
        use.wait(timedelta(days=2), 1.0)
        use.contact(Stage.DECISION, mood=mood)
    if not approved and use.has(Stage.FOLLOW_UP) and chance(rng, _APPEAL_CALL):
        use.wait(timedelta(days=7), 0.8)
        use.contact(Stage.FOLLOW_UP, mood=mood)
    return approved


def _receive(use: _Service, mood: float) -> bool:
    """Receive what was granted, then perhaps follow up; False if receiving failed."""
    rng = use.rng
    if use.has(Stage.RECEIVE):
        use.wait(timedelta(days=5), 0.8)
        if not use.contact(Stage.RECEIVE, mood=mood):
            return False
        use.handoff_at = use.handoff_at or use.clock
    if use.has(Stage.FOLLOW_UP) and chance(rng, _FOLLOW_UP):
        use.wait(timedelta(days=21), 0.6)
        use.contact(Stage.FOLLOW_UP, mood=mood)
    return True


def plan_journey(
    rng: random.Random, person: Person, life_experience: str, start: datetime
) -> list[PlannedRecord]:
    """Every raw record of one journey of ``person`` through ``life_experience``.

    Records are in planning order, not time order (services at two agencies overlap).
    Raises :class:`~contracts.errors.UnknownEntry` for a life experience not in the catalog.
    """
    catalog = load_catalog()
    le = catalog.life_experience(life_experience)
    le_profile = life_experience_profile(le.id)
    journey = _Journey(rng, person, le)
    clock = start
    visited = 0
    for participant in le.participants:
        odds = le_profile.participation.get(participant.agency, DEFAULT_PARTICIPATION)
        if visited and not chance(rng, odds):
            continue
        if visited and chance(rng, le_profile.stall_at_handoff):
            break  # stalled at the hand-off: the next agency never hears from them
        agency = agency_profile(participant.agency)
        services = [participant.services[0]] + [
            s for s in participant.services[1:] if chance(rng, _EXTRA_SERVICE)
        ]
        handoff: datetime | None = None
        kept_going = False
        service_clock = clock
        for service_id in services:
            use = _Service(
                journey,
                catalog.service(service_id),
                service_profile(service_id),
                agency,
                service_clock,
            )
            kept_going = _walk(use) or kept_going
            end = use.handoff_at or use.clock
            handoff = end if handoff is None else min(handoff, end)
            service_clock += lognormal_delay(rng, timedelta(days=3), 1.0)
        visited += 1
        if not kept_going and not chance(rng, _CONTINUE_AFTER_DROP):
            break
        clock = (handoff or clock) + lognormal_delay(
            rng, le_profile.handoff_median, 0.8, low=timedelta(hours=1)
        )
    return journey.records
