"""Insights against real Kafka: joined snapshots in, suppressed InsightCells out."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from consumers.insights.suppression import derivable_cells, is_small

from broker.provision import provision_topics
from broker.settings import Settings
from consumers.insights.aggregate import CellKey, compute_insights, count_tables
from consumers.insights.service import InsightsService, read_insights
from contracts.catalog import load_catalog
from contracts.joined import InsightCell, JourneySnapshot, Metric, PeriodKind, period_of
from tests.support.kafka import KafkaEndpoint, subprocess_env
from tests.support.snapshots import random_journeys

pytestmark = pytest.mark.kafka

LE = "recovering-from-a-disaster"
COUNT_METRICS = {
    Metric.JOURNEYS_STARTED,
    Metric.JOURNEYS_COMPLETED,
    Metric.JOURNEYS_STALLED,
    Metric.JOURNEYS_EXPIRED,
    Metric.STALLS_AT_HANDOFF,
}


@pytest.fixture
async def settings(
    kafka: KafkaEndpoint, unique: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[Settings]:
    settings = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=unique("ins") + ".",
        partitions=2,
        state_dir=tmp_path / "state",
    )
    _, result = await provision_topics(settings)
    assert not result.conflicts
    yield settings


async def cxbroker(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI in a child process: (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cxbroker",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def publish_snapshots(settings: Settings, snapshots: Iterable[JourneySnapshot]) -> None:
    producer = AIOKafkaProducer(
        acks="all", enable_idempotence=True, **settings.kafka_client_kwargs()
    )
    await producer.start()
    try:
        for snapshot in snapshots:
            await producer.send(
                settings.topics.joined(snapshot.life_experience),
                snapshot.model_dump_json().encode(),
                key=snapshot.journey_token.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()


async def raw_records(settings: Settings, topic: str) -> list[tuple[bytes, bytes | None]]:
    """Every record on the (single-partition) topic, as bytes, up to its end."""
    consumer = AIOKafkaConsumer(
        group_id=None, isolation_level="read_committed", **settings.kafka_client_kwargs()
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[tuple[bytes, bytes | None]] = []
        async with asyncio.timeout(30):
            while await consumer.position(tp) < end:
                for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                    out += [(r.key or b"", r.value) for r in records]
        return out
    finally:
        await consumer.stop()


def assert_nothing_small_is_shown(records: list[tuple[bytes, bytes | None]]) -> None:
    """Scan every published value: no count 1..10 in the clear, no value under suppression."""
    for key, value in records:
        if value is None:
            continue
        document = json.loads(value)
        assert set(document) == set(InsightCell.model_fields), key
        if document["suppressed"]:
            assert document["value"] is None and document["count"] is None
            continue
        if document["count"] is not None:
            assert not is_small(document["count"]), key
        if document["metric"] in COUNT_METRICS and document["value"] is not None:
            assert not is_small(int(document["value"])), key


def assert_no_small_value_is_derivable(
    snapshots: list[JourneySnapshot], published: dict[str, InsightCell]
) -> None:
    """Rebuild the outsider's view from what Kafka holds and audit it with the checker."""
    le = load_catalog().life_experience(LE)
    for table in count_tables(snapshots, le):
        view: dict[CellKey, int | None] = {}
        for key in table.counts:
            if key in table.hidden:
                continue
            parts = (LE, key.period, key.agency, key.stage, key.metric.value)
            cell_key = "|".join((*parts, key.to_agency) if key.to_agency else parts)
            view[key] = published[cell_key].count
        leaks = derivable_cells(view, table.margins)
        assert not any(is_small(table.counts[k]) for k in leaks)
        assert any(v is None for v in view.values())  # the data set does exercise suppression


async def test_published_insights_equal_the_pure_computation(settings: Settings) -> None:
    snapshots = random_journeys(150, seed=11, days=9)  # 1-3 versions per journey
    assert len(snapshots) > 150
    await publish_snapshots(settings, snapshots)

    service = InsightsService(settings, [LE], within=30)
    (report,) = await service.catch_up()
    expected = compute_insights(snapshots, load_catalog().life_experience(LE))
    assert report.journeys == 150 and report.invalid_records == 0
    assert report.sent == len(expected) and report.tombstones == 0

    published = await read_insights(settings, LE, within=30)
    assert published == {cell.key(): cell for cell in expected}
    records = await raw_records(settings, settings.topics.insights(LE))
    assert len(records) == len(expected)
    assert_nothing_small_is_shown(records)
    assert_no_small_value_is_derivable(snapshots, published)
    # Only the latest version of each journey counts: every shown weekly started count is
    # the number of distinct journeys starting that week, not the number of snapshots.
    latest = {s.journey_token: s for s in sorted(snapshots, key=lambda s: s.snapshot_version)}
    per_week = Counter(period_of(s.first_event_at, PeriodKind.WEEK) for s in latest.values())
    assert sum(per_week.values()) == 150
    shown = {week: published[f"{LE}|{week}|*|*|journeys-started"].count for week in per_week}
    assert any(count is not None for count in shown.values())
    for week, count in shown.items():
        assert count is None or count == per_week[week], week


async def test_a_second_run_is_idempotent_and_stale_cells_are_removed(settings: Settings) -> None:
    snapshots = random_journeys(80, seed=5, days=5)
    await publish_snapshots(settings, snapshots)
    service = InsightsService(settings, [LE], within=30)
    (first,) = await service.catch_up()
    (second,) = await service.catch_up()
    assert first.sent > 0 and (second.sent, second.tombstones) == (0, 0)

    # Every journey gets a newer version that started four weeks earlier: the old periods
    # disappear (tombstones), the new ones appear.
    latest = {s.journey_token: s for s in snapshots if s.snapshot_version >= 1}
    for s in snapshots:
        if s.snapshot_version > latest[s.journey_token].snapshot_version:
            latest[s.journey_token] = s
    moved = [
        s.model_copy(
            update={
                "snapshot_version": s.snapshot_version + 1,
                "first_event_at": s.first_event_at - timedelta(weeks=4),
            }
        )
        for s in latest.values()
    ]
    await publish_snapshots(settings, moved)
    (third,) = await service.catch_up()
    assert third.tombstones == first.cells
    published = await read_insights(settings, LE, within=30)
    expected = compute_insights(snapshots + moved, load_catalog().life_experience(LE))
    assert published == {cell.key(): cell for cell in expected}
    assert_nothing_small_is_shown(await raw_records(settings, settings.topics.insights(LE)))


async def test_the_cli_computes_and_prints_a_table(settings: Settings, tmp_path: Path) -> None:
    await publish_snapshots(settings, random_journeys(60, seed=2, days=3))
    env = subprocess_env()
    env.update(
        CX_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_STATE_DIR=str(tmp_path / "cli-state"),
        COLUMNS="200",
    )
    code, out, err = await cxbroker(["insights", "-l", LE, "--compute", "--period", "day"], env)
    assert code == 0, err
    assert f"{LE}: 60 journeys" in out
    assert f"{LE} · 2026-03-0" in out  # a table per day
    assert "journeys-started" in out and "*" in out

    code, out, err = await cxbroker(["insights", "-l", "no-such-thing"], env)
    assert code != 0
    assert err.strip().count("\n") == 0 and "unknown life experience" in err


async def test_the_long_running_service_follows_new_snapshots(settings: Settings) -> None:
    le = load_catalog().life_experience(LE)
    service = InsightsService(settings, [LE], within=30)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(interval=0.2, stop=stop))
    published: list[JourneySnapshot] = []
    try:
        # The second batch reuses the first one's journeys (same tokens) and adds new ones.
        for batch in (random_journeys(40, seed=21, days=4), random_journeys(70, seed=22, days=4)):
            await publish_snapshots(settings, batch)
            published += batch
            expected = {c.key(): c for c in compute_insights(published, le)}
            async with asyncio.timeout(40):
                while await read_insights(settings, LE, within=30) != expected:
                    assert not task.done(), task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
