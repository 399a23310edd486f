"""Insights against real Kafka: joined snapshots in, audited releases out, read whole."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from broker.keyring import Keyring
from broker.provision import provision_topics
from broker.settings import Settings
from consumers.insights import InsightsService, audit, read_insights, read_releases
from consumers.insights.release.plan import audit_history, next_release
from consumers.insights.service import encode_cell, signed_headers
from contracts.catalog import load_catalog
from contracts.insights import InsightCell, InsightRelease, Privacy
from contracts.joined import SMALL_CELL_MAX, JourneySnapshot, Metric
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.kafka import KafkaEndpoint, subprocess_env
from tests.support.provenance import snapshot_record
from tests.support.snapshots import journey, random_week

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
    # The local key ceremony: the joiner and insights deployments' keys, published in the
    # signed keyring (no agency publishes here: the tests write snapshots themselves).
    Keyring(settings.keyring_path).init([], [])
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
            key, value, headers = snapshot_record(settings, snapshot)
            await producer.send(
                settings.topics.joined(snapshot.life_experience), value, key=key, headers=headers
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
        if key.endswith(b"|release"):
            assert set(document) == set(InsightRelease.model_fields), key
            continue
        assert set(document) == set(InsightCell.model_fields), key
        assert document["release"] is not None, key
        if document["suppressed"]:
            assert document["value"] is None and document["count"] is None
            assert document["reason"] is not None
            continue
        if document["count"] is not None:
            assert not 1 <= document["count"] <= SMALL_CELL_MAX, key
        if document["metric"] in COUNT_METRICS and document["value"] is not None:
            assert not 1 <= int(document["value"]) <= SMALL_CELL_MAX, key


def two_weeks() -> list[JourneySnapshot]:
    """A final week (2026-W10) and a week with active journeys (2026-W11)."""
    first = random_week(150, seed=11, final=True)
    second = random_week(120, seed=12, start=datetime(2026, 3, 9, 8, tzinfo=UTC), first=1000)
    return first + second


def late(n: int) -> JourneySnapshot:
    return journey(
        n,
        life_experience=LE,
        start=datetime(2026, 3, 4, 10, tzinfo=UTC),
        steps=(("fema", Stage.APPLY), ("sba", Stage.DECISION)),
        status=JourneyStatus.STALLED,
        days=9,
    )


def audit_recorded(service: InsightsService) -> None:
    """The exact audit of every recorded week passes (all its releases together)."""
    le = load_catalog().life_experience(LE)
    folder = service.history.directory / LE
    weeks = sorted(p.stem for p in folder.glob("*.json"))
    assert weeks
    for week in weeks:
        past = service.history.releases(LE, week)
        truth = {p.manifest.release: p.truth for p in past}
        assert audit(audit_history(past, le), truth, mode="exact").passed, week


async def test_weeks_are_released_whole_and_pass_their_audit(settings: Settings) -> None:
    snapshots = two_weeks()
    await publish_snapshots(settings, snapshots)
    service = InsightsService(settings, [LE], within=30)
    (report,) = await service.catch_up()
    assert report.journeys == 270 and report.invalid_records == 0
    assert [r.release for r in report.releases] == ["2026-W10.v1", "2026-W11.v1"]
    assert [r.final for r in report.releases] == [True, False]

    released = await read_releases(settings, LE, within=30)
    assert set(released.manifests) == {"2026-W10", "2026-W11"} and not released.incomplete
    recorded = [service.history.releases(LE, w)[-1] for w in ("2026-W10", "2026-W11")]
    assert released.cells == {c.key(): c for r in recorded for c in r.published}
    assert report.sent == len(released.cells) + 2  # and two manifests
    records = await raw_records(settings, settings.topics.insights(LE))
    assert_nothing_small_is_shown(records)
    assert any(cell.suppressed for cell in released.cells.values())
    audit_recorded(service)

    # Nothing changed: a second run sends nothing (releases, not a live feed).
    (again,) = await service.catch_up()
    assert (again.sent, again.tombstones, again.releases) == (0, 0, [])


async def test_a_late_journey_makes_an_audited_correction(settings: Settings) -> None:
    snapshots = two_weeks()
    await publish_snapshots(settings, snapshots)
    service = InsightsService(settings, [LE], within=30)
    await service.catch_up()
    await publish_snapshots(settings, [late(5000)])
    (report,) = await InsightsService(settings, [LE], within=30).catch_up()  # a restart
    assert [r.release for r in report.releases] == ["2026-W10.v2"]
    released = await read_releases(settings, LE, within=30)
    assert released.manifests["2026-W10"].release == "2026-W10.v2"
    assert released.manifests["2026-W10"].supersedes == "2026-W10.v1"
    assert {c.release for c in released.cells.values() if c.period.startswith("2026-W10")} == {
        "2026-W10.v2"
    }
    audit_recorded(service)
    assert_nothing_small_is_shown(await raw_records(settings, settings.topics.insights(LE)))


async def test_a_reader_never_mixes_two_releases_of_a_week(settings: Settings) -> None:
    await publish_snapshots(settings, two_weeks())
    service = InsightsService(settings, [LE], within=30)
    await service.catch_up()
    before = await read_insights(settings, LE, within=30)

    # A release cut off half-way: recorded, half of its cells sent, no manifest.
    await publish_snapshots(settings, [late(6000)])
    le = load_catalog().life_experience(LE)
    joined = [*two_weeks(), late(6000)]
    week = [j for j in joined if j.first_event_at < datetime(2026, 3, 9, tzinfo=UTC)]
    past = service.history.releases(LE, "2026-W10")
    planned = next_release("2026-W10", week, le, past, now=datetime.now(UTC))
    assert planned is not None
    service.history.record(LE, "2026-W10", planned.record)
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        for cell in planned.record.published[: len(planned.record.published) // 2]:
            key, value = encode_cell(cell)
            headers = signed_headers(service.signer(), cell, key, value)
            await producer.send(settings.topics.insights(LE), value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()
    released = await read_releases(settings, LE, within=30)
    assert released.manifests["2026-W10"].release == "2026-W10.v1"
    assert all(c.release == "2026-W10.v1" for k, c in released.cells.items() if "2026-W10" in k)
    assert {k for k in released.cells if "2026-W10" in k} <= set(before)

    # The next run re-sends the recorded release as it was recorded: now it is whole.
    (report,) = await InsightsService(settings, [LE], within=30).catch_up()
    assert report.releases[0].resent and report.releases[0].release == "2026-W10.v2"
    released = await read_releases(settings, LE, within=30)
    assert released.manifests["2026-W10"].release == "2026-W10.v2"
    assert not released.incomplete


async def test_differential_privacy_releases_with_error_bars_and_a_budget(
    settings: Settings,
) -> None:
    await publish_snapshots(settings, random_week(150, seed=11, final=True))
    (report,) = await InsightsService(settings, [LE], within=30, privacy=Privacy.DP).catch_up()
    assert [r.release for r in report.releases] == ["2026-W10.dp1"]
    released = await read_releases(settings, LE, within=30)
    manifest = released.manifests["2026-W10"]
    assert manifest.privacy is Privacy.DP and manifest.rho == 0.5 and manifest.rho_limit == 1.0
    shown = [c for c in released.cells.values() if not c.suppressed]
    assert shown and all(c.error_95 is not None and c.count is None for c in shown)
    # Two corrections after restarts: the first fits the budget, the second is refused.
    for n, expected in ((7000, ["2026-W10.dp2"]), (7001, [])):
        await publish_snapshots(settings, [late(n)])
        service = InsightsService(settings, [LE], within=30, privacy=Privacy.DP)
        (report,) = await service.catch_up()
        assert [r.release for r in report.releases] == expected
    assert report.refused and "refused" in report.refused[0]
    assert service.ledger.spent(LE, "2026-W10") == pytest.approx(1.0)


async def test_the_cli_prints_tables_with_reasons_and_the_audit(
    settings: Settings, tmp_path: Path
) -> None:
    await publish_snapshots(settings, two_weeks())
    env = subprocess_env()
    env.update(
        CX_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_STATE_DIR=str(tmp_path / "cli-state"),
        # The reader holds the signed public keyring that lists the joiner deployment's key.
        CX_KEYRING_DIR=str(settings.keyring_path),
    )
    code, out, err = await cxbroker(["insights", "-l", LE, "--compute"], env)
    assert code == 0, err
    assert f"{LE}: 270 journeys, 2 releases" in out
    assert f"{LE} · 2026-W10" in out and "*a" in out
    assert "* count of 1-10, or one that would let such a count be derived" in out  # legend
    code, out, err = await cxbroker(["insights", "-l", LE, "--period", "day", "--last", "14"], env)
    assert code == 0, err
    assert f"{LE} · 2026-03-02" in out
    code, out, err = await cxbroker(["insights", "audit", "-l", LE], env)
    assert code == 0, err
    assert "protection rule:" in out and "audit of recovering-from-a-disaster 2026-W10.v1" in out
    assert "passed" in out and "FAILED" not in out
    code, out, err = await cxbroker(["insights", "-l", "no-such-thing"], env)
    assert code != 0
    assert err.strip().count("\n") == 0 and "unknown life experience" in err


async def test_the_long_running_service_releases_a_week_once_it_is_due(
    settings: Settings,
) -> None:
    service = InsightsService(settings, [LE], within=30)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(interval=0.2, stop=stop))
    try:
        # Journeys of 2026-W10 whose latest event is still inside the grace: not due yet.
        early = [journey(i, start=datetime(2026, 3, 2, 9, tzinfo=UTC), days=8.5) for i in range(30)]
        await publish_snapshots(settings, early)
        await asyncio.sleep(2)
        assert (await read_releases(settings, LE, within=30)).manifests == {}
        await publish_snapshots(settings, random_week(100, seed=3, final=True, first=100))
        async with asyncio.timeout(40):
            while "2026-W10" not in (await read_releases(settings, LE, within=30)).manifests:
                assert not task.done(), task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
