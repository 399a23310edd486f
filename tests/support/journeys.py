"""Seeded synthetic journeys over every life experience of the catalog (shared test helper)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from contracts import ApplicationStatus, Feedback, ServiceInteraction, journey_token_from_digest
from contracts.catalog import load_catalog
from contracts.events import CxEvent

__all__ = ["T0", "make_event", "make_workload", "token"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def token(rng: random.Random) -> str:
    """A random journey token."""
    return journey_token_from_digest(rng.randbytes(32))


def make_event(
    kind: str,
    *,
    agency: str,
    service_id: str,
    life_experience: str,
    journey_token: str,
    at: datetime,
    event_id: UUID,
    **fields: Any,
) -> CxEvent:
    """One valid event of ``kind`` (``interaction``, ``status`` or ``feedback``)."""
    common: dict[str, Any] = {
        "event_id": event_id,
        "agency": agency,
        "life_experience": life_experience,
        "journey_token": journey_token,
        "token_rule": "ssn-dob",
        "linkage_key_id": f"{life_experience}-link-1",
        "occurred_at": at,
        "service_id": service_id,
        "age_band": "25-29",
    }
    if kind == "interaction":
        defaults: dict[str, Any] = {
            "stage": "apply",
            "channel": "web",
            "started_at": at - timedelta(minutes=10),
            "ended_at": at,
            "outcome": "completed",
            "wait_seconds": 30.0,
            "attempt": 1,
        }
        return ServiceInteraction(**{**common, **defaults, **fields})
    if kind == "status":
        defaults = {"application_token": journey_token, "status": "submitted"}
        return ApplicationStatus(**{**common, **defaults, **fields})
    defaults = {"channel": "mobile", "stage": "receive", "satisfaction": 4}
    return Feedback(**{**common, **defaults, **fields})


def make_workload(
    seed: int,
    journeys_per_life_experience: int = 12,
    *,
    start: datetime = T0,
    span: timedelta = timedelta(days=20),
) -> list[CxEvent]:
    """Events of several journeys per life experience, in event-time order.

    Every event lies in ``[start, start + span)``. Journeys walk the catalog's agencies
    in order, reach a random stage at each, and sometimes file an application and give
    feedback, so completed, pending and abandoned journeys all occur.
    """
    rng = random.Random(seed)
    catalog = load_catalog()
    events: list[CxEvent] = []
    span_us = int(span.total_seconds() * 1_000_000)
    for le in catalog.life_experiences:
        for _ in range(journeys_per_life_experience):
            journey = token(rng)
            at = start + timedelta(microseconds=rng.randrange(span_us // 2))
            end = start + span - timedelta(seconds=1)
            agencies = le.participants[: rng.randint(1, len(le.participants))]
            for participant in agencies:
                service = catalog.service(rng.choice(participant.services))
                depth = rng.randint(1, len(service.stages))
                for stage in service.stages[:depth]:
                    at = min(at + timedelta(hours=rng.randint(1, 30)), end)
                    events.append(
                        make_event(
                            "interaction",
                            agency=participant.agency,
                            service_id=service.id,
                            life_experience=le.id,
                            journey_token=journey,
                            at=at,
                            event_id=UUID(int=rng.getrandbits(128), version=4),
                            stage=stage.value,
                            outcome=rng.choice(["completed", "completed", "abandoned", "failed"]),
                            wait_seconds=float(rng.randint(0, 3600)),
                        )
                    )
                    if stage.value == "apply" and rng.random() < 0.6:
                        at = min(at + timedelta(minutes=rng.randint(1, 90)), end)
                        events.append(
                            make_event(
                                "status",
                                agency=participant.agency,
                                service_id=service.id,
                                life_experience=le.id,
                                journey_token=journey,
                                at=at,
                                event_id=UUID(int=rng.getrandbits(128), version=4),
                                status=rng.choice(["submitted", "in-review", "approved"]),
                            )
                        )
                if rng.random() < 0.4:
                    at = min(at + timedelta(hours=rng.randint(1, 12)), end)
                    events.append(
                        make_event(
                            "feedback",
                            agency=participant.agency,
                            service_id=service.id,
                            life_experience=le.id,
                            journey_token=journey,
                            at=at,
                            event_id=UUID(int=rng.getrandbits(128), version=4),
                            satisfaction=rng.randint(1, 5),
                            trust=rng.randint(1, 5),
                        )
                    )
    events.sort(key=lambda e: (e.occurred_at, str(e.event_id)))
    return events
