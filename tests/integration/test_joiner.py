"""The joiner against real Kafka: reference equality, SIGKILL + restart, two processes,
co-partition check, dead letters.

Every test uses its own topic prefix, consumer group, state dir and keyring. Events are
signed here with a keyring made in tmp_path; the reference is
:func:`consumers.reference_run` over the same events. Grace is wider than each
workload's span so no event counts as late in any delivery order (lateness depends on
arrival order, which Kafka does not fix across topics); closing is exercised by a second
phase of events far later in event time, produced after the first phase was joined.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.partitioner import murmur2

from broker.admin import admin_client
from broker.keyring import Keyring
from broker.provision import provision_topics, topic_plan
from broker.settings import Settings
from consumers import Joiner, reference_run
from consumers.joiner.validate import (
    DLQ_DETAIL,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
)
from contracts.catalog import load_catalog
from contracts.envelope import HEADER_DATASCHEMA, HEADER_KEYID, HEADER_TYPE, Record, encode_unsigned
from contracts.events import CxEvent
from contracts.joined import JourneySnapshot
from contracts.vocabulary import JourneyStatus
from tests.kafka_fixture import KafkaEndpoint, client_kwargs, subprocess_env
from tests.unit.consumers.journey_workload import T0, make_workload

pytestmark = pytest.mark.kafka

PARTITIONS = 3
GRACE = timedelta(days=30)
JourneyId = tuple[str, str]


def partition_of(token: str, partitions: int = PARTITIONS) -> int:
    """Kafka's default partitioner for a journey-token key (murmur2)."""
    return int(murmur2(token.encode("ascii")) & 0x7FFFFFFF) % partitions


@dataclass
class Env:
    settings: Settings
    keyring: Keyring
    group: str

    def cli_env(self) -> dict[str, str]:
        env = subprocess_env()
        env.update(
            CX_BOOTSTRAP_SERVERS=self.settings.bootstrap_servers,
            CX_TOPIC_PREFIX=self.settings.topic_prefix,
            CX_STATE_DIR=str(self.settings.state_dir),
            CX_KEYRING_DIR=str(self.settings.keyring_path),
            CX_PARTITIONS=str(self.settings.partitions),
        )
        return env


@pytest.fixture
async def env(kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]) -> Env:
    settings = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=unique("j") + ".",
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
        partitions=PARTITIONS,
    )
    _, result = await provision_topics(settings)
    result.raise_for_conflicts()
    catalog = load_catalog()
    keyring = Keyring(settings.keyring_path)
    keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
    return Env(settings, keyring, unique("joiner"))


def sign(env: Env, events: Iterable[CxEvent]) -> list[tuple[str, Record]]:
    """(topic, signed record) per event."""
    signers: dict[str, Any] = {}
    out = []
    for event in events:
        signer = signers.get(event.agency) or signers.setdefault(
            event.agency, env.keyring.signer(event.agency)
        )
        out.append((env.settings.topics.agency(event.agency), signer.sign(encode_unsigned(event))))
    return out


async def produce(env: Env, records: Iterable[tuple[str, Record]]) -> None:
    producer = AIOKafkaProducer(
        **client_kwargs(env.settings.bootstrap_servers), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                record.value,
                key=record.key,
                partition=partition_of(record.key.decode("ascii")),
                headers=list(record.headers),
            )
            for topic, record in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_all(settings: Settings, topics: list[str]) -> list[Any]:
    """Every committed record of ``topics`` up to their current end."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings.bootstrap_servers),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        async with asyncio.timeout(60):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=500)
                for chunk in batch.values():
                    records.extend(chunk)
        return records
    finally:
        await consumer.stop()


async def joined_history(settings: Settings) -> dict[JourneyId, list[JourneySnapshot]]:
    topics = [settings.topics.joined(le.id) for le in load_catalog().life_experiences]
    history: dict[JourneyId, list[JourneySnapshot]] = {}
    for record in await read_all(settings, topics):
        snap = JourneySnapshot.model_validate_json(record.value)
        assert record.key == snap.journey_token.encode("ascii")
        history.setdefault((snap.life_experience, snap.journey_token), []).append(snap)
    return history


def assert_matches_reference(
    history: dict[JourneyId, list[JourneySnapshot]], expected: dict[JourneyId, JourneySnapshot]
) -> None:
    """Same final snapshot per journey; versions 1..n, each exactly once."""
    assert set(history) == set(expected)
    for journey, snaps in history.items():
        versions = sorted(s.snapshot_version for s in snaps)
        assert versions == list(range(1, len(snaps) + 1)), f"versions {versions}"
        latest = max(snaps, key=lambda s: s.snapshot_version)
        assert latest == expected[journey]


def noisy(events: list[CxEvent], seed: int) -> list[CxEvent]:
    """Shuffled, with a third of the events delivered twice."""
    rng = random.Random(seed)
    out = events + rng.sample(events, len(events) // 3)
    rng.shuffle(out)
    return out


async def join_until_idle(env: Env, idle: float = 2.0, **options: Any) -> Joiner:
    joiner = Joiner(
        env.settings, group=env.group, grace=GRACE, until_idle=idle, status_interval=5, **options
    )
    async with joiner:
        async with asyncio.timeout(90):
            await joiner.run()
    return joiner


def reference(*phases: list[CxEvent]) -> dict[JourneyId, JourneySnapshot]:
    events = [e for phase in phases for e in phase]
    return reference_run(events, partition_of=partition_of, grace=GRACE).final


# ------------------------------------------------------------------------------------ tests


async def test_joined_output_equals_reference_for_shuffled_duplicated_workload(env: Env) -> None:
    phase_a = make_workload(21, 10)
    # Far later in event time: every phase-A journey's window passes in its partition.
    phase_b = make_workload(22, 6, start=T0 + timedelta(days=200))
    await produce(env, sign(env, noisy(phase_a, 1)))
    first = await join_until_idle(env)
    assert first.stats.duplicates == len(phase_a) // 3
    assert first.stats.dead_letters == 0
    await produce(env, sign(env, noisy(phase_b, 2)))
    await join_until_idle(env)

    history = await joined_history(env.settings)
    expected = reference(phase_a, phase_b)
    assert_matches_reference(history, expected)
    # The ordered, duplicate-free delivery has the same reference: order did not matter.
    assert expected == reference(noisy(phase_a, 3), phase_b)
    closed = [s for s in expected.values() if s.status is not JourneyStatus.ACTIVE]
    assert len(closed) >= len(expected) // 2
    assert {s.life_experience for s in expected.values()} == {
        le.id for le in load_catalog().life_experiences
    }


@dataclass
class JoinerProcess:
    """``python -m cxbroker join`` writing to a log file (a full pipe could block it)."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> str:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        return self.output()

    async def finish(self, limit: float = 120) -> str:
        await asyncio.to_thread(self.proc.wait, timeout=limit)
        assert self.proc.returncode == 0, self.output()[-3000:]
        return self.output()


def start_joiner(
    env: Env, instance: str = "0", *extra: str, until_idle: bool = True
) -> JoinerProcess:
    logs = env.settings.state_dir.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"joiner-{instance}-{len(list(logs.iterdir()))}.log"
    with path.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cxbroker",
                "join",
                "--group",
                env.group,
                "--instance",
                instance,
                "--grace",
                "30d",
                *(["--until-idle", "3"] if until_idle else []),
                "--status-interval",
                "2",
                *extra,
            ],
            env=env.cli_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return JoinerProcess(proc, path)


def restored_records(log: str) -> int:
    return sum(int(n) for n in re.findall(r"restored (\d+) changelog records", log))


async def count_committed_snapshots(settings: Settings) -> int:
    topics = [settings.topics.joined(le.id) for le in load_catalog().life_experiences]
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings.bootstrap_servers), isolation_level="read_committed"
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = await consumer.end_offsets(tps)
        return sum(ends.values())  # includes commit markers: a monotone progress gauge
    finally:
        await consumer.stop()


async def wait_for(
    condition: Callable[[], Any], limit: float, what: str, joiner: JoinerProcess
) -> None:
    async with asyncio.timeout(limit):
        while not await condition():
            if joiner.proc.poll() is not None:
                raise AssertionError(f"joiner exited early ({what}): {joiner.output()[-2000:]}")
            await asyncio.sleep(0.05)


async def test_sigkill_at_several_points_then_restart_gives_reference_output(env: Env) -> None:
    events = make_workload(31, 12)
    await produce(env, sign(env, noisy(events, 4)))
    expected = reference(events)
    expected_snapshots = len(events)  # one version per distinct event, no closes here
    kill_points = [expected_snapshots // 6, expected_snapshots // 3, expected_snapshots // 2]
    logs = []
    for round_, point in enumerate(kill_points):
        joiner = start_joiner(env, "0", "--max-batch", "7")

        async def progressed(point: int = point) -> bool:
            return await count_committed_snapshots(env.settings) >= point

        try:
            await wait_for(progressed, 90, f"kill point {point}", joiner)
        finally:
            logs.append(joiner.kill())
        if round_ == 1:
            # Lose the local state entirely: it must come back from the changelog.
            shutil.rmtree(env.settings.state_dir / "joiner")
    await start_joiner(env, "0").finish()
    # The run after the wipe rebuilt its stores from the changelog alone.
    assert restored_records(logs[2]) > 0
    assert_matches_reference(await joined_history(env.settings), expected)

    # Phase B, far later in event time, closes phase-A journeys. Start it from an empty
    # state dir (stream time and open journeys come back from the changelog) and kill once.
    shutil.rmtree(env.settings.state_dir / "joiner")
    phase_b = make_workload(32, 6, start=T0 + timedelta(days=200))
    await produce(env, sign(env, noisy(phase_b, 6)))
    mark = await count_committed_snapshots(env.settings) + len(phase_b) // 3
    joiner = start_joiner(env, "0", "--max-batch", "7")

    async def closing_progressed() -> bool:
        return await count_committed_snapshots(env.settings) >= mark

    try:
        await wait_for(closing_progressed, 90, "phase B kill point", joiner)
    finally:
        joiner.kill()
    await start_joiner(env, "0").finish()
    both = reference(events, phase_b)
    assert any(s.status is not JourneyStatus.ACTIVE for s in both.values())
    assert_matches_reference(await joined_history(env.settings), both)


async def test_two_processes_in_one_group_give_the_same_output_as_one(env: Env) -> None:
    events = make_workload(41, 12)
    await produce(env, sign(env, noisy(events, 5)))
    first = start_joiner(env, "a", "--max-batch", "20")
    second = start_joiner(env, "b", "--max-batch", "20")
    logs = await first.finish() + await second.finish()
    assert "assigned partitions" in logs
    assert_matches_reference(await joined_history(env.settings), reference(events))


async def committed_snapshots(settings: Settings) -> int:
    return sum(len(snaps) for snaps in (await joined_history(settings)).values())


async def test_rebalance_hands_journeys_over_to_a_second_process(env: Env) -> None:
    events = make_workload(43, 12)
    delivery = noisy(events, 7)
    half = len(delivery) // 2
    first_half = delivery[:half]
    await produce(env, sign(env, first_half))
    a = start_joiner(env, "a", until_idle=False)
    distinct_first = len({e.event_id for e in first_half})

    async def first_half_joined() -> bool:
        return await committed_snapshots(env.settings) >= distinct_first

    await wait_for(first_half_joined, 60, "first half joined", a)
    b = start_joiner(env, "b", until_idle=False)

    async def b_owns_partitions() -> bool:
        return re.search(r"assigned partitions \[\d", b.output()) is not None

    await wait_for(b_owns_partitions, 60, "second process assigned", b)
    await produce(env, sign(env, delivery[half:]))

    async def all_joined() -> bool:
        return await committed_snapshots(env.settings) >= len(events)

    await wait_for(all_joined, 60, "everything joined", a)
    for joiner in (a, b):
        joiner.proc.send_signal(signal.SIGTERM)
    log_a, log_b = await a.finish(30), await b.finish(30)
    assert re.search(r"revoked partitions \[\d", log_a)  # a gave partitions away...
    assert restored_records(log_b) > 0  # ...and b took their journeys over from the changelog
    assert_matches_reference(await joined_history(env.settings), reference(events))


async def test_sigterm_stops_the_joiner_cleanly_after_committing(env: Env) -> None:
    events = make_workload(45, 2)
    await produce(env, sign(env, events))
    joiner = start_joiner(env, "0", until_idle=False)

    async def joined_everything() -> bool:
        history = await joined_history(env.settings)
        return sum(len(snaps) for snaps in history.values()) >= len(events)

    await wait_for(joined_everything, 60, "all events joined", joiner)
    joiner.proc.send_signal(signal.SIGTERM)
    log = await joiner.finish(30)
    assert "joiner stopped: records=" in log
    assert_matches_reference(await joined_history(env.settings), reference(events))


async def test_copartition_check_refuses_mismatched_topics(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    settings = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=unique("cp") + ".",
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
        partitions=PARTITIONS,
    )
    odd = settings.topics.agency("sba")
    async with admin_client(settings) as admin:
        plan = topic_plan(settings, 1)
        await admin.create_topics(
            [
                NewTopic(s.name, 2 if s.name == odd else s.partitions, 1, topic_configs=s.configs)
                for s in plan
            ]
        )
    env = subprocess_env()
    env.update(
        CX_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_STATE_DIR=str(settings.state_dir),
        CX_KEYRING_DIR=str(settings.keyring_path),
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "join", "--until-idle", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 6, done.stderr
    assert "co-partitioned" in done.stderr
    assert f"{odd}=2" in done.stderr
    assert f"{settings.topics.agency('ssa')}=3" in done.stderr
    assert "Traceback" not in done.stderr


def retitled(record: Record, **replace: bytes) -> Record:
    headers = tuple((n, replace.get(n, v)) for n, v in record.headers)
    return Record(record.key, record.value, headers)


async def test_bad_records_go_to_deadletter_with_reasons_and_good_ones_are_joined(
    env: Env,
) -> None:
    good = make_workload(51, 3)
    signed = sign(env, good)
    topic, sample = signed[0]
    agency = topic.rsplit(".", 1)[1]
    signer = env.keyring.signer(agency)
    unsigned = encode_unsigned(good[0])

    forged = Record(
        sample.key, sample.value.replace(b'"attempt":1', b'"attempt":2'), sample.headers
    )
    assert forged.value != sample.value
    unknown_key = retitled(sample, **{HEADER_KEYID: b"nobody-sig-20260101-1"})
    malformed = signer.sign(Record(unsigned.key, b'{"event_id": ', unsigned.headers))
    wrong_contract = signer.sign(
        retitled(
            unsigned,
            **{
                HEADER_TYPE: b"gov.cx.application-status.v1",
                HEADER_DATASCHEMA: b"urn:cx:contract:application-status:1.0.0",
            },
        )
    )
    unknown_major = signer.sign(
        retitled(
            unsigned,
            **{
                HEADER_TYPE: b"gov.cx.service-interaction.v9",
                HEADER_DATASCHEMA: b"urn:cx:contract:service-interaction:9.0.0",
            },
        )
    )
    bad = {
        "bad-signature": forged,
        "unknown-key-id": unknown_key,
        "malformed-json": malformed,
        "contract-violation": wrong_contract,
        "unknown-major-version": unknown_major,
    }
    half = len(signed) // 2
    stream = signed[:half] + [(topic, r) for r in bad.values()] + signed[half:]
    await produce(env, stream)
    joiner = await join_until_idle(env)
    assert joiner.stats.dead_letters == len(bad)
    assert dict(joiner.stats.reasons) == dict.fromkeys(bad, 1)

    letters = await read_all(env.settings, [env.settings.topics.deadletter])
    assert len(letters) == len(bad)
    by_reason = {dict(r.headers)[DLQ_REASON].decode(): r for r in letters}
    assert set(by_reason) == set(bad)
    for reason, original in bad.items():
        letter = by_reason[reason]
        headers = dict(letter.headers)
        assert letter.value == original.value  # unchanged bytes
        assert letter.key == original.key
        assert headers[DLQ_TOPIC] == topic.encode()
        assert int(headers[DLQ_PARTITION]) == partition_of(original.key.decode())
        assert int(headers[DLQ_OFFSET]) >= 0
        assert headers[DLQ_DETAIL]
        assert b'"event_id"' not in headers[DLQ_DETAIL]
        for name, value in original.headers:  # original headers kept
            assert headers[name] == value
    assert_matches_reference(await joined_history(env.settings), reference(good))
