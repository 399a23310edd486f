"""Broker failure on a 3-node cluster (RF 3, min.insync.replicas 2, acks=all).

Issue 9's scenario: an idempotent acks=all producer
publishes signed events while the joiner process joins them; once a third of the events
are acknowledged, the broker leading the first agency partition is SIGKILLed. Afterwards
every acknowledged event is in its topic exactly once (counted by event id) and every
journey's snapshots equal the reference; the killed broker is restarted and every
partition's ISR is back to 3.

``make test`` runs it with about 25,000 events; ``pytest -m long`` at full size (about
100,000 events), as issue 9 asked.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from broker.admin import admin_client
from broker.kafka.launcher import LocalKafka
from broker.settings import Settings
from contracts.catalog import load_catalog
from tests.support.joiner import (
    Env,
    assert_matches_reference,
    event_id_counts,
    joined_history,
    make_env,
    partition_of,
    read_all,
    reference,
    sign,
    start_joiner,
    wait_for,
)
from tests.support.journeys import make_workload

pytestmark = [pytest.mark.kafka, pytest.mark.three_nodes]

FULL_SIZE = 2_200  # journeys per life experience: about 100,000 events
SHORT_SIZE = 550  # about 25,000 events


@pytest.fixture
def cluster(three_node_cluster: LocalKafka) -> LocalKafka:
    """The session's 3-node cluster (tests/conftest.py)."""
    return three_node_cluster


def agency_topics(settings: Settings) -> list[str]:
    return [settings.topics.agency(a.id) for a in load_catalog().agencies]


async def group_lag(settings: Settings, group: str) -> int:
    """Records of the agency topics the group has not committed yet."""
    topics = agency_topics(settings)
    async with admin_client(settings) as admin:
        committed = await admin.list_consumer_group_offsets(group)
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    done = {tp: meta.offset for tp, meta in committed.items()}
    return sum(end - done.get(tp, 0) for tp, end in ends.items())


async def isr_sizes(settings: Settings) -> set[int]:
    async with admin_client(settings) as admin:
        described = await admin.describe_topics(
            [*agency_topics(settings), settings.topics.changelog]
        )
    return {len(p["isr"]) for topic in described for p in topic["partitions"]}


async def leader_of(settings: Settings, topic: str, partition: int) -> int:
    async with admin_client(settings) as admin:
        (described,) = await admin.describe_topics([topic])
    (entry,) = [p for p in described["partitions"] if p["partition"] == partition]
    return int(entry["leader"])


async def publish_counting(env: Env, records: list[Any], acked: list[int]) -> list[Any]:
    """Send everything pipelined; ``acked[0]`` counts acknowledgements as they come."""
    producer = AIOKafkaProducer(
        **env.settings.kafka_client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30_000,
    )
    await producer.start()

    def count(_: Any) -> None:
        acked[0] += 1

    try:
        futures = []
        for topic, record in records:
            future = await producer.send(
                topic,
                record.value,
                key=record.key,
                partition=partition_of(record.key.decode("ascii")),
                headers=list(record.headers),
            )
            future.add_done_callback(count)
            futures.append(future)
        return list(await asyncio.gather(*futures, return_exceptions=True))
    finally:
        await producer.stop()


async def test_sigkill_one_of_three_brokers_while_publishing_and_joining(
    cluster: LocalKafka, tmp_path: Path
) -> None:
    await sigkill_while_publishing_and_joining(cluster, tmp_path, SHORT_SIZE, "rf3s")


@pytest.mark.long
async def test_sigkill_one_of_three_brokers_at_full_size(
    cluster: LocalKafka, tmp_path: Path
) -> None:
    await sigkill_while_publishing_and_joining(cluster, tmp_path, FULL_SIZE, "rf3")


async def sigkill_while_publishing_and_joining(
    cluster: LocalKafka, tmp_path: Path, journeys_per_life_experience: int, prefix: str
) -> None:
    env = await make_env(cluster.bootstrap_servers, tmp_path, prefix, f"joiner-{prefix}")
    async with admin_client(env.settings) as admin:
        (described,) = await admin.describe_topics([env.settings.topics.agency("ssa")])
    assert {len(p["replicas"]) for p in described["partitions"]} == {3}
    events = make_workload(81, journeys_per_life_experience)
    assert len(events) >= 45 * journeys_per_life_experience
    records = sign(env, events)
    victim = await leader_of(env.settings, env.settings.topics.agency("ssa"), 0)

    joiner = start_joiner(env, "0", until_idle=False)
    acked = [0]
    publishing = asyncio.create_task(publish_counting(env, records, acked))
    try:

        async def a_third_acked() -> bool:
            return acked[0] >= len(records) // 3

        await wait_for(a_third_acked, 300, "a third acknowledged", joiner)
        await asyncio.to_thread(cluster.kill_node, victim)
        acked_at_kill = acked[0]
        outcomes = await asyncio.wait_for(publishing, 600)

        async def all_joined() -> bool:
            return await group_lag(env.settings, env.group) == 0

        await wait_for(all_joined, 900, "joiner caught up", joiner)
    finally:
        publishing.cancel()
        if joiner.proc.poll() is None:
            joiner.proc.send_signal(signal.SIGTERM)
    log = await joiner.finish(60)
    assert "joiner stopped: records=" in log

    # The kill hit a live publisher: most events were still unacknowledged.
    assert acked_at_kill < len(records)
    print(f"three nodes: {len(events)} events, killed node {victim} at {acked_at_kill} acks")
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    acknowledged = {
        str(e.event_id) for e, o in zip(events, outcomes, strict=True) if o not in failed
    }
    assert not failed, f"{len(failed)} sends failed: {failed[:3]}"
    counts = event_id_counts(await read_all(env.settings, agency_topics(env.settings)))
    assert set(counts) == acknowledged
    assert set(counts.values()) == {1}  # exactly once
    history = await joined_history(env.settings)
    assert_matches_reference(history, reference(events))
    assert sum(len(s) for s in history.values()) == len(events)

    # The killed broker comes back and catches up: every ISR is full again.
    await cluster.start_node(victim)

    async def isr_full() -> bool:
        return await isr_sizes(env.settings) == {3}

    async with asyncio.timeout(120):
        for _ in itertools.count():  # polling Kafka state: no event to wait on
            if await isr_full():
                break
            await asyncio.sleep(0.5)
