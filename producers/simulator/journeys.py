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
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from contracts.catalog import LifeExperience, Service, load_catalog
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage
from producers.deid.raw import EventKind
from producers.simulator.draw import chance, lognormal_delay, lognormal_seconds, weighted
from producers.simulator.feedback import FeedbackDraw, draw_feedback
from producers.simulator.people import Person
from producers.simulator.profiles import (
    DEFAULT_PARTICIPATION,
    AgencyProfile,
    ServiceProfile,
    agency_profile,
    life_experience_profile,
    service_profile,
)

__all__ = ["PlannedRecord", "plan_journey"]


@dataclass(frozen=True, slots=True)
class PlannedRecord:
    """One raw record a journey produces: when it happened, at which agency, its columns."""

    occurred_at: datetime
    agency: str
    #: Columns of :class:`~producers.deid.raw.RawRecord` (identity included), by field name.
    columns: Mapping[str, Any]


# Channel multipliers per stage: people look things up online, send documents by mail or
# bring them in, and receive cards and notices by mail.
_STAGE_CHANNELS: Final[dict[Stage, dict[Channel, float]]] = {
    Stage.DISCOVER: {
        Channel.WEB: 1.6,
        Channel.MOBILE: 1.6,
        Channel.MAIL: 0.1,
        Channel.IN_PERSON: 0.4,
    },
    Stage.APPLY: {},
    Stage.DOCUMENTS: {Channel.MAIL: 3.0, Channel.PHONE: 0.3, Channel.CHAT: 0.2},
    Stage.DECISION: {Channel.MAIL: 2.5, Channel.IN_PERSON: 0.3, Channel.CHAT: 0.5},
    Stage.RECEIVE: {Channel.MAIL: 2.5, Channel.PHONE: 0.5, Channel.CHAT: 0.3},
    Stage.FOLLOW_UP: {Channel.PHONE: 1.5, Channel.MAIL: 0.5},
}

# (abandoned, failed, escalated) chances per channel; completed is the rest.
_OUTCOME_ODDS: Final[dict[Channel, tuple[float, float, float]]] = {
    Channel.WEB: (0.10, 0.04, 0.01),
    Channel.MOBILE: (0.12, 0.05, 0.01),
    Channel.PHONE: (0.08, 0.02, 0.07),
    Channel.IN_PERSON: (0.03, 0.01, 0.04),
    Channel.MAIL: (0.02, 0.03, 0.0),
    Channel.CHAT: (0.08, 0.03, 0.10),
}
_STAGE_ABANDON: Final[dict[Stage, float]] = {
    Stage.DISCOVER: 1.5,
    Stage.APPLY: 1.2,
    Stage.DOCUMENTS: 1.0,
    Stage.DECISION: 0.3,
    Stage.RECEIVE: 0.3,
    Stage.FOLLOW_UP: 0.8,
}

# (median, sigma, cap) of the wait (queue, hold, mail transit) and of the contact itself.
_WAIT: Final[dict[Channel, tuple[float, float, float]]] = {
    Channel.WEB: (2.0, 0.8, 120.0),
    Channel.MOBILE: (1.5, 0.8, 120.0),
    Channel.PHONE: (540.0, 1.0, 4 * 3600.0),
    Channel.IN_PERSON: (1500.0, 0.7, 5 * 3600.0),
    Channel.MAIL: (5 * 86400.0, 0.5, 60 * 86400.0),
    Channel.CHAT: (90.0, 0.9, 3600.0),
}
_DURATION: Final[dict[Channel, tuple[float, float]]] = {
    Channel.WEB: (660.0, 0.6),
    Channel.MOBILE: (420.0, 0.6),
    Channel.PHONE: (720.0, 0.6),
    Channel.IN_PERSON: (1200.0, 0.5),
    Channel.MAIL: (60.0, 0.3),
    Channel.CHAT: (540.0, 0.5),
}
# A phone call on hold this long is abandoned twice as often.
_LONG_HOLD: Final = 1200.0

_MAX_ATTEMPTS: Final = 4
_RETRY_AFTER_FAILURE: Final = 0.6
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


@dataclass
class _Journey:
    """Mutable state while one journey is planned (local to :func:`plan_journey`)."""

    rng: random.Random
    person: Person
    life_experience: LifeExperience
    records: list[PlannedRecord] = field(default_factory=list)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, str | None] = field(default_factory=dict)

    def identity(self, agency: str) -> dict[str, Any]:
        """The person's identity columns as ``agency`` writes them (same at every event)."""
        if agency not in self.identities:
            profile = agency_profile(agency)
            columns = profile.identity.render(self.person)
            account = None
            if profile.account_prefix is not None:
                account = f"{profile.account_prefix}{self.rng.randint(10_000_000, 99_999_999)}"
            columns["account_number"] = account
            self.identities[agency] = columns
        return self.identities[agency]

    def emit(self, agency: str, at: datetime, facts: dict[str, Any]) -> None:
        """Add one record: identity, a deterministic event id, and the given facts."""
        columns = {
            **self.identity(agency),
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "agency": agency,
            "life_experience": self.life_experience.id,
            "occurred_at": at,
            **facts,
        }
        self.records.append(PlannedRecord(at, agency, columns))


@dataclass
class _Service:
    """One service use in progress: the clock and the application, if any."""

    journey: _Journey
    service: Service
    profile: ServiceProfile
    agency: AgencyProfile
    clock: datetime
    application_id: str | None = None
    handoff_at: datetime | None = None

    @property
    def agency_id(self) -> str:
        return self.service.agency

    @property
    def rng(self) -> random.Random:
        return self.journey.rng

    def has(self, stage: Stage) -> bool:
        return stage in self.service.stages

    def wait(self, median: timedelta, sigma: float = 0.9) -> None:
        """Let time pass before the next step."""
        self.clock += lognormal_delay(self.rng, median, sigma, low=timedelta(minutes=5))

    def channel(self, stage: Stage) -> Channel:
        forced = self.profile.forced_channels.get(stage)
        if forced is not None:
            return forced
        age = self.journey.person.age_on(self.clock.date())
        weights: dict[Channel, float] = {}
        for channel, weight in self.agency.channels.items():
            weight *= _STAGE_CHANNELS[stage].get(channel, 1.0)
            if age < 35 and channel is Channel.MOBILE:
                weight *= 2.0
            if age >= 60 and channel in (Channel.PHONE, Channel.MAIL):
                weight *= 1.4
            if age >= 60 and channel in (Channel.MOBILE, Channel.CHAT):
                weight *= 0.4
            weights[channel] = weight
        return weighted(self.rng, weights)

    def contact(self, stage: Stage, *, mood: float = 0.0) -> bool:
        """Contacts at ``stage`` until one completes or the person gives up; True if done."""
        attempt = 1
        escalated = False
        while True:
            channel = Channel.PHONE if escalated and chance(self.rng, 0.7) else self.channel(stage)
            outcome, ended, wait = self._one_contact(stage, channel, attempt)
            self._maybe_feedback(stage, channel, outcome, ended, wait, mood)
            self.clock = ended
            if outcome is Outcome.COMPLETED:
                return True
            if attempt >= _MAX_ATTEMPTS:
                return False
            escalated = outcome is Outcome.ESCALATED
            if escalated:
                self.wait(timedelta(hours=3), 1.0)  # a specialist or supervisor calls back
            elif chance(self.rng, _RETRY_AFTER_FAILURE):
                self.wait(timedelta(days=1), 1.2)
            else:
                return False
            attempt += 1

    def _one_contact(
        self, stage: Stage, channel: Channel, attempt: int
    ) -> tuple[Outcome, datetime, float]:
        rng = self.rng
        median, sigma, cap = _WAIT[channel]
        wait = round(lognormal_seconds(rng, median, sigma, high=cap), 1)
        abandon, fail, escalate = _OUTCOME_ODDS[channel]
        abandon *= _STAGE_ABANDON[stage]
        if channel is Channel.PHONE and wait > _LONG_HOLD:
            abandon *= 2.0
        draw = rng.random()
        if draw < abandon:
            outcome = Outcome.ABANDONED
        elif draw < abandon + fail:
            outcome = Outcome.FAILED
        elif draw < abandon + fail + escalate:
            outcome = Outcome.ESCALATED
        else:
            outcome = Outcome.COMPLETED
        talk_median, talk_sigma = _DURATION[channel]
        talk = lognormal_seconds(rng, talk_median, talk_sigma, low=15.0)
        if outcome is Outcome.ABANDONED:
            talk *= 0.3
        if channel is Channel.PHONE and outcome is Outcome.ABANDONED:
            talk = 0.0  # hung up while on hold
        started = self.clock
        ended = started + timedelta(seconds=round(wait + talk))
        self.journey.emit(
            self.agency_id,
            ended,
            {
                "kind": EventKind.SERVICE_INTERACTION.value,
                "service_id": self.service.id,
                "stage": stage.value,
                "channel": channel.value,
                "started_at": started,
                "ended_at": ended,
                "outcome": outcome.value,
                "wait_seconds": wait,
                "attempt": attempt,
            },
        )
        return outcome, ended, wait

    def _maybe_feedback(
        self,
        stage: Stage,
        channel: Channel,
        outcome: Outcome,
        ended: datetime,
        wait: float,
        mood: float,
    ) -> None:
        journey = self.journey
        draw: FeedbackDraw | None = draw_feedback(
            self.rng,
            person=journey.person,
            identity=journey.identity(self.agency_id),
            agency_base=self.agency.score_base,
            channel=channel,
            outcome=outcome,
            wait_seconds=wait,
            mood=mood,
            application_id=self.application_id,
        )
        if draw is None:
            return
        at = ended + lognormal_delay(
            self.rng, timedelta(minutes=20), 1.5, low=timedelta(minutes=1), high=timedelta(days=7)
        )
        journey.emit(
            self.agency_id,
            at,
            {
                "kind": EventKind.FEEDBACK.value,
                "service_id": self.service.id,
                "stage": stage.value,
                "channel": channel.value,
                **draw.scores,
                "free_text": draw.free_text,
            },
        )

    def status(self, state: ApplicationState, reason: str | None = None) -> None:
        """Record an application status change at the current time."""
        assert self.application_id is not None
        self.journey.emit(
            self.agency_id,
            self.clock,
            {
                "kind": EventKind.APPLICATION_STATUS.value,
                "service_id": self.service.id,
                "application_id": self.application_id,
                "status": state.value,
                "reason_code": reason,
            },
        )


def _walk(use: _Service) -> bool:
    """Walk one service's stages; False if the person dropped out along the way."""
    rng = use.rng
    profile = use.profile
    applies = use.has(Stage.APPLY) and use.has(Stage.DECISION)
    if use.has(Stage.DISCOVER) and (not use.has(Stage.APPLY) or chance(rng, _DISCOVER_FIRST)):
        found = use.contact(Stage.DISCOVER)
        if not found and chance(rng, _QUIT_AFTER_FAILED_DISCOVERY):
            return False
        use.wait(timedelta(days=1), 1.2)
    if use.has(Stage.APPLY):
        if not use.contact(Stage.APPLY):
            return False  # gave up on the application
        use.handoff_at = use.clock
        if applies:
            year = use.clock.year
            number = rng.randint(0, 9_999_999)
            use.application_id = f"{use.agency.application_prefix}-{year}-{number:07d}"
            use.status(ApplicationState.SUBMITTED)
    if use.has(Stage.DOCUMENTS) and (not use.has(Stage.APPLY) or chance(rng, _DOCUMENTS_UP_FRONT)):
        use.wait(timedelta(days=2), 0.8)
        if not use.contact(Stage.DOCUMENTS) and not applies:
            return False
    mood = 0.0
    if applies:
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
                return False
            use.wait(timedelta(days=1), 0.8)
            use.status(ApplicationState.IN_REVIEW)
        if chance(rng, _WITHDRAW):
            use.wait(timedelta(days=4), 1.0)
            use.status(ApplicationState.WITHDRAWN, "CUSTOMER-REQUEST")
            return False
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
        if not approved:
            if use.has(Stage.FOLLOW_UP) and chance(rng, _APPEAL_CALL):
                use.wait(timedelta(days=7), 0.8)
                use.contact(Stage.FOLLOW_UP, mood=mood)
            return False
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
