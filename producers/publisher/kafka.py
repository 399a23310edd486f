"""The publisher's producer: how it is made, started and aborted, and what its errors mean.

aiokafka's defaults are not what delivery with an outage spool needs: the producer is
idempotent with ``acks=all``, fails fast on a missing topic, and can be closed *without*
delivering what it still holds (those records are in the spool already).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    UnknownTopicOrPartitionError,
)

from broker.errors import AccessDenied, BrokerUnavailable, CxError
from broker.security.errors import access_denied_from, is_access_error
from broker.security.probe import authentication_failure
from broker.settings import Settings

__all__ = [
    "abort_producer",
    "explained",
    "new_producer",
    "refusal",
    "start_failure",
    "start_producer",
    "unavailable",
]


def new_producer(settings: Settings, *, send_timeout: float, linger_ms: int) -> AIOKafkaProducer:
    """An idempotent producer (``acks=all``) whose requests time out after ``send_timeout``."""
    return AIOKafkaProducer(
        **settings.kafka_client_kwargs(),
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=int(send_timeout * 1000),
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
    )


async def start_producer(producer: AIOKafkaProducer, topic: str, send_timeout: float) -> None:
    """Start ``producer`` and make sure ``topic`` exists, each within the send timeout."""
    await asyncio.wait_for(producer.start(), send_timeout)
    # Fails here (instead of spooling forever) when the topic does not exist; the
    # outer deadline is longer so that aiokafka's own "unknown topic" error wins.
    await asyncio.wait_for(producer.partitions_for(topic), send_timeout + 5)


async def abort_producer(producer: AIOKafkaProducer, send_timeout: float) -> None:
    """Close a producer *without* delivering what it still holds.

    ``stop()`` would flush, i.e. wait for the broker and then deliver records that are
    already in the spool (duplicates). Cancelling the sender task first drops them:
    aiokafka's sender then only finishes requests already on the wire.
    """
    sender = getattr(producer, "_sender", None)
    with contextlib.suppress(Exception):
        if sender is not None:
            await asyncio.wait_for(sender.close(), send_timeout)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.client.close(), send_timeout)
    producer._closed = True  # keeps aiokafka's __del__ quiet


def unavailable(exc: BaseException) -> bool:
    """True for errors that mean "Kafka is not reachable now", which the spool absorbs.

    Never for an authentication or authorization failure: waiting does not fix those.
    """
    if is_access_error(exc):
        return False
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError | OutOfOrderSequenceNumber):
        return True
    if isinstance(exc, ProducerClosed | asyncio.TimeoutError | OSError):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


async def explained(exc: BaseException, settings: Settings) -> BaseException:
    """``exc``, or the refused login it hides: aiokafka reports a failed SASL handshake or
    TLS trust as an unreachable broker, so an "outage" is probed before it is spooled."""
    if unavailable(exc) and (failure := await authentication_failure(settings)) is not None:
        return failure
    return exc


def refusal(
    exc: BaseException, topic: str, principal: str | None = None, needed: str | None = None
) -> CxError:
    """The error to raise for ``exc`` when Kafka is reachable but refused the records.

    ``principal`` is the client's user name, ``needed`` the principal that may write.
    """
    if isinstance(exc, AccessDenied):
        return exc
    if is_access_error(exc):
        return access_denied_from(exc, principal, "write to", f"topic {topic}", needed=needed)
    return CxError(f"Kafka refused the records for {topic}: {type(exc).__name__}")


def start_failure(
    exc: BaseException, topic: str, refused: CxError, *, spooling: bool
) -> CxError | None:
    """What a failed producer start means: the error to raise, or None when Kafka is only
    unreachable and the outage spool takes the records (a refusal never spools)."""
    if isinstance(exc, UnknownTopicOrPartitionError):
        return CxError(f"topic {topic} does not exist; run `cxbroker init` first")
    if not unavailable(exc):
        return refused
    if not spooling:
        return BrokerUnavailable(
            f"cannot reach Kafka for {topic} ({type(exc).__name__}); "
            "check CX_BOOTSTRAP_SERVERS or `cxbroker kafka status`"
        )
    return None
