"""What a Kafka user expects of the CLI (#21, 7): the joiner group's lag per partition, and
a client configuration the Java console consumer works with, on the session's secured broker."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from broker.kafka.process import java_command
from broker.security.credentials import read_credential
from broker.security.profile import load_settings
from tests.support.kafka import KafkaEndpoint
from tests.support.newcomer import Newcomer, newcomer_on

pytestmark = pytest.mark.kafka

LE = "having-a-child"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def newcomer(
    kafka: KafkaEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Newcomer]:
    yield await newcomer_on(kafka, tmp_path_factory)


def admin_of(newcomer: Newcomer) -> dict[str, object]:
    settings = load_settings(
        state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix, profile="admin"
    )
    return settings.kafka_client_kwargs()


async def test_lag_shows_the_group_per_partition(newcomer: Newcomer) -> None:
    topic = f"{newcomer.prefix}cx.events.ssa"
    group = f"{newcomer.prefix}cx.joiner.lag-test"
    producer = AIOKafkaProducer(**admin_of(newcomer))
    await producer.start()
    try:
        # 3 records to partition 0, 5 to partition 2 of the SSA topic.
        for partition, count in ((0, 3), (2, 5)):
            for i in range(count):
                await producer.send_and_wait(topic, b"v", key=b"k%d" % i, partition=partition)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **admin_of(newcomer))
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 2)])
        # The group committed 2 of partition 0 and all of partition 2.
        await consumer.commit(
            {
                TopicPartition(topic, 0): OffsetAndMetadata(2, ""),
                TopicPartition(topic, 2): OffsetAndMetadata(5, ""),
            }
        )
    finally:
        await consumer.stop()

    done = newcomer.run("lag", "--group", group, "--output", "json", profile="joiner")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["group"] == group and report["lag"] == 1
    rows = {row["partition"]: row for row in report["partitions"]}
    assert sorted(rows) == list(range(len(rows)))
    assert rows[0] == {"partition": 0, "committed": 2, "end": 3, "lag": 1}
    assert rows[2] == {"partition": 2, "committed": 5, "end": 5, "lag": 0}
    assert rows[1] == {"partition": 1, "committed": None, "end": 0, "lag": 0}

    by_topic = newcomer.run("lag", "--group", group, "--by-topic", profile="joiner")
    assert by_topic.returncode == 0, by_topic.stderr
    line = next(t for t in by_topic.stdout.splitlines() if t.startswith(f"{topic} "))
    assert line.split() == [topic, "0", "2", "3", "1"]
    assert by_topic.stdout.rstrip().endswith(f"group {group}: 1 records not joined yet")


async def test_client_config_works_with_the_java_console_consumer(
    newcomer: Newcomer, kafka: KafkaEndpoint
) -> None:
    assert kafka.local is not None
    # Insights: the topics every data-team tier may read.
    topic = f"{newcomer.prefix}cx.insights.{LE}"
    producer = AIOKafkaProducer(**admin_of(newcomer))
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"marker": "client-config"}', key=b"journey")
    finally:
        await producer.stop()
    config = newcomer.state_dir / "team.properties"
    written = newcomer.run(
        "access", "client-config", "--profile", "team-analytics", "--out", str(config)
    )
    assert written.returncode == 0, written.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    settings = load_settings(state_dir=newcomer.state_dir, profile="team-analytics")
    command = java_command(
        Path(kafka.local.state.jars_dir),
        "256m",
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        settings.resolved_bootstrap(),
        "--topic",
        topic,
        "--group",
        f"{newcomer.prefix}cx.team-analytics.console",
        "--from-beginning",
        "--max-messages",
        "1",
        "--timeout-ms",
        "60000",
        "--consumer.config",
        str(config),
        log_dir=newcomer.state_dir,
    )
    consumed = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=180, check=False
    )
    assert consumed.returncode == 0, consumed.stderr[-2000:]
    assert consumed.stdout.strip() == '{"marker": "client-config"}'

    rdkafka = newcomer.run(
        "access", "client-config", "--profile", "team-analytics", "--format", "librdkafka"
    )
    assert rdkafka.returncode == 0, rdkafka.stderr
    pairs = dict(line.split("=", 1) for line in rdkafka.stdout.splitlines())
    assert pairs["sasl.username"] == "team-analytics"
    assert pairs["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert pairs["security.protocol"] == settings.security_protocol.value.lower()
    assert pairs["bootstrap.servers"] == settings.resolved_bootstrap()
    # The principal's own password (compared, never shown on failure).
    same = pairs["sasl.password"] == read_credential(newcomer.state_dir, "team-analytics").password
    assert same, "not the principal's password"
