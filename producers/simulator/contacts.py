"""The contact model: how one service use goes, contact by contact.

A person reaches a service through a channel picked by the agency's mix, the stage and
their age; a contact waits (queue, hold, mail transit), then completes, fails, escalates
or is abandoned with per-channel odds; the person retries or gives up, answers a survey
now and then, and the application's status changes are recorded on the same clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from contracts.catalog import Service
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage
from producers.deid.raw import EventKind
from producers.simulator.draw import chance, lognormal_delay, lognormal_seconds, weighted
from producers.simulator.feedback import FeedbackDraw, draw_feedback
from producers.simulator.planned import _Journey
from producers.simulator.profiles import AgencyProfile, ServiceProfile

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
