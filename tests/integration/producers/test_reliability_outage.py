"""Whole-cluster outage: a dedicated one-node cluster stops while a publisher publishes
and the joiner runs; after the restart everything flows, nothing lost or duplicated.

The publisher spools while Kafka is down (``producers.spool``) and drains after the
restart; the joiner process must ride the outage out (waiting and retrying) rather than
exit, and then join everything: one snapshot version per distinct event, equal to the
pure reference over the events the agency topic holds.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from broker.kafka.launcher import LocalKafka
from broker.settings import Settings
from contracts.envelope import decode
from producers import AgencyPublisher, DeliveryStatus, RawRecord
from tests.support.files import AGENCY, good
from tests.support.joiner import (
    assert_matches_reference,
    event_id_counts,
    joined_history,
    make_env,
    read_all,
    reference,
    start_joiner,
    wait_for,
)

pytestmark = pytest.mark.kafka

BATCH = 60
IDLE = 10  # seconds: the joiner's --until-idle


@pytest_asyncio.fixture(loop_scope="session")
async def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalKafka]:
    """A dedicated one-node cluster this test stops and restarts."""
    state_dir = tmp_path_factory.mktemp("reliability-outage")
    async with LocalKafka(Settings(state_dir=state_dir), nodes=1) as cluster:
        yield cluster


def raws(start: int) -> list[RawRecord]:
    return [RawRecord.model_validate(good(i % 4, start + i)) for i in range(BATCH)]


async def snapshots(settings: Settings) -> int:
    return sum(len(s) for s in (await joined_history(settings)).values())


async def test_cluster_outage_spools_waits_and_then_loses_nothing(
    own_cluster: LocalKafka, tmp_path: Path
) -> None:
    env = await make_env(own_cluster.bootstrap_servers, tmp_path, "outage", "joiner-outage")
    options: dict[str, Any] = {"send_timeout": 3.0, "retry_interval": 0.5}
    # With --until-idle the joiner exits once idle: an outage (longer than the idle
    # limit, see below) must not count as idle.
    joiner = start_joiner(env, "0", "--until-idle", str(IDLE), until_idle=False)
    try:
        async with AgencyPublisher(env.settings, AGENCY, keyring=env.keyring, **options) as pub:
            before = await pub.publish_many(raws(1000))
            assert {r.status for r in before} == {DeliveryStatus.SENT}

            async def first_batch_joined() -> bool:
                return await snapshots(env.settings) >= BATCH

            await wait_for(first_batch_joined, 60, "first batch joined", joiner)

            await asyncio.to_thread(own_cluster.stop_node, 1)
            during: list[Any] = []
            for start in range(2000, 2000 + 3 * BATCH, BATCH):
                during += await pub.publish_many(raws(start))
            assert {r.status for r in during} == {DeliveryStatus.SPOOLED}
            assert pub.spooled == 3 * BATCH
            # The joiner reports the outage with backing-off status lines; wait until it
            # has been cut off for longer than its idle limit (0.5+1+2+4+8 s of backoff
            # before it says "retrying in 10s"): it must still be running, not have
            # given up or taken the outage for idleness.

            async def reported_long_outage() -> bool:
                return "retrying in 10s" in joiner.output()

            await wait_for(reported_long_outage, 90, "outage reported", joiner)
            down_log = joiner.output()
            assert joiner.proc.poll() is None, f"joiner exited in the outage:\n{down_log[-3000:]}"
            status = [line for line in down_log.splitlines() if "kafka unreachable since" in line]
            assert status and all(" WARNING cx.joiner: status " in line for line in status)
            assert [d for d in ("in 0.5s", "in 1s", "in 2s", "in 4s", "in 8s") if d in down_log]
            # aiokafka's own repeated errors are rate-limited (unthrottled: dozens a second).
            noise = [line for line in down_log.splitlines() if " aiokafka" in line]
            assert len(noise) <= 40, "\n".join(noise[-40:])

            await own_cluster.start_node(1)
            after = await pub.publish_many(raws(3000))
            await asyncio.wait_for(pub.wait_drained(), 90)
            assert pub.spooled == 0
        total = BATCH * 5

        async def all_joined() -> bool:
            return await snapshots(env.settings) >= total

        await wait_for(all_joined, 90, "everything joined after the restart", joiner)
    finally:
        if joiner.proc.poll() is None:
            joiner.proc.send_signal(signal.SIGTERM)
    log = await joiner.finish(60)
    assert "joiner stopped: records=" in log
    assert "kafka reachable again after" in log
    assert {r.status for r in after} <= {DeliveryStatus.SENT, DeliveryStatus.SPOOLED}

    records = await read_all(env.settings, [env.settings.topics.agency(AGENCY)])
    counts = event_id_counts(records)
    published = {str(r.event_id) for r in [*before, *during, *after]}
    assert set(counts) == published  # nothing lost
    assert set(counts.values()) == {1}  # nothing duplicated in the topic
    events = [decode(r.key, r.value, r.headers).event for r in records]
    history = await joined_history(env.settings)
    assert_matches_reference(history, reference(events))
    assert sum(len(s) for s in history.values()) == total
