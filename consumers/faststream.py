"""FastStream integration: typed, verified joined journeys and insights in a FastStream app.

A FastStream service subscribes to ``cx.joined.<le>`` (restricted tier),
``cx.protected.<le>`` (default tier, :func:`protected_subscriber`) and ``cx.insights.<le>``
and gets :class:`~contracts.joined.JourneySnapshot` /
:class:`~contracts.protected.ProtectedSnapshot` / :class:`~contracts.insights.InsightCell`
(or :class:`~contracts.insights.InsightRelease`) objects that were verified first: the
CloudEvents headers, the signature of the joiner or insights deployment (public keys in
the keyring dir) and the contract (:mod:`consumers.verified`). It uses FastStream's own
extension point, a custom *decoder*: a record that fails is reported (``on_rejected`` or
a log line, coordinates and reason only) and skipped (``SkipMessage``), never handed
to the handler. Connection and security come from the ``CX_*`` settings; every
subscriber reads ``read_committed``::

    from faststream import FastStream
    from consumers.faststream import cx_broker, joined_subscriber
    from contracts.joined import JourneySnapshot

    broker = cx_broker()                      # CX_* settings, SASL/TLS as configured
    app = FastStream(broker)

    @joined_subscriber(broker, "having-a-child", group_id="my-team")
    async def on_journey(snapshot: JourneySnapshot) -> None:
        print(snapshot.journey_token[:8], snapshot.status)

Run with ``faststream run my_service:app``. The AsyncAPI document FastStream generates for
such an app names the same channels and message schemas as ``cxbroker contracts export``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeAlias, cast

from faststream.exceptions import SkipMessage
from faststream.kafka import KafkaBroker, TopicPartition
from faststream.kafka.message import KafkaMessage
from faststream.kafka.subscriber.usecase import DefaultSubscriber
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from broker import load_settings
from broker.settings import SecurityProtocol, Settings
from consumers.errors import RecordRejected
from consumers.verified import Rejection, VerifiedReader, kafka_time
from contracts.catalog import load_catalog
from contracts.insights import InsightCell, InsightRelease
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = [
    "CxDecoder",
    "cx_broker",
    "cx_security",
    "insights_subscriber",
    "joined_subscriber",
    "partitions_subscriber",
    "protected_subscriber",
]

log = logging.getLogger("cx.faststream")

Kind = Literal["joined", "protected", "insights"]
OnRejected = Callable[[Rejection], None]
Decoded: TypeAlias = JourneySnapshot | ProtectedSnapshot | InsightCell | InsightRelease


def cx_security(settings: Settings) -> BaseSecurity | None:
    """FastStream's security object for the ``CX_*`` settings (None for PLAINTEXT)."""
    kwargs = settings.kafka_client_kwargs()
    protocol = settings.security_protocol
    ssl_context = kwargs.get("ssl_context")
    if protocol is SecurityProtocol.PLAINTEXT:
        return None
    if protocol is SecurityProtocol.SSL:
        return BaseSecurity(ssl_context=ssl_context, use_ssl=True)
    sasl = {
        "SCRAM-SHA-512": SASLScram512,
        "SCRAM-SHA-256": SASLScram256,
        "PLAIN": SASLPlaintext,
    }[settings.sasl_mechanism]
    return sasl(
        username=kwargs["sasl_plain_username"],
        password=kwargs["sasl_plain_password"],
        ssl_context=ssl_context,
        use_ssl=protocol is SecurityProtocol.SASL_SSL,
    )


def cx_broker(settings: Settings | None = None, **options: Any) -> KafkaBroker:
    """A FastStream :class:`KafkaBroker` for the ``CX_*`` settings.

    Default settings: :func:`broker.load_settings` (the ``CX_*`` environment and a local
    cluster's stored credentials). Topics are never auto-created (``cxbroker init`` does).
    ``options`` go to :class:`KafkaBroker`.
    """
    settings = settings or load_settings()
    kwargs = settings.kafka_client_kwargs()
    options.setdefault("allow_auto_create_topics", False)
    return KafkaBroker(
        kwargs["bootstrap_servers"],
        security=cx_security(settings),
        client_id=kwargs["client_id"],
        **options,
    )


class CxDecoder:
    """FastStream custom decoder: a verified contract object, or the record is skipped.

    ``kind`` ``joined`` yields :class:`JourneySnapshot`, ``protected`` the k-protected
    :class:`ProtectedSnapshot` (2.0.0), ``insights`` yields
    :class:`InsightCell` or :class:`InsightRelease`. A tombstone (no value) is skipped.
    """

    __slots__ = ("kind", "on_rejected", "reader")

    def __init__(
        self, reader: VerifiedReader, kind: Kind, on_rejected: OnRejected | None = None
    ) -> None:
        self.reader = reader
        self.kind = kind
        self.on_rejected = on_rejected

    def __repr__(self) -> str:
        return f"CxDecoder({self.kind!r})"

    def decode_record(self, record: Any) -> Decoded:
        """Verify and decode one aiokafka ``ConsumerRecord``; :class:`RecordRejected` if not."""
        headers = record.headers or ()
        at = kafka_time(getattr(record, "timestamp", None))
        if self.kind == "joined":
            return self.reader.snapshot(record.key, record.value, headers, at=at)
        if self.kind == "protected":
            return self.reader.protected(record.key, record.value, headers, at=at)
        return self.reader.insight(record.key, record.value, headers, at=at)

    async def __call__(
        self, message: KafkaMessage, original: Callable[[KafkaMessage], Awaitable[Any]]
    ) -> Decoded:
        record = message.raw_message
        if isinstance(record, tuple):
            raise TypeError("batch subscribers are not supported by CxDecoder")
        if record.value is None:
            raise SkipMessage  # a tombstone: nothing to hand over
        try:
            return self.decode_record(record)
        except RecordRejected as exc:
            rejection = Rejection(
                record.topic, record.partition, record.offset, exc.reason, str(exc)
            )
            if self.on_rejected is not None:
                self.on_rejected(rejection)
            else:
                log.warning(
                    "rejected a record of %s at partition %d offset %d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc.reason,
                )
            raise SkipMessage from None


def _subscriber(
    broker: KafkaBroker,
    kind: Kind,
    life_experience: str,
    settings: Settings | None,
    on_rejected: OnRejected | None,
    options: dict[str, Any],
) -> DefaultSubscriber:
    catalog_le = load_catalog().life_experience(life_experience)
    topic_settings = settings or load_settings()
    topics = topic_settings.topics
    topic, model = {
        "joined": (topics.joined(catalog_le.id), JourneySnapshot.__name__),
        "protected": (topics.protected(catalog_le.id), ProtectedSnapshot.__name__),
        "insights": (topics.insights(catalog_le.id), InsightCell.__name__),
    }[kind]
    options.setdefault("auto_offset_reset", "earliest")
    options.setdefault("title", f"{topic}:{model}")
    subscriber = broker.subscriber(
        topic,
        isolation_level="read_committed",
        decoder=CxDecoder(VerifiedReader(topic_settings.keyring_path), kind, on_rejected),
        **options,
    )
    return cast(DefaultSubscriber, subscriber)


def joined_subscriber(
    broker: KafkaBroker,
    life_experience: str,
    *,
    settings: Settings | None = None,
    on_rejected: OnRejected | None = None,
    **options: Any,
) -> DefaultSubscriber:
    """A FastStream subscriber of ``cx.joined.<le>`` handing over verified snapshots.

    Use it as a decorator of a handler taking a :class:`JourneySnapshot`. ``settings``
    gives the topic prefix and the keyring dir (default :func:`broker.load_settings`, the
    ``CX_*`` environment); ``options`` go to ``broker.subscriber`` (``group_id``, ...).
    """
    return _subscriber(broker, "joined", life_experience, settings, on_rejected, dict(options))


def protected_subscriber(
    broker: KafkaBroker,
    life_experience: str,
    *,
    settings: Settings | None = None,
    on_rejected: OnRejected | None = None,
    **options: Any,
) -> DefaultSubscriber:
    """A FastStream subscriber of ``cx.protected.<le>`` (the default tier's k-protected
    journeys) handing over verified :class:`ProtectedSnapshot` records (2.0.0)."""
    return _subscriber(broker, "protected", life_experience, settings, on_rejected, dict(options))


def insights_subscriber(
    broker: KafkaBroker,
    life_experience: str,
    *,
    settings: Settings | None = None,
    on_rejected: OnRejected | None = None,
    **options: Any,
) -> DefaultSubscriber:
    """A FastStream subscriber of ``cx.insights.<le>`` handing over verified cells and
    release manifests (a handler takes ``InsightCell | InsightRelease``)."""
    return _subscriber(broker, "insights", life_experience, settings, on_rejected, dict(options))


def partitions_subscriber(
    broker: KafkaBroker,
    topic: str,
    partitions: int,
    decoder: CxDecoder,
) -> DefaultSubscriber:
    """A handler-less FastStream subscriber assigned every partition of ``topic`` from the
    beginning (no group), for reading a topic to its end with ``get_one`` (the insights
    service's catch-up)."""
    return broker.subscriber(
        partitions=[TopicPartition(topic, p, declare=False) for p in range(partitions)],
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        decoder=decoder,
        include_in_schema=False,
    )
