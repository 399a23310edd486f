"""What one publish reports: sent to Kafka (partition, offset) or kept in the spool."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

__all__ = ["DeliveryResult", "DeliveryStatus"]


class DeliveryStatus(StrEnum):
    """Where a published event is: acknowledged by Kafka, or durably in the outage spool."""

    SENT = "sent"
    SPOOLED = "spooled"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one publish. ``partition``/``offset`` are set when ``SENT``."""

    event_id: UUID
    status: DeliveryStatus
    topic: str
    partition: int | None = None
    offset: int | None = None
