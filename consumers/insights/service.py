"""The Kafka adapter of insights: ``cx.joined.<le>`` in, ``cx.insights.<le>`` out.

The joined topic is compacted and keyed by journey token, so it is read from the beginning
(``read_committed``: only what the joiner committed) and the latest snapshot of every
journey is kept. Insight cells are a deterministic function of those snapshots
(:func:`~consumers.insights.aggregate.compute_insights`); the insights topic is compacted and
keyed by :meth:`InsightCell.key`, so publishing is idempotent: the service first reads what is
already published, then sends only cells that changed and a tombstone for every cell that no
longer exists (a journey moved to another period, say). Re-running on the same input
publishes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from broker.admin import admin_client
from broker.errors import BrokerUnavailable
from broker.settings import Settings
from consumers.errors import InsightsError
from consumers.insights.aggregate import journeys_by_week, week_insights
from contracts.catalog import LifeExperience, load_catalog
from contracts.joined import InsightCell, JourneySnapshot

__all__ = [
    "CatchUpReport",
    "InsightsService",
    "encode_cell",
    "read_insights",
    "read_joined",
]

log = logging.getLogger(__name__)

#: How long to wait for a topic to be read to its end before giving up.
DEFAULT_CATCH_UP_TIMEOUT_S = 60.0
_POLL_MS = 500
_METADATA_RETRY_S = 0.2
_HEADERS: list[tuple[str, bytes]] = [
    ("content-type", b"application/json"),
    ("ce_dataschema", InsightCell.contract_urn().encode()),
]


def encode_cell(cell: InsightCell) -> tuple[bytes, bytes]:
    """The Kafka key and value of ``cell`` (value: the contract's JSON)."""
    return cell.key().encode(), cell.model_dump_json().encode()


@dataclass
class CatchUpReport:
    """What one catch-up run did for one life experience."""

    life_experience: str
    journeys: int = 0
    invalid_records: int = 0
    cells: int = 0
    suppressed: int = 0
    sent: int = 0
    tombstones: int = 0
    published: dict[str, InsightCell] = field(default_factory=dict, repr=False)


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


async def _read_to_end(
    settings: Settings,
    topic: str,
    handle: Callable[[ConsumerRecord[bytes, bytes]], None],
    *,
    within: float,
) -> None:
    """Read ``topic`` from the beginning up to its last committed offset, then stop."""
    deadline = time.monotonic() + within
    # The admin client fails first, with one clear line, when Kafka is unreachable.
    partitions = await _partition_count(settings, topic, deadline)
    consumer = AIOKafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **settings.kafka_client_kwargs(),
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        while pending:
            if time.monotonic() > deadline:
                raise InsightsError(f"could not read {topic} to its end within {within:.0f} s")
            batches = await consumer.getmany(*pending, timeout_ms=_POLL_MS)
            for records in batches.values():
                for record in records:
                    handle(record)
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()


async def read_joined(
    settings: Settings, life_experience: str, *, within: float = DEFAULT_CATCH_UP_TIMEOUT_S
) -> tuple[list[JourneySnapshot], int]:
    """Every committed ``JourneySnapshot`` on ``cx.joined.<le>`` (all versions, in offset order
    per partition) and the number of records that were not valid snapshots (skipped)."""
    snapshots: list[JourneySnapshot] = []
    invalid = 0

    def handle(record: ConsumerRecord[bytes, bytes]) -> None:
        nonlocal invalid
        if record.value is None:  # a tombstone: the journey was deleted upstream
            key = record.key.decode(errors="replace") if record.key else ""
            snapshots[:] = [s for s in snapshots if s.journey_token != key]
            return
        try:
            snapshots.append(JourneySnapshot.model_validate_json(record.value))
        except ValidationError:
            # Never log the value: count it, the joiner's dead-letter topic has the detail.
            invalid += 1

    await _read_to_end(settings, settings.topics.joined(life_experience), handle, within=within)
    return snapshots, invalid


async def read_insights(
    settings: Settings, life_experience: str, *, within: float = DEFAULT_CATCH_UP_TIMEOUT_S
) -> dict[str, InsightCell]:
    """The current cells on ``cx.insights.<le>`` by key (compacted view: last value wins,
    tombstones delete)."""
    cells: dict[str, InsightCell] = {}

    def handle(record: ConsumerRecord[bytes, bytes]) -> None:
        key = record.key.decode() if record.key else ""
        if record.value is None:
            cells.pop(key, None)
            return
        try:
            cells[key] = InsightCell.model_validate_json(record.value)
        except ValidationError:
            raise InsightsError(
                f"{settings.topics.insights(life_experience)} holds a record that is not an "
                f"InsightCell (offset {record.offset})"
            ) from None

    await _read_to_end(settings, settings.topics.insights(life_experience), handle, within=within)
    return cells


class InsightsService:
    """Computes and publishes the insights of some life experiences.

    ``catch_up`` reads everything committed so far and publishes once (``--until-idle``);
    ``run`` keeps doing so whenever the joined topics have moved on.
    """

    def __init__(
        self,
        settings: Settings,
        life_experiences: Sequence[str] | None = None,
        *,
        within: float = DEFAULT_CATCH_UP_TIMEOUT_S,
    ) -> None:
        catalog = load_catalog()
        ids = (
            list(life_experiences)
            if life_experiences
            else [le.id for le in catalog.life_experiences]
        )
        self.settings = settings
        self.life_experiences: list[LifeExperience] = [catalog.life_experience(i) for i in ids]
        self.within = within
        self._cache: dict[tuple[str, str], tuple[frozenset[tuple[str, int]], list[InsightCell]]]
        self._cache = {}

    async def catch_up(self) -> list[CatchUpReport]:
        """Read every joined topic to its end, compute, publish the differences."""
        producer = self._producer()
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise BrokerUnavailable(
                f"cannot reach Kafka to publish insights: {type(exc).__name__}"
            ) from exc
        try:
            return [await self._catch_up_one(producer, le) for le in self.life_experiences]
        finally:
            await producer.stop()

    async def _catch_up_one(
        self, producer: AIOKafkaProducer, life_experience: LifeExperience
    ) -> CatchUpReport:
        report = CatchUpReport(life_experience.id)
        snapshots, report.invalid_records = await read_joined(
            self.settings, life_experience.id, within=self.within
        )
        cells = self._cells(snapshots, life_experience)
        report.journeys = len({s.journey_token for s in snapshots})
        report.cells = len(cells)
        report.suppressed = sum(cell.suppressed for cell in cells)
        before = await read_insights(self.settings, life_experience.id, within=self.within)
        report.sent, report.tombstones = await self._publish(
            producer, life_experience.id, cells, before
        )
        report.published = {cell.key(): cell for cell in cells}
        log.info(
            "insights %s: %d journeys, %d cells (%d suppressed), %d sent, %d removed",
            life_experience.id,
            report.journeys,
            report.cells,
            report.suppressed,
            report.sent,
            report.tombstones,
        )
        return report

    def _cells(
        self, snapshots: Sequence[JourneySnapshot], life_experience: LifeExperience
    ) -> list[InsightCell]:
        """Cells of every week; a week whose journeys did not change comes from the cache
        (suppression is the costly part and each week is suppressed on its own)."""
        cells: list[InsightCell] = []
        cache: dict[tuple[str, str], tuple[frozenset[tuple[str, int]], list[InsightCell]]] = {}
        for week, journeys in journeys_by_week(snapshots, life_experience).items():
            fingerprint = frozenset((j.journey_token, j.snapshot_version) for j in journeys)
            cached = self._cache.get((life_experience.id, week))
            if cached is not None and cached[0] == fingerprint:
                week_cells = cached[1]
            else:
                week_cells = week_insights(week, journeys, life_experience)
            cache[(life_experience.id, week)] = (fingerprint, week_cells)
            cells += week_cells
        # Keep only weeks that still exist, so the cache never outgrows the data.
        self._cache = {k: v for k, v in self._cache.items() if k[0] != life_experience.id}
        self._cache.update(cache)
        return cells

    async def _publish(
        self,
        producer: AIOKafkaProducer,
        life_experience: str,
        cells: Iterable[InsightCell],
        before: dict[str, InsightCell],
    ) -> tuple[int, int]:
        topic = self.settings.topics.insights(life_experience)
        futures: list[Awaitable[object]] = []
        current: set[str] = set()
        for cell in cells:
            key, value = encode_cell(cell)
            current.add(cell.key())
            if before.get(cell.key()) == cell:
                continue
            futures.append(await producer.send(topic, value, key=key, headers=_HEADERS))
        sent = len(futures)
        for stale in sorted(set(before) - current):
            futures.append(await producer.send(topic, None, key=stale.encode()))
        await asyncio.gather(*futures)
        return sent, len(futures) - sent

    def _producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            **self.settings.kafka_client_kwargs(),
        )

    async def run(self, *, interval: float = 5.0, stop: asyncio.Event | None = None) -> None:
        """Catch up every ``interval`` seconds until ``stop`` is set (a long-running service).

        Each round is a full, idempotent catch-up; a round that finds nothing new sends
        nothing.
        """
        stop = stop or asyncio.Event()
        while not stop.is_set():
            await self.catch_up()
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                continue
