"""Zombie joiners on a 3-node cluster (RF 3) with a broker restart during the rounds.

The rounds of tests/support/zombie.py; at the start of one round the broker leading the
first agency partition is SIGKILLed, and a later round starts it again. The joined output
must still equal the reference, and every thawed joiner must say it was fenced.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.admin import admin_client
from broker.kafka.launcher import LocalKafka
from broker.settings import Settings
from tests.support.joiner import make_env
from tests.support.zombie import zombie_rounds

pytestmark = [pytest.mark.kafka, pytest.mark.three_nodes]


@pytest.fixture
def cluster(three_node_cluster: LocalKafka) -> LocalKafka:
    """The session's 3-node cluster (tests/conftest.py)."""
    return three_node_cluster


async def leader_of(settings: Settings, topic: str, partition: int) -> int:
    async with admin_client(settings) as admin:
        (described,) = await admin.describe_topics([topic])
    (entry,) = [p for p in described["partitions"] if p["partition"] == partition]
    return int(entry["leader"])


async def run(cluster: LocalKafka, tmp_path: Path, rounds: int, kill_at: int) -> None:
    env = await make_env(cluster.bootstrap_servers, tmp_path, f"zombie3-{rounds}", "zombie3")
    victim = await leader_of(env.settings, env.settings.topics.agency("ssa"), 0)
    restarted: list[int] = []

    async def restart_a_broker(round_: int) -> None:
        if round_ == kill_at:
            await asyncio.to_thread(cluster.kill_node, victim)
        elif round_ == kill_at + 1:
            await cluster.start_node(victim)
            restarted.append(victim)

    result = await zombie_rounds(env, rounds, seed=rounds * 11 + 3, disturb=restart_a_broker)
    print(f"zombie rounds on three nodes (broker {victim} killed, restarted): {result}")
    assert result.rounds == rounds
    assert restarted == [victim]
    assert all(n >= 1 for n in result.fenced)


@pytest.mark.timeout(1200)
async def test_zombie_rounds_with_a_broker_restart(cluster: LocalKafka, tmp_path: Path) -> None:
    await run(cluster, tmp_path, rounds=2, kill_at=0)


@pytest.mark.long
@pytest.mark.timeout(2400)
async def test_ten_zombie_rounds_with_a_broker_restart(cluster: LocalKafka, tmp_path: Path) -> None:
    await run(cluster, tmp_path, rounds=10, kill_at=4)
