"""On the real broker: every joined and insights record is a signed CloudEvent, a snapshot
forged by an admin principal is rejected by subscribe(), tail and FastStream, and only
deployment keys of the governance-signed keyring (right owner, not revoked) are trusted."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings import kafka as ce_kafka

from broker.keyring import Keyring, OrgKeys, Owner
from broker.keyring.deployment import DeploymentSigner, DeploymentVerifier
from consumers import InsightsService, subscribe
from consumers.faststream import cx_broker, joined_subscriber
from consumers.verified import Rejection
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot
from cxbroker.exitcodes import ExitCode
from tests.support.joiner import Env, join_until_idle, produce, read_all, reference, sign
from tests.support.journeys import make_workload
from tests.support.kafka import client_kwargs
from tests.support.provenance import snapshot_record
from tests.support.snapshots import journey
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

    # A reader holds only the public files: verify with an exported copy of the
    # governance-signed keyring (and its trust anchor).
    public = tmp_path / "reader"
    public.mkdir()
    verifier = DeploymentVerifier(Keyring(env.settings.keyring_path).export_public(public))

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
    """Write, as the admin principal, a forged copy of ``snapshot`` (next version, signed
    by a "joiner" of the same name whose key the governance never published) and an
    unsigned one."""
    forger = OrgKeys(tmp_path / "forger")
    forger.init(Owner("joiner", "joiner"), now=datetime(2025, 1, 1, tzinfo=UTC))
    forged = snapshot.model_copy(update={"snapshot_version": snapshot.snapshot_version + 1})
    key, value, headers = snapshot_record(env.settings, forged, forger.deployment_signer())
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


async def _write(env: Env, *records: tuple[bytes, bytes, list[tuple[str, bytes]]]) -> None:
    producer = AIOKafkaProducer(**client_kwargs(env.settings.bootstrap_servers), acks="all")
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(
                env.settings.topics.joined(LE), value, key=key, headers=headers
            )
    finally:
        await producer.stop()


async def test_only_deployment_keys_of_the_signed_keyring_are_trusted(env: Env) -> None:
    keyring = Keyring(env.settings.keyring_path)
    old = keyring.deployment_signer("joiner")
    insights = keyring.deployment_signer("insights")
    first, stolen, genuine = (journey(n, life_experience=LE) for n in (1, 2, 3))
    await _write(env, snapshot_record(env.settings, first))  # before any revocation
    # The joiner's key is compromised: it rotates, the governance revokes the old key.
    keyring.rotate_deployment("joiner")
    keyring.revoke(old.key_id, reason="compromised", at=datetime.now(UTC))
    impostor = DeploymentSigner("urn:cx:joiner:joiner", insights.key_id, insights._key)
    await _write(
        env,
        snapshot_record(env.settings, stolen, old),  # the thief signs with the revoked key
        snapshot_record(env.settings, stolen, impostor),  # an insights key as the joiner
        snapshot_record(env.settings, genuine),  # the new key
    )

    rejected: list[Rejection] = []
    seen: list[JourneySnapshot | ProtectedSnapshot] = []
    source = subscribe(LE, settings=env.settings, tier="restricted", on_rejected=rejected.append)
    async with asyncio.timeout(90):
        while True:
            try:
                seen.append(await asyncio.wait_for(anext(source), 8))
            except TimeoutError:
                break
    # Judged at each record's Kafka time: the record written before the revocation stands.
    assert sorted(s.journey_token for s in seen) == sorted(
        s.journey_token for s in (first, genuine)
    )
    assert sorted(r.reason for r in rejected) == ["key-agency-mismatch", "key-revoked"]
    assert all(stolen.journey_token not in r.detail for r in rejected)

    # Revoke the current key too: a joiner whose own key is revoked refuses to start, in
    # one line that says what to run (exit code 11), before it consumes or writes anything.
    keyring.revoke(keyring.deployment_signer("joiner").key_id, reason="compromised")
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "join", "--group", env.group, "--until-idle", "1"],
        env=env.cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == ExitCode.KEYS_REFUSED, refused.stderr[-2000:]
    lines = [line for line in (refused.stdout + refused.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "was revoked" in lines[0] and "cxbroker keys deployment rotate joiner" in lines[0]
