"""The state of one journey: a commutative aggregate of its events.

Every field is a min, max, sum, count or "latest by (event time, event id)", so the
state after a set of events does not depend on the order they arrived in: events are
placed where their event time puts them. Only ``late_events`` (arrival-order facts) and
``version`` (one per snapshot) depend on history. The state serializes to compact JSON
for the store and the changelog; times are integer microseconds since the epoch, so a
round trip is exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import to_json

from consumers.journey.rules import LifeExperienceRules, duration_micros
from contracts.events import A11_DRIVERS, ApplicationStatus, CxEvent, Feedback, ServiceInteraction
from contracts.joined import AgencyStep, DriverAverages, EventCounts, JourneySnapshot
from contracts.vocabulary import STAGE_ORDER, ApplicationState, JourneyStatus, Outcome, stage_rank

__all__ = [
    "AgencyAggregate",
    "JourneyState",
    "from_micros",
    "journey_key",
    "to_micros",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Where an application status puts the applicant along the service journey.
_APPLICATION_STAGE: dict[ApplicationState, int] = {
    ApplicationState.SUBMITTED: stage_rank(STAGE_ORDER[1]),  # apply
    ApplicationState.WITHDRAWN: stage_rank(STAGE_ORDER[1]),
    ApplicationState.MORE_INFO_REQUESTED: stage_rank(STAGE_ORDER[2]),  # documents
    ApplicationState.IN_REVIEW: stage_rank(STAGE_ORDER[3]),  # decision
    ApplicationState.APPROVED: stage_rank(STAGE_ORDER[3]),
    ApplicationState.DENIED: stage_rank(STAGE_ORDER[3]),
}


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch (exact)."""
    return duration_micros(moment - _EPOCH)


def from_micros(micros: int) -> datetime:
    """Inverse of :func:`to_micros` (UTC)."""
    return _EPOCH + timedelta(microseconds=micros)


def journey_key(life_experience: str, journey_token: str) -> str:
    """The store and changelog key of a journey: ``<life experience>|<token>``."""
    return f"{life_experience}|{journey_token}"


@dataclass(slots=True)
class AgencyAggregate:
    """What a journey did at one agency."""

    first_us: int
    last_us: int
    events: int = 0
    #: Rank of the furthest stage reached there (-1: no event named a stage).
    stage: int = -1


def _later(current: list[Any] | None, candidate: list[Any]) -> list[Any]:
    # "Latest" is by (event time, event id): a total order, so arrival order cannot matter.
    if current is None or (candidate[0], candidate[1]) > (current[0], current[1]):
        return candidate
    return current


@dataclass(slots=True)
class JourneyState:
    """Everything the joiner keeps about one (life experience, journey token)."""

    life_experience: str
    journey_token: str
    first_us: int = 0
    last_us: int = 0
    agencies: dict[str, AgencyAggregate] = field(default_factory=dict)
    service_interactions: int = 0
    application_statuses: int = 0
    feedbacks: int = 0
    #: [time_us, event_id, value] of the latest service interaction / application status.
    outcome: list[Any] | None = None
    application: list[Any] | None = None
    driver_sums: dict[str, int] = field(default_factory=dict)
    driver_counts: dict[str, int] = field(default_factory=dict)
    late_events: int = 0
    version: int = 0
    closed: bool = False
    #: Ids of every event folded in: the dedup set, kept with the journey so it survives
    #: restarts and travels through the changelog.
    seen: set[str] = field(default_factory=set)
    #: The group key it was released into on the default tier (None: not released); kept
    #: with the journey so the release gate is rebuilt from the store alone.
    protected: str | None = None

    @property
    def key(self) -> str:
        """The store key of this journey."""
        return journey_key(self.life_experience, self.journey_token)

    @property
    def empty(self) -> bool:
        """True before the first event."""
        return not self.seen

    def close_at(self, rules: LifeExperienceRules) -> int:
        """Stream time (µs) after which the journey closes if nothing else arrives."""
        return self.last_us + rules.window_us

    def apply(self, event: CxEvent, grace_us: int) -> bool:
        """Fold ``event`` in; return True when it was late (more than grace behind).

        The caller has checked ``event.event_id`` against :attr:`seen`.
        """
        at = to_micros(event.occurred_at)
        event_id = str(event.event_id)
        late = not self.empty and at < self.last_us - grace_us
        if late:
            self.late_events += 1
        if self.empty:
            self.first_us = self.last_us = at
        else:
            self.first_us = min(self.first_us, at)
            self.last_us = max(self.last_us, at)
        self.seen.add(event_id)

        agency = self.agencies.get(event.agency)
        if agency is None:
            agency = self.agencies[event.agency] = AgencyAggregate(first_us=at, last_us=at)
        agency.first_us = min(agency.first_us, at)
        agency.last_us = max(agency.last_us, at)
        agency.events += 1

        if isinstance(event, ServiceInteraction):
            self.service_interactions += 1
            agency.stage = max(agency.stage, stage_rank(event.stage))
            self.outcome = _later(self.outcome, [at, event_id, event.outcome.value])
        elif isinstance(event, ApplicationStatus):
            self.application_statuses += 1
            agency.stage = max(agency.stage, _APPLICATION_STAGE[event.status])
            self.application = _later(self.application, [at, event_id, event.status.value])
        elif isinstance(event, Feedback):
            self.feedbacks += 1
            if event.stage is not None:
                agency.stage = max(agency.stage, stage_rank(event.stage))
            for driver in A11_DRIVERS:
                answer = getattr(event, driver, None)
                if answer is not None:
                    self.driver_sums[driver] = self.driver_sums.get(driver, 0) + answer
                    self.driver_counts[driver] = self.driver_counts.get(driver, 0) + 1
        return late

    def furthest_stages(self) -> dict[str, int]:
        """Furthest stage rank per agency."""
        return {name: agg.stage for name, agg in self.agencies.items()}

    def status(self, rules: LifeExperienceRules) -> JourneyStatus:
        """Status by the life experience's rules (see :meth:`LifeExperienceRules.status`)."""
        application = ApplicationState(self.application[2]) if self.application else None
        return rules.status(self.furthest_stages(), application, closed=self.closed)

    def snapshot(self, rules: LifeExperienceRules) -> JourneySnapshot:
        """The published view of this state (at its current :attr:`version`)."""
        order = sorted(
            self.agencies.items(), key=lambda item: (item[1].first_us, rules.agency_order(item[0]))
        )
        steps = tuple(
            AgencyStep(
                agency=name,
                stage=STAGE_ORDER[max(agg.stage, 0)],
                first_event_at=from_micros(agg.first_us),
                last_event_at=from_micros(agg.last_us),
                events=agg.events,
            )
            for name, agg in order
        )
        drivers = DriverAverages(
            responses=self.feedbacks,
            **{d: self.driver_sums[d] / n for d, n in self.driver_counts.items() if n},
        )
        return JourneySnapshot(
            journey_token=self.journey_token,
            life_experience=self.life_experience,
            agencies=steps,
            first_event_at=from_micros(self.first_us),
            last_event_at=from_micros(self.last_us),
            elapsed_seconds=(self.last_us - self.first_us) / 1_000_000,
            event_counts=EventCounts(
                total=len(self.seen),
                service_interaction=self.service_interactions,
                application_status=self.application_statuses,
                feedback=self.feedbacks,
            ),
            outcome=Outcome(self.outcome[2]) if self.outcome else None,
            application_status=ApplicationState(self.application[2]) if self.application else None,
            drivers=drivers,
            status=self.status(rules),
            snapshot_version=self.version,
            late_events=self.late_events,
        )

    def snapshot_json(self, rules: LifeExperienceRules) -> bytes:
        """``self.snapshot(rules).model_dump_json()`` as bytes, without building the models.

        The same fields in the same order, serialized by pydantic-core (so datetimes and
        floats are written exactly as the model would write them); a property test holds
        the two byte for byte. Only values the model would accept are produced here: the
        state is built from validated events.
        """
        order = sorted(
            self.agencies.items(), key=lambda item: (item[1].first_us, rules.agency_order(item[0]))
        )
        counts = self.driver_counts
        sums = self.driver_sums
        data = {
            "journey_token": self.journey_token,
            "life_experience": self.life_experience,
            "agencies": [
                {
                    "agency": name,
                    "stage": STAGE_ORDER[max(agg.stage, 0)],
                    "first_event_at": from_micros(agg.first_us),
                    "last_event_at": from_micros(agg.last_us),
                    "events": agg.events,
                }
                for name, agg in order
            ],
            "first_event_at": from_micros(self.first_us),
            "last_event_at": from_micros(self.last_us),
            "elapsed_seconds": (self.last_us - self.first_us) / 1_000_000,
            "event_counts": {
                "total": len(self.seen),
                "service_interaction": self.service_interactions,
                "application_status": self.application_statuses,
                "feedback": self.feedbacks,
            },
            "outcome": self.outcome[2] if self.outcome else None,
            "application_status": self.application[2] if self.application else None,
            "drivers": {
                "responses": self.feedbacks,
                **{d: sums[d] / counts[d] if counts.get(d) else None for d in A11_DRIVERS},
            },
            "status": self.status(rules).value,
            "snapshot_version": self.version,
            "late_events": self.late_events,
        }
        return to_json(data)

    def to_json(self) -> bytes:
        """Compact JSON (sorted dedup set, so equal states give equal bytes)."""
        data = {
            "le": self.life_experience,
            "token": self.journey_token,
            "first": self.first_us,
            "last": self.last_us,
            "agencies": {
                name: [a.first_us, a.last_us, a.events, a.stage]
                for name, a in sorted(self.agencies.items())
            },
            "counts": [self.service_interactions, self.application_statuses, self.feedbacks],
            "outcome": self.outcome,
            "application": self.application,
            "driver_sums": dict(sorted(self.driver_sums.items())),
            "driver_counts": dict(sorted(self.driver_counts.items())),
            "late": self.late_events,
            "version": self.version,
            "closed": self.closed,
            "seen": sorted(self.seen),
        }
        if self.protected is not None:
            data["protected"] = self.protected
        # pydantic-core writes the same compact bytes as json.dumps(separators=(",", ":"))
        # for these values (ASCII strings, ints, lists, None, bools), in a fraction of the
        # time; a unit test holds the two equal over a workload.
        return to_json(data)

    @classmethod
    def from_json(cls, raw: bytes) -> JourneyState:
        """Inverse of :meth:`to_json`."""
        data = json.loads(raw)
        si, app, fb = data["counts"]
        return cls(
            life_experience=data["le"],
            journey_token=data["token"],
            first_us=data["first"],
            last_us=data["last"],
            agencies={
                name: AgencyAggregate(first, last, events, stage)
                for name, (first, last, events, stage) in data["agencies"].items()
            },
            service_interactions=si,
            application_statuses=app,
            feedbacks=fb,
            outcome=data["outcome"],
            application=data["application"],
            driver_sums=data["driver_sums"],
            driver_counts=data["driver_counts"],
            late_events=data["late"],
            version=data["version"],
            closed=data["closed"],
            seen=set(data["seen"]),
            protected=data.get("protected"),
        )
