"""Reading the joined and insights topics to their end (the Kafka edge of insights, read side).

Built on the FastStream integration (:mod:`consumers.faststream`): a FastStream
``KafkaBroker`` from the settings, a handler-less subscriber assigned every partition
(``read_committed``, from the beginning) and pulled with ``get_one`` until each partition's
position reaches the end offset seen at the start; every record is decoded by
:class:`~consumers.faststream.CxDecoder`, so only snapshots signed by a joiner deployment
and cells and manifests signed by an insights deployment are used (others are counted).

``cx.joined.<le>`` is compacted and keyed by journey token: read from the beginning
(``read_committed``), every snapshot kept (the aggregation keeps the latest per journey).

``cx.insights.<le>`` has one partition: cells of a release, then its manifest
(:class:`~contracts.insights.InsightRelease`). :func:`read_releases` shows, per week, the
cells of the latest release whose manifest is there and whose cells are all there: a
reader never mixes two releases of a week, and a release cut off half-way (the service
re-sends it on restart) is not shown until it is whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from aiokafka import ConsumerRecord, TopicPartition
from faststream.exceptions import SkipMessage

from broker.admin import admin_client
from broker.security.errors import denied_as
from broker.settings import Settings
from consumers.errors import InsightsError
from consumers.faststream import CxDecoder, Kind, cx_broker, partitions_subscriber
from consumers.verified import Rejection, VerifiedReader
from contracts.insights import InsightCell, InsightRelease
from contracts.joined import JourneySnapshot, PeriodKind, period_of

__all__ = [
    "DEFAULT_CATCH_UP_TIMEOUT_S",
    "Released",
    "read_insights",
    "read_joined",
    "read_releases",
    "week_of_period",
]

log = logging.getLogger(__name__)

#: How long to wait for a topic to be read to its end before giving up.
DEFAULT_CATCH_UP_TIMEOUT_S = 60.0
_POLL_MS = 500
_METADATA_RETRY_S = 0.2


def week_of_period(period: str) -> str:
    """The ISO week a day or week label belongs to."""
    if "W" in period:
        return period
    return period_of(date.fromisoformat(period), PeriodKind.WEEK)


#: The access plan's principals that read joined journeys for insights, and insights.
INSIGHTS_PRINCIPAL: Final = "insights"
READER: Final = "team-analytics"


async def _partition_count(settings: Settings, topic: str, deadline: float) -> int:
    """How many partitions ``topic`` has; a clear error when it does not exist."""
    async with admin_client(settings) as admin:
        if topic not in await admin.list_topics():
            raise InsightsError(f"topic {topic} does not exist: run `cxbroker init` first")
        while True:
            # A topic created a moment ago may list no partitions until leaders are elected.
            for described in await admin.describe_topics([topic]):
                if described["error_code"] == 0 and described["partitions"]:
                    return len(described["partitions"])
            if time.monotonic() > deadline:
                raise InsightsError(f"topic {topic} has no partitions in the cluster metadata")
            await asyncio.sleep(_METADATA_RETRY_S)


async def read_to_end(
    settings: Settings,
    topic: str,
    kind: Kind,
    handle: Callable[[ConsumerRecord[bytes, bytes], Any], None],
    *,
    within: float,
    reader: str = READER,
) -> int:
    """Read ``topic`` from the beginning up to its last committed offset, then stop.

    ``handle(record, item)`` gets each record with its verified contract object (``None``
    for a tombstone); a record that fails verification is not handed over. Returns how
    many were rejected. A refusal by Kafka is one :class:`~broker.errors.AccessDenied`
    line naming ``reader``, the principal that may read it.
    """
    with denied_as(settings.sasl_username, "read", f"topic {topic}", needed=reader):
        return await _read_to_end(settings, topic, kind, handle, within=within)


async def _read_to_end(
    settings: Settings,
    topic: str,
    kind: Kind,
    handle: Callable[[ConsumerRecord[bytes, bytes], Any], None],
    *,
    within: float,
) -> int:
    deadline = time.monotonic() + within
    # The admin client fails first, with one clear line, when Kafka is unreachable.
    partitions = await _partition_count(settings, topic, deadline)
    rejected: list[Rejection] = []

    def reject(rejection: Rejection) -> None:
        rejected.append(rejection)
        log.warning(
            "skipped a record of %s at partition %d offset %d: %s",
            rejection.topic,
            rejection.partition,
            rejection.offset,
            rejection.reason,
        )

    reader = VerifiedReader(settings.keyring_path)
    reader.load_keyring()  # a missing or refused keyring stops it before Kafka
    decoder = CxDecoder(reader, kind, reject)
    broker = cx_broker(settings, logger=None)
    subscriber = partitions_subscriber(broker, topic, partitions, decoder)
    await broker.start()
    try:
        consumer = subscriber.consumer
        assert consumer is not None  # started with the broker
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        while pending:
            if time.monotonic() > deadline:
                raise InsightsError(f"could not read {topic} to its end within {within:.0f} s")
            message = await subscriber.get_one(timeout=_POLL_MS / 1000)
            if message is not None:
                record = message.raw_message
                assert not isinstance(record, tuple)  # not a batch subscriber
                if record.value is None:
                    handle(record, None)
                else:
                    with contextlib.suppress(SkipMessage):  # rejected: reported, not used
                        handle(record, await message.decode())
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
    finally:
        await broker.stop()
    return len(rejected)


async def read_joined(
    settings: Settings, life_experience: str, *, within: float = DEFAULT_CATCH_UP_TIMEOUT_S
) -> tuple[list[JourneySnapshot], int]:
    """Every committed ``JourneySnapshot`` on ``cx.joined.<le>`` (all versions, in offset
    order per partition) and the number of records that were not valid snapshots."""
    snapshots: list[JourneySnapshot] = []

    def handle(record: ConsumerRecord[bytes, bytes], item: Any) -> None:
        if item is None:  # a tombstone: the journey was deleted upstream
            key = record.key.decode(errors="replace") if record.key else ""
            snapshots[:] = [s for s in snapshots if s.journey_token != key]
            return
        assert isinstance(item, JourneySnapshot)
        snapshots.append(item)

    # Never log a rejected value: count it (the reader logs its coordinates and reason).
    topic = settings.topics.joined(life_experience)
    invalid = await read_to_end(
        settings, topic, "joined", handle, within=within, reader=INSIGHTS_PRINCIPAL
    )
    return snapshots, invalid


@dataclass
class Released:
    """What a reader of ``cx.insights.<le>`` sees: whole releases only.

    ``cells``: by key, the cells of each week's shown release; ``manifests``: per week, the
    manifest of the release shown; ``incomplete``: weeks whose latest manifest's cells are
    not all there (an earlier whole release is shown if one is); ``keys``: every live key on
    the topic (for clean-up by the service); ``rejected``: records not used because they
    failed verification.
    """

    cells: dict[str, InsightCell] = field(default_factory=dict)
    manifests: dict[str, InsightRelease] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    #: Records that failed verification (not signed by an insights deployment, ...).
    rejected: int = 0


async def read_releases(
    settings: Settings, life_experience: str, *, within: float = DEFAULT_CATCH_UP_TIMEOUT_S
) -> Released:
    """The whole releases on ``cx.insights.<le>`` (module docstring)."""
    topic = settings.topics.insights(life_experience)
    latest: dict[str, InsightCell] = {}
    manifests: dict[str, list[InsightRelease]] = {}
    # Per (week, release): the cells of that release seen in the log, by key. Compaction may
    # drop an older release's cells once a newer one overwrote their keys: that release is
    # then no longer whole, and the week is shown from the newer one once it is.
    by_release: dict[tuple[str, str], dict[str, InsightCell]] = {}

    def handle(record: ConsumerRecord[bytes, bytes], item: Any) -> None:
        key = record.key.decode(errors="replace") if record.key else ""
        if item is None:
            latest.pop(key, None)
            for cells in by_release.values():
                cells.pop(key, None)
            return
        if isinstance(item, InsightRelease):
            manifests.setdefault(item.period, []).append(item)
            return
        cell = item
        latest[key] = cell
        if cell.release is not None:
            by_release.setdefault((week_of_period(cell.period), cell.release), {})[key] = cell

    rejected = await read_to_end(settings, topic, "insights", handle, within=within)
    released = Released(
        keys=set(latest) | {f"{life_experience}|{w}|release" for w in manifests},
        rejected=rejected,
    )
    for week, found in sorted(manifests.items()):
        for position, manifest in enumerate(reversed(found)):
            cells = by_release.get((week, manifest.release), {})
            if len(cells) == manifest.cells:
                released.manifests[week] = manifest
                released.cells.update(cells)
                break
            if position == 0:
                released.incomplete.append(week)
    return released


async def read_insights(
    settings: Settings, life_experience: str, *, within: float = DEFAULT_CATCH_UP_TIMEOUT_S
) -> dict[str, InsightCell]:
    """The cells of the whole releases on ``cx.insights.<le>``, by key."""
    return (await read_releases(settings, life_experience, within=within)).cells
