"""The data-team SDK: typed journey snapshots and dead letters from Kafka (``read_committed``).

A reader follows the tier of the principal it runs as (``broker/access.toml``): the default
tier reads the k-protected journeys (``cx.protected.<le>``, :class:`ProtectedSnapshot`), the
restricted tier the fine ones (``cx.joined.<le>``, :class:`JourneySnapshot`). The ACLs
enforce the tiers; this only picks the topic the principal may read.

Snapshots of either tier are verified before they are yielded
(:class:`~consumers.verified.VerifiedReader`: CloudEvents headers, the joiner deployment's
signature, the contract): a record that fails is skipped and reported (``on_rejected`` or a
log line) by coordinates and reason only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from broker.security.errors import denied_as
from broker.security.plan import Tier, tier_of
from broker.security.probe import authenticated
from broker.security.profile import load_settings
from broker.settings import Settings
from consumers.errors import JoinerError, RecordRejected
from consumers.joiner.validate import DLQ_DETAIL, DLQ_OFFSET, DLQ_PARTITION, DLQ_REASON, DLQ_TOPIC
from consumers.verified import Rejection, VerifiedReader, kafka_time
from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = [
    "DeadLetter",
    "Delivered",
    "Rejection",
    "journey_topic",
    "journeys",
    "reader_tier",
    "subscribe",
    "subscribe_deadletters",
]

log = logging.getLogger("cx.subscribe")


@dataclass(frozen=True, slots=True)
class Delivered:
    """A verified snapshot with where it was read: coordinates, Kafka time and its
    CloudEvents headers as text (ids, source, times, key id, signature: no payload value)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    headers: tuple[tuple[str, str], ...]
    snapshot: JourneySnapshot | ProtectedSnapshot


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
    settings: Settings,
    topic: str,
    group: str | None,
    from_beginning: bool,
    reader: str,
    partition: int | None = None,
    offset: int | None = None,
) -> Any:
    """A started consumer of ``topic``; Kafka refusals become one-line :class:`AccessDenied`
    naming the principal that may read (``reader``) and, for a group, the names it may use.
    A consumer that fails to start is closed (no "Unclosed AIOKafkaConsumer").

    With ``partition`` it reads that partition only (no group), from ``offset`` if given."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    if partition is not None and group is not None:
        raise JoinerError("read one partition without a consumer group (drop --group)")
    if offset is not None and partition is None:
        raise JoinerError("an offset needs its partition (--partition)")

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
            *(() if partition is not None else (topic,)),
            group_id=group,
            enable_auto_commit=group is not None,
            isolation_level="read_committed",
            auto_offset_reset="earliest" if from_beginning else "latest",
            **settings.kafka_client_kwargs(),
        )
    try:
        with refused:
            async with authenticated(settings):  # a refused login is not an outage
                await consumer.start()
            if partition is not None:
                await _assign(consumer, TopicPartition(topic, partition), from_beginning, offset)
    except BaseException:
        await consumer.stop()
        raise
    return consumer


async def _assign(consumer: Any, tp: Any, from_beginning: bool, offset: int | None) -> None:
    """Read ``tp`` only, from ``offset`` (or its start or end)."""
    # The topic's partitions (aiokafka's own metadata wait; the consumer tracks no topic yet).
    known = await consumer._client._wait_on_metadata(tp.topic)
    if tp.partition not in known:
        raise JoinerError(f"topic {tp.topic} has partitions 0..{len(known) - 1}")
    consumer.assign([tp])
    if offset is not None:
        if offset < 0:
            raise JoinerError("an offset is 0 or more")
        consumer.seek(tp, offset)
    elif from_beginning:
        await consumer.seek_to_beginning(tp)
    else:
        await consumer.seek_to_end(tp)


def reader_tier(settings: Settings) -> Tier:
    """The tier of the principal ``settings`` connect as (see :func:`tier_of`)."""
    return tier_of(settings.sasl_username or None)


def journey_topic(settings: Settings, life_experience: str, tier: Tier) -> str:
    """The journey topic of ``life_experience`` a reader of ``tier`` reads."""
    topics = settings.topics
    return (
        topics.joined(life_experience)
        if tier == "restricted"
        else topics.protected(life_experience)
    )


async def subscribe(
    life_experience: str,
    *,
    group: str | None = None,
    settings: Settings | None = None,
    from_beginning: bool = True,
    tier: Tier | None = None,
    on_rejected: Callable[[Rejection], None] | None = None,
) -> AsyncIterator[JourneySnapshot | ProtectedSnapshot]:
    """Yield every committed, verified journey snapshot of ``life_experience``.

    ``settings`` default to :func:`broker.load_settings` (``CX_*``, ``CX_PROFILE``). A
    refusal by Kafka raises :class:`~broker.errors.AccessDenied` (one line: which principal
    may read, which group names it may use).

    The tier of the principal (or ``tier``) decides what: :class:`ProtectedSnapshot`
    (default tier) or :class:`JourneySnapshot` (restricted tier). With ``group`` the
    position is kept in that consumer group (a restart resumes); without it every call
    reads from the start (or only new records). A record that is not a snapshot signed by
    a joiner deployment of the public keyring (see :mod:`consumers.verified`) is skipped
    and reported by partition, offset and reason: to ``on_rejected`` if given, else as a
    log warning; its key and value are never shown.
    """
    source = journeys(
        life_experience,
        group=group,
        settings=settings,
        from_beginning=from_beginning,
        tier=tier,
        on_rejected=on_rejected,
    )
    try:
        async for delivered in source:
            yield delivered.snapshot
    finally:
        await source.aclose()


async def journeys(
    life_experience: str,
    *,
    group: str | None = None,
    settings: Settings | None = None,
    from_beginning: bool = True,
    tier: Tier | None = None,
    on_rejected: Callable[[Rejection], None] | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> AsyncGenerator[Delivered, None]:
    """As :func:`subscribe`, with where each snapshot was read (:class:`Delivered`);
    ``partition`` (and ``offset``) read one partition only, without a group."""
    try:
        load_catalog().life_experience(life_experience)
    except UnknownEntry:
        raise JoinerError(
            "unknown life experience; `cxbroker catalog life-experiences` lists the ids"
        ) from None
    settings = settings or load_settings()
    tier = tier or reader_tier(settings)
    protected = tier != "restricted"
    topic = journey_topic(settings, life_experience, tier)
    reader = VerifiedReader(settings.keyring_path)
    reader.load_keyring()
    consumer = await _consumer(settings, topic, group, from_beginning, READER, partition, offset)
    try:
        async for record in consumer:
            if record.value is None:
                continue  # a tombstone: the journey was forgotten
            try:
                snapshot = reader.journey(
                    record.key,
                    record.value,
                    record.headers or (),
                    protected=protected,
                    at=kafka_time(record.timestamp),
                )
            except RecordRejected as exc:
                rejection = Rejection(
                    record.topic, record.partition, record.offset, exc.reason, str(exc)
                )
                if on_rejected is not None:
                    on_rejected(rejection)
                else:
                    log.warning(
                        "rejected a snapshot at partition %d offset %d: %s",
                        record.partition,
                        record.offset,
                        exc.reason,
                    )
                continue
            yield Delivered(
                record.topic,
                record.partition,
                record.offset,
                record.timestamp,
                tuple((name, value.decode("utf-8", "replace")) for name, value in record.headers),
                snapshot,
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
