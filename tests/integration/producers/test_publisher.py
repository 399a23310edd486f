"""The agency publisher against real Kafka: round trip, file ingestion, the outage spool."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from click.testing import CliRunner

from broker.errors import BrokerUnavailable, CxError
from broker.kafka.launcher import LocalKafka
from broker.keyring import Keyring
from broker.provision import provision_topics
from broker.settings import Settings
from contracts.envelope import decode
from cxbroker.commands.publish import publish
from cxbroker.exitcodes import ExitCode
from producers import AgencyPublisher, DeliveryStatus, RawRecord
from producers.errors import AgencyMismatch
from tests.support.files import (
    AGENCY,
    GOOD_LINES,
    LIFE_EXPERIENCES,
    event_id,
    good,
    mixed_rows,
    write_csv,
)
from tests.support.kafka import KafkaEndpoint
from tests.support.keyrings import keyring_for, wire_id

pytestmark = [pytest.mark.kafka]


def make_settings(bootstrap: str, tmp_path: Path, prefix: str) -> Settings:
    return Settings(
        bootstrap_servers=bootstrap,
        topic_prefix=prefix,
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
    )


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return keyring_for(tmp_path / "keyring", [AGENCY], LIFE_EXPERIENCES)


@pytest_asyncio.fixture(loop_scope="session")
async def settings(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], keyring: Keyring
) -> Settings:
    chosen = make_settings(kafka.bootstrap_servers, tmp_path, unique("t") + ".")
    _, result = await provision_topics(chosen)
    assert not result.conflicts
    return chosen


def raw_events(count: int, people: int = 4, start: int = 1000) -> list[RawRecord]:
    """``count`` valid records spread over ``people`` journeys, distinct event ids."""
    return [RawRecord.model_validate(good(i % people, start + i)) for i in range(count)]


async def consume_all(
    settings: Settings, topic: str, expected: int, wait_seconds: float = 60
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` once ``expected`` arrived, checked against the end offsets."""
    consumer = AIOKafkaConsumer(
        topic,
        **settings.kafka_client_kwargs(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while len(got) < expected and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                got.extend(messages)
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    # The topic holds exactly what was read: nothing more arrived late.
    assert sum(ends.values()) == len(got)
    return got


def ids_by_key(records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[bytes, list[str]]:
    ordered: dict[bytes, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        headers = dict(record.headers)
        assert record.key is not None
        ordered[record.key].append(headers["ce_id"].decode())
    return dict(ordered)


async def test_published_events_decode_and_verify(settings: Settings, keyring: Keyring) -> None:
    raws = raw_events(40)
    async with AgencyPublisher(settings, AGENCY, keyring=keyring) as publisher:
        first = await publisher.publish(raws[0])
        rest = await publisher.publish_many(raws[1:])
    results = [first, *rest]
    assert all(r.status is DeliveryStatus.SENT and r.offset is not None for r in results)
    assert [str(r.event_id) for r in results] == [
        wire_id(keyring, AGENCY, r.event_id) for r in raws
    ]

    got = await consume_all(settings, settings.topics.agency(AGENCY), len(raws))
    # Each result names where its event is (partition and offset come from batch futures).
    where = {(r.partition, r.offset): dict(r.headers)["ce_id"].decode() for r in got}
    assert {(r.partition, r.offset): str(r.event_id) for r in results} == where
    assert len({r.partition for r in results}) > 1
    public = keyring.public_keyring()
    for record in got:
        decoded = decode(record.key, record.value, record.headers)
        assert decoded.event.agency == AGENCY
        public.verify(decoded.record)
    # Keyed by journey token: one person's events are on one partition, in publish order.
    expected: dict[str, list[str]] = defaultdict(list)
    token_of: dict[str, str] = {}
    for record in got:
        decoded = decode(record.key, record.value, record.headers)
        token_of[str(decoded.event.event_id)] = decoded.event.journey_token
    for raw in raws:
        wire = wire_id(keyring, AGENCY, raw.event_id)
        expected[token_of[wire]].append(wire)
    assert {k.decode(): v for k, v in ids_by_key(got).items()} == expected


@pytest.mark.parametrize("workers", ["0", "1"])
def test_cli_ingests_a_mixed_file_publishing_exactly_the_good_rows(
    kafka: KafkaEndpoint, tmp_path: Path, keyring: Keyring, workers: str
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}."
    chosen = make_settings(kafka.bootstrap_servers, tmp_path, prefix)
    asyncio.run(provision_topics(chosen))
    rows, bad = mixed_rows()
    path = tmp_path / "records.csv"
    write_csv(path, rows)
    env = {
        "CX_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "CX_TOPIC_PREFIX": prefix,
        "CX_STATE_DIR": str(chosen.state_dir),
        "CX_KEYRING_DIR": str(keyring.path),
    }
    result = CliRunner().invoke(
        publish,
        [
            *("--agency", AGENCY, "--file", str(path), "--rejects", str(tmp_path / "bad.jsonl")),
            *("--workers", workers),  # 1: prepared in a worker process
        ],
        env=env,
    )
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert f"published {len(GOOD_LINES)}" in result.output
    assert f"rejected {len(bad)}" in result.output
    assert len((tmp_path / "bad.jsonl").read_text().splitlines()) == len(bad)

    got = asyncio.run(consume_all(chosen, chosen.topics.agency(AGENCY), len(GOOD_LINES)))
    assert sorted(dict(r.headers)["ce_id"].decode() for r in got) == sorted(
        wire_id(keyring, AGENCY, event_id(n)) for n in GOOD_LINES
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_spool_survives_a_restart_and_drains_on_start(
    settings: Settings, keyring: Keyring
) -> None:
    offline = settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{_closed_port()}"})
    raws = raw_events(25, start=3000)
    async with AgencyPublisher(offline, AGENCY, keyring=keyring, retry_interval=60) as publisher:
        results = await publisher.publish_many(raws[:10])
        results += [await publisher.publish(raw) for raw in raws[10:]]
        assert {r.status for r in results} == {DeliveryStatus.SPOOLED}
        assert publisher.spooled == 25
    # A new process (same state dir) with Kafka back: the spool drains on start.
    async with AgencyPublisher(settings, AGENCY, keyring=keyring) as publisher:
        assert publisher.spooled == 0
        assert publisher.sent_from_spool == 25
    got = await consume_all(settings, settings.topics.agency(AGENCY), 25)
    assert sorted(i for ids in ids_by_key(got).values() for i in ids) == sorted(
        wire_id(keyring, AGENCY, r.event_id) for r in raws
    )


# --------------------------------------------------------------------------- broker outage


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalKafka]:
    """A dedicated one-node cluster this module may stop and restart."""
    state_dir = tmp_path_factory.mktemp("publisher-outage")
    async with LocalKafka(Settings(state_dir=state_dir), nodes=1) as cluster:
        yield cluster


async def test_broker_outage_every_event_arrives_once_in_order_per_key(
    own_cluster: LocalKafka, tmp_path: Path, keyring: Keyring
) -> None:
    chosen = make_settings(own_cluster.bootstrap_servers, tmp_path, "outage.")
    _, result = await provision_topics(chosen)
    assert not result.conflicts
    raws = raw_events(90, people=4, start=5000)
    statuses: list[DeliveryStatus] = []
    # The send deadline is generous: a record that is written but acknowledged late is
    # spooled and sent again (at least once), which this test would count as a duplicate.
    options: dict[str, Any] = {"send_timeout": 10.0, "retry_interval": 0.5}
    async with AgencyPublisher(chosen, AGENCY, keyring=keyring, **options) as publisher:
        statuses += [r.status for r in await publisher.publish_many(raws[:30])]
        # A fresh cluster may still be electing leaders: whatever spooled drains first.
        await asyncio.wait_for(publisher.wait_drained(), 60)

        await asyncio.to_thread(own_cluster.stop_node, 1)
        for start in range(30, 60, 10):  # the broker is down: these spool
            statuses += [r.status for r in await publisher.publish_many(raws[start : start + 10])]
        assert set(statuses[30:]) == {DeliveryStatus.SPOOLED}
        assert publisher.spooled == 30

        await own_cluster.start_node(1)
        for raw in raws[60:]:  # queued behind the spool or sent once it drained
            statuses.append((await publisher.publish(raw)).status)
        await asyncio.wait_for(publisher.wait_drained(), 60)
        assert publisher.spooled == 0

    got = await consume_all(chosen, chosen.topics.agency(AGENCY), len(raws))
    seen = [i for ids in ids_by_key(got).values() for i in ids]
    assert len(seen) == len(set(seen)) == len(raws)  # every event exactly once
    published_order = {wire_id(keyring, AGENCY, r.event_id): n for n, r in enumerate(raws)}
    for ids in ids_by_key(got).values():  # per key, in publish order
        assert ids == sorted(ids, key=published_order.__getitem__)


def test_cli_flush_spool_sends_what_an_outage_left(
    kafka: KafkaEndpoint, tmp_path: Path, keyring: Keyring
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}."
    online = make_settings(kafka.bootstrap_servers, tmp_path, prefix)
    asyncio.run(provision_topics(online))
    offline = online.model_copy(update={"bootstrap_servers": f"127.0.0.1:{_closed_port()}"})
    raws = raw_events(12, start=7000)

    async def spool_them() -> int:
        async with AgencyPublisher(offline, AGENCY, keyring=keyring, retry_interval=60) as pub:
            await pub.publish_many(raws)
            return pub.spooled

    assert asyncio.run(spool_them()) == 12
    env = {
        "CX_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "CX_TOPIC_PREFIX": prefix,
        "CX_STATE_DIR": str(online.state_dir),
        "CX_KEYRING_DIR": str(keyring.path),
    }
    result = CliRunner().invoke(publish, ["--agency", AGENCY, "--flush-spool"], env=env)
    assert result.exit_code == 0, result.output
    assert "sent 12, left 0" in result.output
    got = asyncio.run(consume_all(online, online.topics.agency(AGENCY), 12))
    assert sorted(dict(r.headers)["ce_id"].decode() for r in got) == sorted(
        wire_id(keyring, AGENCY, r.event_id) for r in raws
    )


async def test_without_spool_an_unreachable_broker_is_an_error(
    tmp_path: Path, keyring: Keyring
) -> None:
    offline = make_settings(f"127.0.0.1:{_closed_port()}", tmp_path, "x.")
    with pytest.raises(BrokerUnavailable, match="cannot reach Kafka"):
        async with AgencyPublisher(offline, AGENCY, keyring=keyring, spool=False):
            pass


async def test_records_of_another_agency_are_refused(tmp_path: Path, keyring: Keyring) -> None:
    offline = make_settings(f"127.0.0.1:{_closed_port()}", tmp_path, "x.")
    other = RawRecord.model_validate(
        good(0, 1, agency="cms", service_id="cms.medicare-plan-choice")
    )
    async with AgencyPublisher(offline, AGENCY, keyring=keyring, retry_interval=60) as pub:
        with pytest.raises(AgencyMismatch, match="agency cms"):
            await pub.publish(other)
        with pytest.raises(AgencyMismatch):
            await pub.publish_many([*raw_events(2, start=8000), other])
        assert pub.spooled == 0  # nothing of a refused batch is sent or spooled


async def test_a_missing_topic_is_an_error_not_an_endless_spool(
    kafka: KafkaEndpoint, tmp_path: Path, keyring: Keyring, unique: Callable[[str], str]
) -> None:
    never_created = make_settings(kafka.bootstrap_servers, tmp_path, unique("none") + ".")
    with pytest.raises(CxError, match="does not exist"):
        async with AgencyPublisher(never_created, AGENCY, keyring=keyring, send_timeout=2):
            pass


async def test_an_unknown_agency_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CxError, match="not an agency"):
        AgencyPublisher(make_settings("127.0.0.1:1", tmp_path, "x."), "../elsewhere")
