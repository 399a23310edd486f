"""On the real broker: every joined and insights record is a signed CloudEvent, and a
snapshot forged by an admin principal is rejected by subscribe(), tail and FastStream."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings import kafka as ce_kafka

from broker.keyring.deployment import PUBLIC_DEPLOYMENTS_FILE, DeploymentKeys, DeploymentVerifier
from consumers import InsightsService, subscribe
from consumers.faststream import cx_broker, joined_subscriber
from consumers.verified import Rejection
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot
from tests.support.joiner import Env, join_until_idle, produce, read_all, reference, sign
from tests.support.journeys import make_workload
from tests.support.kafka import client_kwargs
from tests.support.provenance import TEST_JOINER, snapshot_record
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka

LE = "recovering-from-a-disaster"


async def test_every_joined_and_insights_record_is_a_signed_cloudevent(
    env: Env, tmp_path: Path
) -> None:
    events = make_workload(67, 12)
    await produce(env, sign(env, events))
    await join_until_idle(env)
    (report,) = await InsightsService(env.settings, [LE], within=60).catch_up()
    assert report.invalid_records == 0

    # A reader holds only the public files: verify with an exported copy.
    public = tmp_path / "reader"
    public.mkdir()
    DeploymentKeys(env.settings.keyring_path).export_public(public)
    verifier = DeploymentVerifier(public / PUBLIC_DEPLOYMENTS_FILE)

    topics = [env.settings.topics.joined(le) for le in {e.life_experience for e in events}]
    insights_topic = env.settings.topics.insights(LE)
    records = await read_all(env.settings, [*topics, insights_topic])
    joined = [r for r in records if r.topic != insights_topic and r.value is not None]
    insights = [r for r in records if r.topic == insights_topic and r.value is not None]
    assert joined and insights, (len(joined), len(insights))
    ids: set[str] = set()
    for record in [*joined, *insights]:
        headers = list(record.headers)
        message = ce_kafka.KafkaMessage(headers=dict(headers), key=record.key, value=record.value)
        event = ce_kafka.from_binary_event(message)  # the official SDK parses it
        assert event.get_specversion() == "1.0"
        kind = "joiner" if record.topic in topics else "insights"
        assert event.get_source().startswith(f"urn:cx:{kind}:")
        assert event.get_datacontenttype() == "application/json"
        assert isinstance(event.get_data(), dict)
        assert verifier.verify(record.key, record.value, headers) == event.get_source()
        ids.add(event.get_id())
    # Distinct records have distinct ids (the id is made of the journey and its version).
    assert len(ids) == len(joined) + len(insights)


async def _forge(env: Env, snapshot: JourneySnapshot, tmp_path: Path) -> None:
    """Write, as the admin principal, a forged copy of ``snapshot`` (status changed, signed
    with a key the readers do not know) and an unsigned one."""
    forger_dir = tmp_path / "forger"
    forger_dir.mkdir(mode=0o700)
    forger = DeploymentKeys(forger_dir)
    forger.init("joiner", TEST_JOINER)
    forged = snapshot.model_copy(update={"snapshot_version": snapshot.snapshot_version + 1})
    key, value, headers = snapshot_record(
        env.settings.model_copy(update={"keyring_dir": forger_dir}), forged
    )
    producer = AIOKafkaProducer(**client_kwargs(env.settings.bootstrap_servers), acks="all")
    await producer.start()
    try:
        topic = env.settings.topics.joined(LE)
        await producer.send_and_wait(topic, value, key=key, headers=headers)
        await producer.send_and_wait(
            topic, value, key=key, headers=[("content-type", b"application/json")]
        )
    finally:
        await producer.stop()


async def test_a_forged_snapshot_is_rejected_by_every_reader(env: Env, tmp_path: Path) -> None:
    events = [e for e in make_workload(71, 4) if e.life_experience == LE]
    await produce(env, sign(env, events))
    await join_until_idle(env)
    expected = {token for (le, token) in reference(events) if le == LE}
    genuine: list[Any] = []

    async def all_joined() -> bool:
        genuine[:] = await read_all(env.settings, [env.settings.topics.joined(LE)])
        return {r.key.decode() for r in genuine} == expected

    await eventually(all_joined, "every journey's snapshots are on the joined topic", 60)
    count = len(genuine)
    snapshots = [JourneySnapshot.model_validate_json(r.value) for r in genuine]
    # The latest version of one journey: its forged "next version" is no genuine record.
    victim = max(
        (s for s in snapshots if s.journey_token == snapshots[0].journey_token),
        key=lambda s: s.snapshot_version,
    )
    await _forge(env, victim, tmp_path)
    token = victim.journey_token

    # subscribe(): the genuine snapshots, and two rejections reported by coordinates.
    rejected: list[Rejection] = []
    seen: list[JourneySnapshot | ProtectedSnapshot] = []
    source = subscribe(LE, settings=env.settings, tier="restricted", on_rejected=rejected.append)
    async with asyncio.timeout(90):
        while True:  # until idle: the forged records come last and yield nothing
            try:
                seen.append(await asyncio.wait_for(anext(source), 8))
            except TimeoutError:
                break
    assert len(seen) == count
    assert all(
        s.snapshot_version <= victim.snapshot_version or s.journey_token != token for s in seen
    )
    assert sorted(r.reason for r in rejected) == ["missing-header", "unknown-key-id"]

    # cxbroker tail --output json: one JSON object per line, genuine ones only; the
    # rejections on stderr without the token.
    tail = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "tail", "joined", LE, "--idle", "4", "--output", "json"],
        env=env.cli_env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert len(lines) == count
    printed = [JourneySnapshot.model_validate(json.loads(line)) for line in lines]
    assert sorted(p.model_dump_json() for p in printed) == sorted(s.model_dump_json() for s in seen)
    assert tail.stderr.count("rejected ") == 2
    assert "unknown-key-id" in tail.stderr and token not in tail.stderr

    # FastStream: the handler gets the genuine snapshots only.
    received: list[JourneySnapshot] = []
    faststream_rejected: list[Rejection] = []
    broker = cx_broker(env.settings)

    @joined_subscriber(broker, LE, settings=env.settings, on_rejected=faststream_rejected.append)
    async def on_journey(snapshot: JourneySnapshot) -> None:
        received.append(snapshot)

    async def done() -> bool:
        return len(received) == count and len(faststream_rejected) == 2

    async with broker:
        await broker.start()
        await eventually(done, "the FastStream app received every genuine snapshot", 60)
    assert all(isinstance(s, JourneySnapshot) for s in received)
    assert sorted(s.model_dump_json() for s in received) == sorted(
        s.model_dump_json() for s in seen
    )
    assert sorted(r.reason for r in faststream_rejected) == ["missing-header", "unknown-key-id"]
