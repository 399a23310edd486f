"""A 3-node local cluster: replication factor 3, min.insync.replicas=2, acks=all writes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from broker.admin import admin_client
from broker.kafka.launcher import LocalKafka
from broker.provision import provision_topics
from broker.settings import Settings
from broker.topics import TopicAction

pytestmark = [pytest.mark.kafka, pytest.mark.three_nodes]


@pytest.fixture(scope="module")
def three_nodes(
    three_node_cluster: LocalKafka, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings on the session's 3-node cluster, under a topic prefix of this module's own."""
    return Settings(
        state_dir=tmp_path_factory.mktemp("three-nodes-plan"),
        bootstrap_servers=three_node_cluster.bootstrap_servers,
        topic_prefix=f"plan3-{uuid.uuid4().hex[:8]}.",
    )


async def test_plan_on_three_nodes_uses_rf3_and_min_isr2(three_nodes: Settings) -> None:
    plan, result = await provision_topics(three_nodes)
    assert not result.conflicts
    assert {s.replication_factor for s in plan} == {3}
    assert {s.configs["min.insync.replicas"] for s in plan} == {"2"}
    assert set(result.actions.values()) == {TopicAction.CREATED}
    async with admin_client(three_nodes) as admin:
        meta = await admin.describe_cluster()
        assert len(meta["brokers"]) == 3
        # The node that answers may learn of the new topic's partitions a moment after the
        # create returned (KRaft metadata propagates asynchronously): wait until it has.
        topic = three_nodes.topics.agency("ssa")
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            partitions = (await admin.describe_topics([topic]))[0]["partitions"]
            if partitions or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert partitions and all(len(p["replicas"]) == 3 for p in partitions)


async def test_acks_all_writes_are_accepted(three_nodes: Settings) -> None:
    _, result = await provision_topics(three_nodes)  # no-op when the plan already holds
    assert not result.conflicts
    producer = AIOKafkaProducer(
        bootstrap_servers=three_nodes.bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        metas = [
            await producer.send_and_wait(
                three_nodes.topics.agency("ssa"), f"event-{i}".encode(), key=f"k{i}".encode()
            )
            for i in range(50)
        ]
    finally:
        await producer.stop()
    assert len({(m.partition, m.offset) for m in metas}) == 50
    async with admin_client(three_nodes) as admin:
        described = await admin.describe_topics([three_nodes.topics.agency("ssa")])
        assert all(len(p["isr"]) >= 2 for p in described[0]["partitions"])
