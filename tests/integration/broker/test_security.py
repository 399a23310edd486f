"""Kafka enforces the access plan: SCRAM-SHA-512 over TLS, StandardAuthorizer ACLs, real broker.

One secured single-node cluster (sasl-tls) for the module, with topics and the
access plan applied by ``provision`` as the admin super user. Topic names carry a
prefix so the tests also prove that the plan honours ``CX_TOPIC_PREFIX``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from broker.admin import admin_client
from broker.errors import AccessDenied, BrokerUnavailable, ProfileRequired
from broker.kafka.launcher import LocalKafka
from broker.keyring import Keyring
from broker.provision import provision
from broker.security.acls import AclBinding, Operation, PatternType, ResourceType
from broker.security.apply import apply_access, effective_acls
from broker.security.credentials import credentials_dir
from broker.security.errors import denied_as
from broker.security.plan import load_plan
from broker.security.profile import resolve_settings
from broker.security.tls import generate_ca
from broker.settings import Settings
from consumers.subscribe import reader_tier, subscribe
from contracts.joined import JourneySnapshot
from contracts.protected import Precision, ProtectedSnapshot, protect
from tests.support.contract_samples import snapshot
from tests.support.paths import REPO
from tests.support.provenance import protected_record, snapshot_record
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka

PREFIX = "sec."
LE = "having-a-child"
WAIT_S = 15.0


class Secured:
    """The module's secured cluster and how to connect to it as a principal."""

    def __init__(self, state_dir: Path, bootstrap: str) -> None:
        self.state_dir = state_dir
        self.bootstrap = bootstrap

    def settings(self, profile: str | None = None, **overrides: Any) -> Settings:
        return resolve_settings(
            Settings(
                state_dir=self.state_dir,
                bootstrap_servers=self.bootstrap,
                topic_prefix=PREFIX,
                profile=profile,
                **overrides,
            )
        )

    def env(self, profile: str | None = "admin") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
        env.update(
            CX_STATE_DIR=str(self.state_dir),
            CX_BOOTSTRAP_SERVERS=self.bootstrap,
            CX_TOPIC_PREFIX=PREFIX,
        )
        if profile:
            env["CX_PROFILE"] = profile
        return env


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Secured]:
    state_dir = tmp_path_factory.mktemp("secured")
    async with LocalKafka(Settings(state_dir=state_dir), nodes=1, security="sasl-tls") as kafka:
        cluster = Secured(state_dir, kafka.bootstrap_servers)
        result = await provision(cluster.settings("admin"))
        assert result.access is not None and result.access.acls_created
        yield cluster


async def produce(
    settings: Settings,
    topic: str,
    key: bytes = b"k",
    value: bytes = b"v",
    headers: list[tuple[str, bytes]] | None = None,
) -> int:
    """Send one record and return its offset."""
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs(), request_timeout_ms=10000)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key, headers=headers)
        return int(sent.offset)
    finally:
        await producer.stop()


async def consume_key(settings: Settings, topic: str, group: str, key: bytes) -> None:
    """Read ``topic`` in consumer group ``group`` until the record with ``key`` arrives."""
    consumer = AIOKafkaConsumer(
        topic, group_id=group, auto_offset_reset="earliest", **settings.kafka_client_kwargs()
    )
    await consumer.start()
    try:
        async with asyncio.timeout(WAIT_S):
            while (await consumer.getone()).key != key:
                pass
    finally:
        await consumer.stop()


async def is_denied(coro: Awaitable[object]) -> bool:
    try:
        await coro
    except AccessDenied:
        return True
    return False


async def test_client_without_credentials_is_refused(secured: Secured) -> None:
    # Not an outage (#21): the client says that a principal is missing, before connecting.
    with pytest.raises(ProfileRequired, match="no principal is selected"):
        async with admin_client(secured.settings(), timeout_ms=5000):
            pass
    # A client that ignores the cluster's protocol cannot connect at all.
    plain = secured.settings(security_protocol="PLAINTEXT")
    with pytest.raises(BrokerUnavailable):
        async with admin_client(plain, timeout_ms=5000):
            pass


async def test_wrong_password_is_refused_and_right_one_accepted(secured: Secured) -> None:
    with pytest.raises(KafkaConnectionError):
        await produce(secured.settings("agency-ssa", sasl_password="not-the-password"), "x")
    assert await produce(secured.settings("agency-ssa"), f"{PREFIX}cx.events.ssa") >= 0


async def test_agency_may_write_only_its_own_topic(secured: Secured) -> None:
    ssa = secured.settings("agency-ssa")
    assert await produce(ssa, ssa.topics.agency("ssa")) >= 0
    with (
        pytest.raises(
            AccessDenied, match=r"agency-ssa may not write to topic sec\.cx\.events\.irs"
        ),
        denied_as("agency-ssa", "write to", f"topic {ssa.topics.agency('irs')}"),
    ):
        await produce(ssa, ssa.topics.agency("irs"))


async def test_joiner_may_not_write_to_an_agency_topic(secured: Secured) -> None:
    joiner = secured.settings("joiner")
    assert await produce(joiner, joiner.topics.joined(LE)) >= 0
    with (
        pytest.raises(AccessDenied, match="joiner may not write"),
        denied_as("joiner", "write to", "agency topic"),
    ):
        await produce(joiner, joiner.topics.agency("ssa"))


async def test_default_tier_reads_protected_journeys_but_not_fine_ones(secured: Secured) -> None:
    team = secured.settings("team-analytics")
    joiner = secured.settings("joiner")
    key = uuid.uuid4().hex.encode()
    await produce(joiner, team.topics.protected(LE), key=key)
    await produce(joiner, team.topics.joined(LE), key=key)
    group = f"{PREFIX}cx.team-analytics.{uuid.uuid4().hex[:8]}"
    await consume_key(team, team.topics.protected(LE), group, key)
    # The restricted topics are refused by the broker's ACLs, not just by the SDK.
    with (
        pytest.raises(AccessDenied, match="team-analytics may not read"),
        denied_as("team-analytics", "read", "fine journeys"),
    ):
        await consume_key(team, team.topics.joined(LE), group, key)
    with (
        pytest.raises(AccessDenied, match="team-analytics may not read"),
        denied_as("team-analytics", "read", "agency events"),
    ):
        await consume_key(team, team.topics.agency("ssa"), group, key)


async def test_restricted_tier_reads_fine_journeys(secured: Secured) -> None:
    research = secured.settings("team-research")
    key = uuid.uuid4().hex.encode()
    await produce(secured.settings("joiner"), research.topics.joined(LE), key=key)
    group = f"{PREFIX}cx.team-research.{uuid.uuid4().hex[:8]}"
    await consume_key(research, research.topics.joined(LE), group, key)


async def test_subscribe_follows_the_tier_of_the_principal(secured: Secured) -> None:
    fine = snapshot(life_experience=LE, status="completed")
    record = protect(fine, Precision.STATUS, k=11)
    joiner = secured.settings("joiner")
    # Readers verify by default: both records are signed as the joiner deployment signs them,
    # with its key published in the signed keyring of the local ceremony.
    Keyring(joiner.keyring_path).init([], [])
    await produce(joiner, joiner.topics.protected(LE), *protected_record(joiner, record))
    await produce(joiner, joiner.topics.joined(LE), *snapshot_record(joiner, fine))
    team = secured.settings("team-analytics")
    research = secured.settings("team-research")
    assert reader_tier(team) == "default" and reader_tier(research) == "restricted"
    async with asyncio.timeout(WAIT_S):
        seen_by_team = await anext(aiter(subscribe(LE, settings=team)))
        seen_by_research = await anext(aiter(subscribe(LE, settings=research)))
    assert isinstance(seen_by_team, ProtectedSnapshot) and seen_by_team == record
    assert isinstance(seen_by_research, JourneySnapshot) and seen_by_research == fine


async def test_client_trusting_another_ca_fails(secured: Secured, tmp_path: Path) -> None:
    other_ca, _key = generate_ca("some other CA")
    (tmp_path / "other-ca.pem").write_bytes(other_ca)
    settings = secured.settings("agency-ssa", ca_file=tmp_path / "other-ca.pem")
    with pytest.raises(KafkaConnectionError):
        await produce(settings, settings.topics.agency("ssa"))
    assert await produce(secured.settings("agency-ssa"), settings.topics.agency("ssa")) >= 0


async def test_reapplying_the_plan_changes_nothing(secured: Secured) -> None:
    admin_settings = secured.settings("admin")
    async with admin_client(admin_settings) as admin:
        before = await effective_acls(admin)
        result = await apply_access(admin, admin_settings, load_plan())
        after = await effective_acls(admin)
    assert not result.changed
    assert before == after
    assert "User:agency-ssa" in after and "User:admin" not in after


async def test_removing_a_grant_or_principal_revokes_it(secured: Secured, tmp_path: Path) -> None:
    admin_settings = secured.settings("admin")
    team = secured.settings("team-analytics")
    insights = team.topics.insights(LE)
    key = uuid.uuid4().hex.encode()
    await produce(secured.settings("joiner"), insights, key=key)
    await consume_key(team, insights, f"{PREFIX}cx.team-analytics.{uuid.uuid4().hex[:8]}", key)

    original = (REPO / "broker" / "access.toml").read_text()
    grant = '  { topic = "cx.insights.*", ops = ["read", "describe"] },\n'
    team_section = original.split("[principals.team-analytics]")[1]
    assert grant in team_section
    narrowed = tmp_path / "narrowed.toml"
    narrowed.write_text(original.replace(team_section, team_section.replace(grant, "")))
    read_insights = AclBinding(
        "User:team-analytics",
        ResourceType.TOPIC,
        f"{PREFIX}cx.insights.",
        PatternType.PREFIXED,
        Operation.READ,
    )
    try:
        async with admin_client(admin_settings) as admin:
            result = await apply_access(admin, admin_settings, load_plan(narrowed))
        assert read_insights in result.acls_deleted
        assert not result.acls_created and not result.users_deleted

        # ACL changes reach brokers a moment after they are applied.
        await eventually(
            lambda: is_denied(_read_as(team, insights, key)), "insights read revoked", WAIT_S
        )

        without_team = tmp_path / "without-team.toml"
        # Only the team's section goes (the principals after it stay).
        before, after = original.split("[principals.team-analytics]")
        rest = after.split("\n[principals.", 1)
        without_team.write_text(before + ("[principals." + rest[1] if len(rest) > 1 else ""))
        async with admin_client(admin_settings) as admin:
            result = await apply_access(admin, admin_settings, load_plan(without_team))
            remaining = await effective_acls(admin)
        assert result.users_deleted == ["team-analytics"]
        assert "User:team-analytics" not in remaining
        assert not (credentials_dir(secured.state_dir) / "team-analytics.json").exists()
        # The old password no longer logs in.
        with pytest.raises(KafkaConnectionError):
            await produce(team, team.topics.joined(LE))
    finally:
        async with admin_client(admin_settings) as admin:
            await apply_access(admin, admin_settings, load_plan())


async def _read_as(settings: Settings, topic: str, key: bytes) -> None:
    group = f"{PREFIX}cx.team-analytics.{uuid.uuid4().hex[:8]}"
    with denied_as(settings.sasl_username, "read", topic):
        await consume_key(settings, topic, group, key)


def test_no_secret_file_is_readable_by_others(secured: Secured) -> None:
    secrets = list(credentials_dir(secured.state_dir).glob("*.json"))
    tls = secured.state_dir / "kafka" / "tls"
    secrets += [tls / "ca.key", tls / "broker-keystore.pem"]
    secrets += list((secured.state_dir / "kafka").glob("node-*/server.properties"))
    assert len(secrets) >= 16 + 1 + 3  # agencies + joiner/insights/team + admin + TLS + config
    for path in secrets:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by group or others"
    assert credentials_dir(secured.state_dir).stat().st_mode & 0o077 == 0


def _passwords(state_dir: Path) -> list[str]:
    return [
        json.loads(p.read_text())["password"] for p in credentials_dir(state_dir).glob("*.json")
    ]


def test_access_show_prints_effective_acls_and_no_secret(secured: Secured) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cxbroker", "access", "show"],
        env=secured.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = out.stdout + out.stderr
    assert "User:agency-ssa" in text and f"{PREFIX}cx.events.ssa" in text
    assert "User:team-analytics" in text and "READ topic sec.cx.joined.*" in text
    for password in _passwords(secured.state_dir):
        assert password not in text


def test_credentials_are_printed_only_on_request(secured: Secured) -> None:
    command = [sys.executable, "-m", "cxbroker", "access", "credentials", "agency-ssa"]
    password = json.loads((credentials_dir(secured.state_dir) / "agency-ssa.json").read_text())[
        "password"
    ]
    quiet = subprocess.run(
        command, env=secured.env(None), capture_output=True, text=True, check=True
    )
    assert password not in quiet.stdout + quiet.stderr and "mode 600" in quiet.stdout
    shown = subprocess.run(
        [*command, "--show"], env=secured.env(None), capture_output=True, text=True, check=True
    )
    assert f"CX_SASL_PASSWORD={password}" in shown.stdout


def test_broker_logs_contain_no_password(secured: Secured) -> None:
    logs = list((secured.state_dir / "kafka").glob("node-*/*.log"))
    assert logs
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "SCRAM" in text or "sasl" in text.lower()
    for password in _passwords(secured.state_dir):
        assert password not in text


async def test_no_topic_contains_a_password_or_private_key(secured: Secured) -> None:
    """Scan every byte (keys, values, headers) of every topic, internal ones included."""
    from aiokafka import TopicPartition

    admin_settings = secured.settings("admin")
    tls = secured.state_dir / "kafka" / "tls"
    secrets = [p.encode() for p in _passwords(secured.state_dir)]
    for key_file in (tls / "ca.key", tls / "broker-keystore.pem"):
        pem = key_file.read_bytes()
        body = pem.split(b"-----")[2]  # the base64 of the first (private key) block
        secrets += [b"PRIVATE KEY", body.strip()[:64]]
    consumer = AIOKafkaConsumer(
        **admin_settings.kafka_client_kwargs(),
        enable_auto_commit=False,
        group_id=None,
        exclude_internal_topics=False,
    )
    await consumer.start()
    scanned = 0
    try:
        async with admin_client(admin_settings) as admin:
            described = await admin.describe_topics(list(await admin.list_topics()))
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        assert TopicPartition(f"{PREFIX}cx.events.ssa", 0) in partitions
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(30):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for r in records:
                        blob = b"".join(
                            [r.key or b"", r.value or b""] + [k.encode() + v for k, v in r.headers]
                        )
                        scanned += 1
                        for secret in secrets:
                            assert secret not in blob, f"secret material in {r.topic}"
    finally:
        await consumer.stop()
    assert scanned >= 5  # the records the tests above produced, plus group offsets
