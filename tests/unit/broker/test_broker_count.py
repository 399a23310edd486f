"""How many brokers a plan is made for: the live ones and those that hold replicas."""

from __future__ import annotations

from typing import Any

from broker.admin import broker_count
from broker.provision import topic_plan
from broker.settings import Settings


class FakeAdmin:
    """The two metadata views :func:`broker_count` reads, as aiokafka returns them."""

    def __init__(self, live: list[int], replicas: dict[str, list[list[int]]]) -> None:
        self.live = live
        self.replicas = replicas

    async def describe_cluster(self) -> dict[str, Any]:
        return {
            "brokers": [{"node_id": n, "host": "127.0.0.1", "port": 9000 + n} for n in self.live]
        }

    async def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]:
        return [
            {
                "topic": name,
                "partitions": [
                    {"partition": i, "replicas": r, "isr": [n for n in r if n in self.live]}
                    for i, r in enumerate(parts)
                ],
            }
            for name, parts in self.replicas.items()
        ]


async def test_a_stopped_broker_still_counts_through_the_replicas_it_holds() -> None:
    # Node 3 of three is down: DescribeCluster lists two, the internal topic names three.
    admin = FakeAdmin([1, 2], {"__consumer_offsets": [[1, 2, 3], [2, 3, 1]]})
    count = await broker_count(admin)
    assert count == 3
    plan = topic_plan(Settings(), count)
    assert {s.replication_factor for s in plan} == {3}


async def test_a_fresh_cluster_counts_its_live_brokers() -> None:
    assert await broker_count(FakeAdmin([1], {})) == 1
    assert await broker_count(FakeAdmin([1, 2, 3], {"t": [[1]]})) == 3


async def test_topics_without_partitions_or_replicas_are_harmless() -> None:
    admin = FakeAdmin([1], {"empty": []})
    assert await broker_count(admin) == 1
