"""Builders of valid synthetic contract instances, shared by the contracts tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from contracts import (
    ApplicationStatus,
    Feedback,
    JourneySnapshot,
    ServiceInteraction,
    journey_token_from_digest,
)
from contracts.insights import InsightCell

TOKEN = journey_token_from_digest(bytes(range(32)))
APP_TOKEN = journey_token_from_digest(bytes(range(32, 64)))
T0 = datetime(2026, 4, 3, 14, 30, tzinfo=UTC)


def common(**overrides: Any) -> dict[str, Any]:
    """Fields every event needs."""
    fields: dict[str, Any] = {
        "event_id": UUID("0b9a6b3e-6f0c-4c1e-9d7a-3f2d7e1c5a10"),
        "agency": "usda-fns",
        "life_experience": "having-a-child",
        "journey_token": TOKEN,
        "token_rule": "ssn-dob",
        "linkage_key_id": "usda-fns-link-2026",
        "occurred_at": T0,
        "age_band": "25-29",
        "zip3": "200",
        "state": "DC",
    }
    fields.update(overrides)
    return fields


class Samples:
    """Builders of valid events; keyword overrides replace fields."""

    def interaction(self, **overrides: Any) -> ServiceInteraction:
        fields = common(
            service_id="usda-fns.wic",
            stage="apply",
            channel="web",
            started_at=T0 - timedelta(minutes=20),
            ended_at=T0,
            outcome="completed",
            wait_seconds=95.5,
            attempt=1,
        )
        fields.update(overrides)
        return ServiceInteraction(**fields)

    def status(self, **overrides: Any) -> ApplicationStatus:
        fields = common(
            service_id="usda-fns.wic",
            application_token=APP_TOKEN,
            status="more-info-requested",
            reason_code="MISSING-DOCS",
        )
        fields.update(overrides)
        return ApplicationStatus(**fields)

    def feedback(self, **overrides: Any) -> Feedback:
        fields = common(
            service_id="usda-fns.wic",
            channel="mobile",
            stage="receive",
            satisfaction=4,
            trust=5,
            ease=3,
            humanity=4,
            comment="The clinic visit was quick and the staff explained everything.",
        )
        fields.update(overrides)
        return Feedback(**fields)

    def all_events(self) -> tuple[ServiceInteraction | ApplicationStatus | Feedback, ...]:
        return (self.interaction(), self.status(), self.feedback())


def snapshot(**overrides: Any) -> JourneySnapshot:
    fields: dict[str, Any] = {
        "journey_token": TOKEN,
        "life_experience": "having-a-child",
        "agencies": [
            {
                "agency": "ssa",
                "stage": "receive",
                "first_event_at": T0,
                "last_event_at": T0 + timedelta(days=9),
                "events": 3,
            },
            {
                "agency": "usda-fns",
                "stage": "apply",
                "first_event_at": T0 + timedelta(days=2),
                "last_event_at": T0 + timedelta(days=2),
                "events": 1,
            },
        ],
        "first_event_at": T0,
        "last_event_at": T0 + timedelta(days=9),
        "elapsed_seconds": 9 * 86400.0,
        "event_counts": {"total": 4, "service_interaction": 3, "feedback": 1},
        "outcome": "completed",
        "drivers": {"responses": 1, "satisfaction": 4.0},
        "status": "active",
        "snapshot_version": 4,
    }
    fields.update(overrides)
    return JourneySnapshot(**fields)


def cell(**overrides: Any) -> InsightCell:
    fields: dict[str, Any] = {
        "life_experience": "having-a-child",
        "period_kind": "week",
        "period": "2026-W14",
        "agency": "usda-fns",
        "stage": "apply",
        "metric": "journeys-started",
        "value": 42.0,
        "count": 42,
        "suppressed": False,
    }
    fields.update(overrides)
    return InsightCell(**fields)
