"""Helpers shared by the joiner's integration tests and the reliability scenarios.

Re-exports the helpers of ``test_joiner.py`` (one definition, no copies) and adds what the
reliability scenarios need: settings with a fresh topic prefix, a keyring of real or corpus
TEST keys, raw producing (any key/value/headers, metadata back) and counting event ids.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from broker.keyring import PUBLIC_KEYRING_FILE, Keyring
from broker.provision import provision_topics
from broker.settings import Settings
from contracts.catalog import load_catalog
from contracts.envelope import HEADER_ID, Record, encode_unsigned
from contracts.events import CxEvent
from tests.hostile.corpus import corpus_public_keyring, corpus_signer
from tests.integration.test_joiner import (
    GRACE,
    PARTITIONS,
    Env,
    JoinerProcess,
    assert_matches_reference,
    count_committed_snapshots,
    join_until_idle,
    joined_history,
    noisy,
    partition_of,
    produce,
    read_all,
    reference,
    restored_records,
    start_joiner,
    wait_for,
)
from tests.kafka_fixture import client_kwargs
from tests.kafka_fixture import subprocess_env as base_env

__all__ = [
    "GRACE",
    "PARTITIONS",
    "Env",
    "JoinerProcess",
    "RawRecord",
    "assert_matches_reference",
    "count_committed_snapshots",
    "event_id_counts",
    "join_until_idle",
    "joined_history",
    "make_env",
    "noisy",
    "partition_of",
    "produce",
    "produce_raw",
    "read_all",
    "reference",
    "restored_records",
    "sign_with_corpus_keys",
    "start_joiner",
    "subprocess_env",
    "wait_for",
]


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
        settings.keyring_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (settings.keyring_path / PUBLIC_KEYRING_FILE).write_bytes(corpus_public_keyring().to_json())
    else:
        catalog = load_catalog()
        keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
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
