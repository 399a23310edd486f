"""A-11 post-transaction survey answers, and the free text people type into them.

Scores come from one latent impression per response: the agency's level, the channel
(phone lowest, in person highest), how the contact ended, the wait, and how the journey has
gone so far (a denial or a request for more documents sours it). Each driver is the latent
value plus its own noise, rounded to the 5-point scale, and left blank now and then.

Some comments carry the respondent's own identifiers, the way real ones do ("this is Maria
Núñez, call me at 850-555-0137"): the de-identifier has to scrub them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from contracts.vocabulary import Channel, Outcome
from producers.simulator.draw import chance
from producers.simulator.people import Person

__all__ = ["FeedbackDraw", "draw_feedback"]

# Chance a survey is offered after a contact, then the chance it is answered.
_OFFERED: Final[dict[Channel, float]] = {
    Channel.WEB: 0.35,
    Channel.MOBILE: 0.35,
    Channel.PHONE: 0.30,
    Channel.IN_PERSON: 0.25,
    Channel.MAIL: 0.05,
    Channel.CHAT: 0.40,
}
_ANSWERED: Final = 0.35
_CHANNEL_EFFECT: Final[dict[Channel, float]] = {
    Channel.WEB: 0.1,
    Channel.MOBILE: 0.15,
    Channel.PHONE: -0.35,
    Channel.IN_PERSON: 0.25,
    Channel.MAIL: -0.2,
    Channel.CHAT: 0.0,
}
_OUTCOME_EFFECT: Final[dict[Outcome, float]] = {
    Outcome.COMPLETED: 0.3,
    Outcome.ABANDONED: -1.2,
    Outcome.ESCALATED: -0.6,
    Outcome.FAILED: -1.4,
}
# Per driver: offset from the latent impression, and how often it is left blank.
_DRIVERS: Final[dict[str, tuple[float, float]]] = {
    "satisfaction": (0.0, 0.02),
    "trust": (-0.25, 0.1),
    "effectiveness": (0.05, 0.15),
    "ease": (0.1, 0.15),
    "efficiency": (-0.2, 0.15),
    "equity_transparency": (0.1, 0.2),
    "employee_helpfulness": (0.3, 0.1),
    "humanity": (0.15, 0.5),
}
_STAFFED: Final = frozenset({Channel.PHONE, Channel.IN_PERSON, Channel.CHAT})
_COMMENT: Final = 0.4
_OWN_IDENTIFIERS: Final = 0.3

_POSITIVE: Final = (
    "Quick and easy, thank you.",
    "The agent on the line was patient and explained every step.",
    "Much better than last time, the form saved my progress.",
    "Staff at the office were kind and got it done in one visit.",
    "Clear instructions, I knew what to bring.",
)
_NEUTRAL: Final = (
    "It worked in the end but took longer than I expected.",
    "Okay overall. The letter was hard to understand.",
    "Fine, though I had to enter the same information twice.",
    "Got what I needed, the website could be simpler.",
)
_NEGATIVE: Final = (
    "I waited on hold for over an hour and got disconnected.",
    "The website kept timing out when I uploaded my documents.",
    "Nobody could tell me the status of my application.",
    "I was sent to three different offices for the same form.",
    "The app logged me out twice and I had to start over.",
    "Nobody explained why I was denied.",
)


@dataclass(frozen=True, slots=True)
class FeedbackDraw:
    """One survey response: the A-11 driver scores given, and the comment (raw, unscrubbed)."""

    scores: Mapping[str, int]
    free_text: str | None

    def __repr__(self) -> str:
        return f"FeedbackDraw(scores={dict(self.scores)!r}, <free text redacted>)"

    __str__ = __repr__


def _likert(value: float) -> int:
    return min(5, max(1, round(value)))


def _own_identifier_sentence(
    rng: random.Random, person: Person, identity: Mapping[str, Any], application_id: str | None
) -> str:
    """A sentence with one of the values the agency's record also holds."""
    options = [
        f"This is {person.first_name} {person.last_name}.",
        f"my name is {person.first_name.lower()} {person.last_name.lower()}, please fix this",
    ]
    if identity.get("phone"):
        options.append(f"Please call me back at {identity['phone']}.")
    if identity.get("email"):
        options.append(f"You can email me at {identity['email']}.")
    if identity.get("ssn"):
        s = person.ssn
        options.append(f"My SSN is {s[:3]}-{s[3:5]}-{s[5:]} if you need it.")
    if identity.get("street_address"):
        options.append(f"Mail went to {identity['street_address']}, {identity['city']} again.")
    if application_id is not None:
        options.append(f"My case number is {application_id}.")
    options.append(f"I was born {person.date_of_birth:%m/%d/%Y}.")
    return rng.choice(options)


def draw_feedback(
    rng: random.Random,
    *,
    person: Person,
    identity: Mapping[str, Any],
    agency_base: float,
    channel: Channel,
    outcome: Outcome,
    wait_seconds: float,
    mood: float,
    application_id: str | None,
) -> FeedbackDraw | None:
    """A survey response to one contact, or None when no survey was offered or answered."""
    if not (chance(rng, _OFFERED[channel]) and chance(rng, _ANSWERED)):
        return None
    latent = agency_base + _CHANNEL_EFFECT[channel] + _OUTCOME_EFFECT[outcome] + mood
    if channel is not Channel.MAIL and wait_seconds > 1800:
        latent -= 0.5
    latent += rng.gauss(0.0, 0.8)
    scores: dict[str, int] = {}
    for driver, (offset, blank) in _DRIVERS.items():
        if driver == "employee_helpfulness" and channel not in _STAFFED:
            continue
        if driver != "satisfaction" and chance(rng, blank):
            continue
        scores[driver] = _likert(latent + offset + rng.gauss(0.0, 0.5))
    text: str | None = None
    if chance(rng, _COMMENT):
        pool = _POSITIVE if latent >= 3.6 else _NEGATIVE if latent < 2.6 else _NEUTRAL
        text = rng.choice(pool)
        if chance(rng, _OWN_IDENTIFIERS):
            text = f"{text} {_own_identifier_sentence(rng, person, identity, application_id)}"
    return FeedbackDraw(scores, text)
