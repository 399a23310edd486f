"""The data-team SDK: typed journey snapshots and dead letters from Kafka (``read_committed``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from broker.security.errors import denied_as
from broker.security.profile import load_settings
from broker.settings import Settings
from consumers.errors import JoinerError
from consumers.joiner.validate import DLQ_DETAIL, DLQ_OFFSET, DLQ_PARTITION, DLQ_REASON, DLQ_TOPIC
from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.joined import JourneySnapshot

__all__ = ["DeadLetter", "subscribe", "subscribe_deadletters"]

log = logging.getLogger("cx.subscribe")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected record's reason and source coordinates (never its payload)."""

    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    deadletter_offset: int


#: Who may read what: the access plan's principal for each kind of topic.
READER: Final = "team-analytics"
DEADLETTER_READER: Final = "admin"


async def _consumer(
    settings: Settings, topic: str, group: str | None, from_beginning: bool, reader: str
) -> Any:
    """A started consumer of ``topic``; Kafka refusals become one-line :class:`AccessDenied`
    naming the principal that may read (``reader``) and, for a group, the names it may use.
    A consumer that fails to start is closed (no "Unclosed AIOKafkaConsumer")."""
    from aiokafka import AIOKafkaConsumer

    refused = denied_as(
        settings.sasl_username,
        "read",
        f"topic {topic}",
        needed=reader,
        group=group,
        prefix=settings.topic_prefix,
    )
    with refused:
        consumer = AIOKafkaConsumer(
            topic,
            group_id=group,
            enable_auto_commit=group is not None,
            isolation_level="read_committed",
            auto_offset_reset="earliest" if from_beginning else "latest",
            **settings.kafka_client_kwargs(),
        )
    try:
        with refused:
            await consumer.start()
    except BaseException:
        await consumer.stop()
        raise
    return consumer


async def subscribe(
    life_experience: str,
    *,
    group: str | None = None,
    settings: Settings | None = None,
    from_beginning: bool = True,
) -> AsyncIterator[JourneySnapshot]:
    """Yield every committed :class:`JourneySnapshot` of ``life_experience`` as it arrives.

    ``settings`` default to :func:`broker.load_settings` (``CX_*``, ``CX_PROFILE``). A
    refusal by Kafka raises :class:`~broker.errors.AccessDenied` (one line: which principal
    may read, which group names it may use).

    With ``group`` the position is kept in that consumer group (a restart resumes);
    without it every call reads from the start (or only new records). Records that are
    not valid snapshots are logged by offset and skipped.
    """
    try:
        load_catalog().life_experience(life_experience)
    except UnknownEntry:
        raise JoinerError(
            "unknown life experience; `cxbroker catalog life-experiences` lists the ids"
        ) from None
    settings = settings or load_settings()
    consumer = await _consumer(
        settings, settings.topics.joined(life_experience), group, from_beginning, READER
    )
    try:
        async for record in consumer:
            if record.value is None:
                continue  # a tombstone: the journey was forgotten
            try:
                yield JourneySnapshot.model_validate_json(record.value)
            except ValidationError:
                log.warning(
                    "skipping an invalid snapshot at partition %d offset %d",
                    record.partition,
                    record.offset,
                )
    finally:
        await consumer.stop()


def _text(headers: dict[str, bytes], name: str) -> str:
    return headers.get(name, b"").decode("utf-8", "replace")


async def subscribe_deadletters(
    *, group: str | None = None, settings: Settings | None = None, from_beginning: bool = True
) -> AsyncIterator[DeadLetter]:
    """Yield the reason and source coordinates of every dead letter as it arrives."""
    settings = settings or load_settings()
    consumer = await _consumer(
        settings, settings.topics.deadletter, group, from_beginning, DEADLETTER_READER
    )
    try:
        async for record in consumer:
            headers = {name: value for name, value in record.headers or () if value is not None}
            yield DeadLetter(
                reason=_text(headers, DLQ_REASON),
                detail=_text(headers, DLQ_DETAIL),
                topic=_text(headers, DLQ_TOPIC),
                partition=int(_text(headers, DLQ_PARTITION) or -1),
                offset=int(_text(headers, DLQ_OFFSET) or -1),
                deadletter_offset=record.offset,
            )
    finally:
        await consumer.stop()
