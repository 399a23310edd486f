"""Closed vocabularies shared by the event contracts, the catalog and the joined contracts.

Every value here travels on the wire, so renaming one is a breaking change:
add members, never rename them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "STAGE_ORDER",
    "ApplicationState",
    "Channel",
    "JourneyStatus",
    "Outcome",
    "Stage",
    "stage_rank",
]


class Stage(StrEnum):
    """Where along a service journey an event happened (DOMAIN.md: typical service stages)."""

    DISCOVER = "discover"
    APPLY = "apply"
    DOCUMENTS = "documents"
    DECISION = "decision"
    RECEIVE = "receive"
    FOLLOW_UP = "follow-up"


#: Stages in the order a customer normally passes them.
STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


def stage_rank(stage: Stage) -> int:
    """Position of ``stage`` along a journey (0 = discover); "furthest stage" compares ranks."""
    return STAGE_ORDER.index(stage)


class Channel(StrEnum):
    """How the customer reached the service."""

    WEB = "web"
    MOBILE = "mobile"
    PHONE = "phone"
    IN_PERSON = "in-person"
    MAIL = "mail"
    CHAT = "chat"


class Outcome(StrEnum):
    """How one service interaction ended."""

    COMPLETED = "completed"
    ABANDONED = "abandoned"
    ESCALATED = "escalated"
    FAILED = "failed"


class ApplicationState(StrEnum):
    """Status of an application for a benefit or service."""

    SUBMITTED = "submitted"
    IN_REVIEW = "in-review"
    MORE_INFO_REQUESTED = "more-info-requested"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


class JourneyStatus(StrEnum):
    """State of a joined journey as the joiner sees it."""

    ACTIVE = "active"
    COMPLETED = "completed"
    STALLED = "stalled"
    EXPIRED = "expired"
