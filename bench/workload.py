"""Benchmark environments and payloads.

Every run uses its own topic prefix, state dir and keyring, so runs never see each other's
records. Payloads come from the simulator (realistic raw records, de-identified and signed
by the publisher's own :class:`~producers.publisher.EventPreparer`), so every peer sends the
same bytes; :func:`open_journey_records` makes many single-event journeys cheaply for the
memory-growth section.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from aiokafka.errors import for_code

from broker.admin import admin_client
from broker.errors import CxError
from broker.keyring import Keyring
from broker.provision import provision_topics
from broker.settings import Settings
from contracts import ServiceInteraction, journey_token_from_digest
from contracts.catalog import load_catalog
from contracts.envelope import Record, encode_unsigned
from producers.deid.raw import RawRecord
from producers.publisher import PreparedEvent
from producers.simulator import Simulation, SimulationConfig
from producers.simulator.publish import SimulationPreparer

__all__ = [
    "SECURITY_FIELDS",
    "BenchEnv",
    "Payload",
    "cleaned_up",
    "delete_prefixed_topics",
    "make_env",
    "make_payload",
    "open_journey_records",
    "security_fields",
    "simulated_raws",
]


@dataclass(frozen=True)
class BenchEnv:
    """One isolated deployment on the benchmark's cluster: prefix, state dir and keyring."""

    settings: Settings
    keyring: Keyring
    name: str
    #: Leave the deployment's topics on the broker after :meth:`cleanup` (for inspection).
    keep_topics: bool = False

    def worker_env(self) -> dict[str, str]:
        """``CX_*`` variables that point a worker process at this deployment."""
        return {
            "CX_BOOTSTRAP_SERVERS": self.settings.resolved_bootstrap(),
            "CX_TOPIC_PREFIX": self.settings.topic_prefix,
            "CX_STATE_DIR": str(self.settings.state_dir),
            "CX_KEYRING_DIR": str(self.settings.keyring_path),
            "CX_PARTITIONS": str(self.settings.partitions),
            **security_env(self.settings),
        }

    async def cleanup(self) -> None:
        """Delete the deployment's topics (unless ``keep_topics``) and its local state
        (joiner SQLite files, spools). Call it once no worker of the deployment runs.

        A full run writes gigabytes into its topics; left behind, they fill the user's
        disk, and the broker keeps compacting the compacted ones (changelog, joined)
        while later sections measure. (The broker still removes the deleted files in the
        background, by default a minute later: that I/O is not avoided.)
        """
        if not self.keep_topics:
            await delete_prefixed_topics(self.settings)
        shutil.rmtree(self.settings.state_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def cleaned_up(env: BenchEnv) -> AsyncIterator[BenchEnv]:
    """Yield ``env`` and clean it up after the block, also when the block fails (then a
    failing cleanup does not hide the block's error)."""
    try:
        yield env
    except BaseException:
        with contextlib.suppress(Exception):
            await env.cleanup()
        raise
    await env.cleanup()


async def delete_prefixed_topics(settings: Settings) -> list[str]:
    """Delete every topic under ``settings.topic_prefix`` (which must not be empty);
    return their names. The broker removes the files in the background."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete topics without a topic prefix")
    async with admin_client(settings) as admin:
        names = sorted(t for t in await admin.list_topics() if t.startswith(settings.topic_prefix))
        if names:
            response = await admin.delete_topics(names)
            failed = [(name, code) for name, code in response.topic_error_codes if code]
            if failed:
                raise CxError(
                    f"could not delete {len(failed)} benchmark topic(s), e.g. {failed[0][0]} "
                    f"({for_code(failed[0][1]).__name__})"
                )
    return names


def security_env(settings: Settings) -> dict[str, str]:
    """``CX_*`` variables carrying the settings' security (a worker authenticates the same way)."""
    env = {"CX_SECURITY_PROTOCOL": settings.security_protocol.value}
    if settings.sasl_username:
        env["CX_SASL_MECHANISM"] = settings.sasl_mechanism
        env["CX_SASL_USERNAME"] = settings.sasl_username
    if settings.sasl_password is not None:
        env["CX_SASL_PASSWORD"] = settings.sasl_password.get_secret_value()
    if settings.ca_file is not None:
        env["CX_CA_FILE"] = str(settings.ca_file)
    return env


#: Settings fields that say how a client authenticates (carried into every bench deployment).
SECURITY_FIELDS: Final = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
    "ca_file",
)


def security_fields(settings: Settings) -> dict[str, Any]:
    """The security fields ``settings`` set explicitly or through a profile."""
    return {name: getattr(settings, name) for name in SECURITY_FIELDS}


async def make_env(
    bootstrap: str,
    work_dir: Path,
    name: str,
    partitions: int,
    keyring: Keyring | None = None,
    security: Mapping[str, Any] | None = None,
    *,
    keep_topics: bool = False,
) -> BenchEnv:
    """Create the topics of a fresh prefix and (unless given) a keyring for every agency.

    ``security`` (see :func:`security_fields`) is how clients authenticate; without it
    the ``CX_*`` environment decides, as for any :class:`Settings`.
    """
    run_id = f"{name}-{int(time.time())}-{secrets.token_hex(3)}"
    settings = Settings(
        **dict(security or {}),
        bootstrap_servers=bootstrap,
        topic_prefix=f"bench.{run_id}.",
        state_dir=work_dir / run_id / "state",
        keyring_dir=keyring.path if keyring is not None else work_dir / run_id / "keyring",
        partitions=partitions,
    )
    _, result = await provision_topics(settings)
    result.raise_for_conflicts()
    await _wait_for_leaders(settings)
    if keyring is None:
        catalog = load_catalog()
        keyring = Keyring(settings.keyring_path)
        keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
    return BenchEnv(settings, keyring, run_id, keep_topics)


async def _wait_for_leaders(settings: Settings, limit: float = 30.0) -> None:
    """Wait until every agency topic's partitions have a leader (fresh topics may not yet,
    and the first sends would then be retried, skewing the first peer's figures)."""
    from aiokafka import AIOKafkaProducer, TopicPartition

    topics = [settings.topics.agency(a.id) for a in load_catalog().agencies]
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        deadline = time.monotonic() + limit
        while True:
            missing = 0
            for topic in topics:
                partitions = await producer.partitions_for(topic)
                for partition in partitions:
                    leader = producer.client.cluster.leader_for_partition(
                        TopicPartition(topic, partition)
                    )
                    missing += leader is None or leader < 0
            if not missing or time.monotonic() > deadline:
                return
            await producer.client.force_metadata_update()
    finally:
        await producer.stop()


def simulated_raws(
    count: int, seed: int, *, duplicates: bool = True, start: datetime | None = None
) -> list[RawRecord]:
    """The first ``count`` raw records of a seeded simulation (synthetic PII inside).

    ``duplicates=False`` turns off the simulator's resends and late deliveries, so every
    record folds into exactly one new snapshot (the latency section relies on that).
    """
    config = (
        SimulationConfig() if duplicates else SimulationConfig(late_rate=0.0, duplicate_rate=0.0)
    )
    # About five records per journey; ask for more journeys than needed and stop early.
    simulation = Simulation(max(1, count // 3 + 10), seed, start=start, config=config)
    out: list[RawRecord] = []
    for delivery in simulation.deliveries():
        out.append(delivery.record)
        if len(out) == count:
            break
    if len(out) < count:
        raise CxError(f"the simulation gave {len(out)} records, not {count}")
    return out


@dataclass(frozen=True)
class Payload:
    """The same events as raw records (for the publisher) and as signed records (for the
    raw peers), with their agency topics."""

    raws: list[RawRecord]
    prepared: list[PreparedEvent]
    topics: list[str]

    @property
    def mean_value_bytes(self) -> int:
        """Mean size of a record value (what ProducerPerformance's ``--record-size`` gets)."""
        return round(sum(len(p.record.value) for p in self.prepared) / max(1, len(self.prepared)))

    @property
    def mean_record_bytes(self) -> int:
        """Mean size of key, value and headers together."""
        total = sum(
            len(p.record.key)
            + len(p.record.value)
            + sum(len(n) + len(v) for n, v in p.record.headers)
            for p in self.prepared
        )
        return round(total / max(1, len(self.prepared)))


def make_payload(env: BenchEnv, count: int, seed: int) -> Payload:
    """``count`` simulated records, de-identified and signed with ``env``'s keyring."""
    raws = simulated_raws(count, seed)
    preparer = SimulationPreparer(env.keyring)
    prepared = [preparer.prepare(raw) for raw in raws]
    topics = [env.settings.topics.agency(raw.agency) for raw in raws]
    return Payload(raws, prepared, topics)


def open_journey_records(
    env: BenchEnv, journeys: int, seed: int, *, events_per_journey: int = 1, offset: int = 0
) -> Iterator[tuple[str, Record]]:
    """(topic, signed record), made lazily, for ``events_per_journey`` events of each of
    ``journeys`` journeys that stay open (all within ten minutes of event time, inside the joiner's
    default one-hour grace, and no outcome that closes a journey).

    Journey ``i`` has the same token for every ``offset``, so a second call with a new
    ``offset`` adds events to the journeys the first call opened.
    """
    catalog = load_catalog()
    plans = []
    for le in catalog.life_experiences:
        participant = le.participants[0]
        service = catalog.service(participant.services[0])
        plans.append((le.id, participant.agency, service.id, service.stages[0].value))
    signers = {agency: env.keyring.signer(agency) for _, agency, _, _ in plans}
    rng = random.Random(seed)
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for index in range(journeys):
        le_id, agency, service_id, stage = plans[index % len(plans)]
        token = journey_token_from_digest(
            random.Random(f"bench-journey/{seed}/{index}").randbytes(32)
        )
        for number in range(events_per_journey):
            at = base + timedelta(seconds=index % 600, milliseconds=offset + number)
            event = ServiceInteraction(
                event_id=UUID(int=rng.getrandbits(128), version=4),
                agency=agency,
                life_experience=le_id,
                journey_token=token,
                token_rule="ssn-dob",
                linkage_key_id=f"{le_id}-link-1",
                occurred_at=at,
                service_id=service_id,
                age_band="25-29",
                stage=stage,
                channel="web",
                started_at=at - timedelta(minutes=10),
                ended_at=at,
                outcome="escalated",
                wait_seconds=30.0,
                attempt=1,
            )
            record = signers[agency].sign(encode_unsigned(event))
            yield env.settings.topics.agency(agency), record
