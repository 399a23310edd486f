"""Helpers shared by the joiner's integration tests and the reliability scenarios.

Settings with a fresh topic prefix and a keyring per test (``Env``), signing and producing
events, reading the joined output back, the pure reference fold to compare it with, and
``cxbroker join`` child processes; plus what the reliability scenarios need: a keyring of
the hostile corpus's TEST keys, raw producing (any key/value/headers) and counting ids.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2
from aiokafka.structs import RecordMetadata

from broker.keyring import Keyring, OrgKeys, Owner, PublicKey, PublicKeyring
from broker.provision import provision_topics
from broker.settings import Settings
from consumers import Joiner, reference_run
from contracts.catalog import load_catalog
from contracts.envelope import (
    HEADER_ID,
    Record,
    encode_unsigned,
)
from contracts.events import CxEvent
from contracts.joined import JourneySnapshot
from tests.hostile.corpus import corpus_public_keyring, corpus_signer
from tests.support.kafka import client_kwargs
from tests.support.kafka import subprocess_env as base_env
from tests.support.keyrings import DAY1 as CORPUS_TIME
from tests.support.keyrings import keyring_for, write_signed_public_keyring

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
        env = base_env()
        env.update(
            CX_BOOTSTRAP_SERVERS=self.settings.bootstrap_servers,
            CX_TOPIC_PREFIX=self.settings.topic_prefix,
            CX_STATE_DIR=str(self.settings.state_dir),
            CX_KEYRING_DIR=str(self.settings.keyring_path),
            CX_PARTITIONS=str(self.settings.partitions),
        )
        return env


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


async def make_env(
    bootstrap_servers: str, tmp_path: Path, prefix: str, group: str, *, corpus_keys: bool = False
) -> Env:
    """Topics under a fresh ``prefix``, a state dir in ``tmp_path`` and a keyring.

    ``corpus_keys`` writes the public keyring of the hostile corpus TEST keys (the
    returned ``Env.keyring`` then holds no private keys: sign with
    :func:`sign_with_corpus_keys`); otherwise a fresh keyring is initialised.
    """
    settings = Settings(
        bootstrap_servers=bootstrap_servers,
        topic_prefix=prefix + ".",
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
        partitions=PARTITIONS,
    )
    _, result = await provision_topics(settings)
    result.raise_for_conflicts()
    keyring = Keyring(settings.keyring_path)
    if corpus_keys:
        # A joiner operator's directory: its deployment key, and a signed keyring of the
        # corpus agencies' keys and that deployment key (what its readers trust).
        operator = OrgKeys(settings.keyring_path)
        operator.init(Owner("joiner", "hostile-test"))
        own = operator.deployment_signer()
        deployment = PublicKey(
            Owner("joiner", "hostile-test"), own.key_id, own.public_key(), CORPUS_TIME, True
        )
        public = PublicKeyring([*corpus_public_keyring().entries(), deployment])
        write_signed_public_keyring(settings.keyring_path, public)
    else:
        keyring = keyring_for(settings.keyring_path)
    return Env(settings, keyring, group)


def sign_with_corpus_keys(
    settings: Settings, events: Iterable[CxEvent]
) -> list[tuple[str, Record]]:
    """(agency topic, record signed with the corpus TEST key) per event."""
    return [
        (settings.topics.agency(e.agency), corpus_signer(e.agency).sign(encode_unsigned(e)))
        for e in events
    ]


@dataclass(frozen=True)
class RawRecord:
    """Anything a hostile producer may send: no constraint on key, value or headers."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]

    @property
    def partition(self) -> int:
        """The default partitioner's choice for an ASCII key; partition 0 otherwise."""
        try:
            return partition_of(self.key.decode("ascii")) if self.key else 0
        except UnicodeDecodeError:
            return 0


async def produce_raw(bootstrap_servers: str, records: Sequence[RawRecord]) -> list[RecordMetadata]:
    """Send ``records`` in order (acks=all, idempotent); their metadata, in the same order."""
    producer = AIOKafkaProducer(
        **client_kwargs(bootstrap_servers),
        acks="all",
        enable_idempotence=True,
        max_request_size=2_000_000,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                r.topic, r.value, key=r.key, partition=r.partition, headers=list(r.headers)
            )
            for r in records
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


def event_id_counts(records: Iterable[Any]) -> Counter[str]:
    """How often each ``ce_id`` occurs among consumed records."""
    counts: Counter[str] = Counter()
    for record in records:
        for name, value in record.headers:
            if name == HEADER_ID:
                counts[value.decode("ascii")] += 1
    return counts


def subprocess_env(settings: Settings) -> dict[str, str]:
    """The environment of a ``python -m cxbroker ...`` subprocess bound to ``settings``."""
    env = base_env()
    env.update(
        CX_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_STATE_DIR=str(settings.state_dir),
        CX_KEYRING_DIR=str(settings.keyring_path),
        CX_PARTITIONS=str(settings.partitions),
    )
    return env
