"""The foundation against real Apache Kafka: round trip, launcher CLI life cycle, topic plan."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from broker.provision import provision_topics
from broker.settings import Settings
from broker.topics import TopicAction
from tests.support.kafka import KafkaEndpoint, client_kwargs, subprocess_env

pytestmark = pytest.mark.kafka

CXBROKER = [sys.executable, "-m", "cxbroker"]


async def create_topic(bootstrap: str, name: str, partitions: int = 3, **configs: str) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
    finally:
        await admin.close()


async def test_produce_consume_round_trip(
    kafka: KafkaEndpoint, unique: Callable[[str], str]
) -> None:
    topic = unique("roundtrip")
    await create_topic(kafka.bootstrap_servers, topic)
    sent = [(f"key-{i % 7}".encode(), f"value-{i}".encode()) for i in range(200)]
    producer = AIOKafkaProducer(
        **client_kwargs(kafka.bootstrap_servers), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for key, value in sent:
            await producer.send(topic, value, key=key, headers=[("ce_id", key)])
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        **client_kwargs(kafka.bootstrap_servers),
        group_id=unique("group"),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    received: list[tuple[bytes, bytes, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < len(sent):
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    received += [(r.key, r.value, dict(r.headers)["ce_id"]) for r in records]
    finally:
        await consumer.stop()
    assert sorted((k, v) for k, v, _ in received) == sorted(sent)
    assert all(k == h for k, _, h in received)
    # per key, order is kept
    for key in {k for k, _ in sent}:
        assert [v for k, v, _ in received if k == key] == [v for k, v in sent if k == key]


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CXBROKER, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def cli_env(**extra: str) -> dict[str, str]:
    env = subprocess_env()
    env.update(extra)
    return env


def process_running(pid: int) -> bool:
    """True for a live process; a zombie waiting for its new parent to reap it is not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_cli_up_status_down_leaves_nothing_behind(tmp_path: Path) -> None:
    env = cli_env(CX_STATE_DIR=str(tmp_path / "state"))
    up = run_cli(["kafka", "up"], env)
    assert up.returncode == 0, up.stderr
    bootstrap = up.stdout.strip().splitlines()[-1]
    assert bootstrap.startswith("127.0.0.1:")

    again = run_cli(["kafka", "up"], env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == bootstrap
    assert "already running" in again.stderr

    status = run_cli(["kafka", "status"], env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert bootstrap in status.stdout

    state = Settings(state_dir=tmp_path / "state").cluster_dir / "cluster.json"
    import json

    recorded = json.loads(state.read_text())["nodes"]
    pids = [n["pid"] for n in recorded]
    ports = [p for n in recorded for p in (n["port"], n["controller_port"])]
    assert all(process_running(pid) for pid in pids)

    down = run_cli(["kafka", "down"], env)
    assert down.returncode == 0, down.stderr
    assert "stopped node(s) 1" in down.stdout
    assert not any(process_running(pid) for pid in pids)
    assert not any(port_listening(p) for p in ports)
    assert run_cli(["kafka", "status"], env).returncode == 1
    # down removes nothing else: data and logs stay
    assert (tmp_path / "state" / "kafka" / "node-1" / "data" / "meta.properties").exists()
    assert (tmp_path / "state" / "kafka" / "node-1" / "server.log").exists()


def test_broker_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    env = cli_env(CX_STATE_DIR=str(tmp_path / "state"), CX_KAFKA_HEAP="1k")
    result = run_cli(["kafka", "up"], env)
    assert result.returncode != 0
    assert "exited during start-up" in result.stderr or "failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_or_maven_is_one_line(tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    env = cli_env(
        CX_STATE_DIR=str(tmp_path / "state"),
        CX_CACHE_DIR=str(tmp_path / "cache"),
        PATH=str(empty_path),
    )
    result = run_cli(["kafka", "up"], env)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "install" in lines[0] and ("Maven" in lines[0] or "Java" in lines[0])


async def test_init_is_idempotent_and_reports_conflicts(
    kafka: KafkaEndpoint, unique: Callable[[str], str]
) -> None:
    prefix = unique("ns") + "."
    settings = Settings(bootstrap_servers=kafka.bootstrap_servers, topic_prefix=prefix)
    plan, first = await provision_topics(settings)
    assert first.changed and not first.conflicts
    assert all(a is TopicAction.CREATED for a in first.actions.values())
    names = {s.name for s in plan}
    assert f"{prefix}cx.events.ssa" in names and f"{prefix}cx.deadletter" in names

    _, second = await provision_topics(settings)
    assert not second.changed and not second.conflicts
    assert set(second.actions.values()) == {TopicAction.UNCHANGED}

    other = unique("ns") + "."
    await create_topic(
        kafka.bootstrap_servers,
        f"{other}cx.joined.having-a-child",
        2,
        **{"cleanup.policy": "delete"},
    )
    conflicted = Settings(bootstrap_servers=kafka.bootstrap_servers, topic_prefix=other)
    _, third = await provision_topics(conflicted)
    name = f"{other}cx.joined.having-a-child"
    assert third.actions[name] is TopicAction.CONFLICT
    detail = " ".join(third.conflicts[name])
    assert "partitions 2" in detail and "cleanup.policy=delete" in detail

    cli = await asyncio.to_thread(
        run_cli,
        ["init", "-q"],
        cli_env(CX_BOOTSTRAP_SERVERS=kafka.bootstrap_servers, CX_TOPIC_PREFIX=other),
    )
    assert cli.returncode != 0
    assert name in cli.stderr and "Traceback" not in cli.stderr
