"""Keys across organisations on the real broker: two agencies and a joiner operator, each
with its own state directory, agree on a linkage key, publish, and their people's journeys
join; a rotation mid-stream keeps every journey whole; a revoked key's new records are
dead-lettered while the joiner runs; a tampered keyring is refused at start."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from broker.keyring import Governance, Keyring, LinkageStore, OrgKeys, Owner
from broker.keyring.deployment import DeploymentVerifier
from broker.provision import provision_topics
from broker.settings import Settings
from contracts.joined import JourneySnapshot
from cxbroker.exitcodes import ExitCode
from producers import AgencyPublisher, RawRecord
from tests.support.joiner import Env, JoinerProcess, joined_history, read_all, start_joiner
from tests.support.kafka import KafkaEndpoint
from tests.support.raw_records import raw
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka]

LE = "having-a-child"
PEOPLE = 5
SERVICES = {"ssa": "ssa.enumeration-at-birth", "usda-fns": "usda-fns.wic"}


def _person(i: int, agency: str, minutes: int) -> RawRecord:
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    return raw(
        first_name=f"Testperson{chr(65 + i)}",
        last_name="Invented",
        date_of_birth=f"199{i}-0{i + 1}-1{i}",
        zip="32301",
        agency=agency,
        service_id=SERVICES[agency],
        occurred_at=at,
        started_at=at - timedelta(minutes=5),
        ended_at=at,
    )


class Org:
    """One organisation: its own state directory and key directory."""

    def __init__(self, root: Path, name: str, bootstrap: str, prefix: str) -> None:
        self.keys = OrgKeys(root / name / "keys")
        self.settings = Settings(
            bootstrap_servers=bootstrap,
            topic_prefix=prefix,
            state_dir=root / name / "state",
            keyring_dir=root / name / "keys",
            partitions=3,
        )


async def _publish(org: Org, agency: str, minutes: int) -> list[dict[str, Any]]:
    """One record per person under the keys in force; the payloads sent (all copies)."""
    sent: list[dict[str, Any]] = []
    keyring = Keyring(org.keys.path)
    async with AgencyPublisher(org.settings, agency, keyring=keyring) as publisher:
        prepared = [publisher.prepare(_person(i, agency, minutes)) for i in range(PEOPLE)]
        results = await publisher.deliver(prepared)  # sends overlap copies too
        assert [r.event_id for r in results] == [p.event_id for p in prepared]
        sent += [json.loads(r.value) for p in prepared for r in p.records()]
        await publisher.drain()
    return sent


def _secrets(directory: Path) -> list[bytes]:
    found: list[bytes] = []
    for file in directory.rglob("*.json"):
        document = json.loads(file.read_text())
        for field in ("private_key", "secret"):
            if field in document:
                key = base64.b64decode(document[field])
                found += [key, key.hex().encode(), document[field].encode()]
                found.append(base64.urlsafe_b64encode(key).rstrip(b"="))
    return found


async def _latest(settings: Settings) -> dict[str, JourneySnapshot]:
    history = await joined_history(settings)
    return {
        token: max(snaps, key=lambda s: s.snapshot_version) for (_, token), snaps in history.items()
    }


async def test_three_organisations_on_the_real_broker(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    prefix = unique("kc") + "."
    admin = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=prefix,
        state_dir=tmp_path / "admin",
        partitions=3,
    )
    _, plan = await provision_topics(admin)
    plan.raise_for_conflicts()
    ssa = Org(tmp_path, "ssa", kafka.bootstrap_servers, prefix)
    fns = Org(tmp_path, "usda-fns", kafka.bootstrap_servers, prefix)
    op = Org(tmp_path, "joiner-op", kafka.bootstrap_servers, prefix)

    # The ceremony: governance key; each organisation's own keys; exports; signed keyring.
    gov = Governance(tmp_path / "governance")
    gov.init("council")
    ssa.keys.init(Owner("agency", "ssa"))
    fns.keys.init(Owner("agency", "usda-fns"))
    op.keys.init(Owner("joiner", "ops"))
    shared = tmp_path / "shared-public-keyring.json"

    def publish_keyring(signed: bytes) -> None:
        shared.write_bytes(signed)
        for org in (ssa, fns, op):
            org.keys.install(shared)

    for org in (ssa, fns, op):
        org.keys.trust(tmp_path / "governance" / "trust-anchor.json")
    # The joiner operator's export carries its deployment signing key (owner urn:cx:joiner:ops).
    publish_keyring(gov.assemble([ssa.keys.export(), fns.keys.export(), op.keys.export()]))
    # SSA makes the linkage key and wraps it for USDA FNS, which opens it.
    first, packages = LinkageStore(ssa.keys).make(LE, ssa.keys.public_keyring())
    LinkageStore(fns.keys).accept(packages["usda-fns"], fns.keys.public_keyring())

    env = Env(op.settings, Keyring(op.keys.path), unique("joiner"))
    joiner: JoinerProcess = start_joiner(env, until_idle=False)
    try:
        # Phase 1: both agencies publish; each person's two events join in one journey.
        sent = await _publish(ssa, "ssa", 60) + await _publish(fns, "usda-fns", 50)
        tokens = {e["journey_token"] for e in sent}
        assert len(tokens) == PEOPLE

        async def joined(expected_events: int, chosen: set[str]) -> bool:
            latest = await _latest(op.settings)
            return all(
                t in latest and latest[t].event_counts.total == expected_events for t in chosen
            )

        await eventually(lambda: joined(2, tokens), "phase 1 journeys joined", 90)
        latest = await _latest(op.settings)
        assert all({a.agency for a in latest[t].agencies} == {"ssa", "usda-fns"} for t in tokens)
        # Every snapshot is signed by the operator's deployment key, which readers find only
        # in the governance-signed keyring (the operator's export, assembled above).
        snapshots = await read_all(op.settings, [op.settings.topics.joined(LE)])
        verifier = DeploymentVerifier(op.keys.path)
        assert snapshots and all(
            verifier.verify(r.key, r.value, r.headers) == "urn:cx:joiner:ops"
            for r in snapshots
            if r.value is not None
        )

        # Phase 2: rotation mid-stream with an overlap: new records carry both tokens.
        second, packages = LinkageStore(ssa.keys).make(
            LE, ssa.keys.public_keyring(), overlap=timedelta(days=120)
        )
        LinkageStore(fns.keys).accept(packages["usda-fns"], fns.keys.public_keyring())
        sent2 = await _publish(ssa, "ssa", 40) + await _publish(fns, "usda-fns", 30)
        assert {e["linkage_key_id"] for e in sent2} == {first, second}
        new_tokens = {e["journey_token"] for e in sent2 if e["linkage_key_id"] == second}
        assert len(new_tokens) == PEOPLE and not new_tokens & tokens
        # Every journey begun under the old key is whole: all four events, both agencies.
        await eventually(lambda: joined(4, tokens), "old-key journeys whole", 90)
        await eventually(lambda: joined(2, new_tokens), "new-key journeys joined", 90)

        # Phase 3: the governance revokes SSA's signing key; the running joiner reloads.
        ssa_key = ssa.keys.signer().key_id
        publish_keyring(gov.revoke(ssa_key, reason="compromised"))
        await _publish(ssa, "ssa", 20)
        await _publish(fns, "usda-fns", 10)

        async def revoked_letters() -> int:
            letters = await read_all(op.settings, [op.settings.topics.deadletter])
            return sum(1 for r in letters if dict(r.headers).get("cx_dlq_reason") == b"key-revoked")

        # USDA FNS's records (both keys of the overlap) still join; SSA's are refused.
        await eventually(lambda: joined(5, tokens), "usda-fns records joined (old key)", 90)
        await eventually(lambda: joined(3, new_tokens), "usda-fns records joined (new key)", 90)
        await eventually(
            lambda: _equals(revoked_letters, 2 * PEOPLE), "revoked records dead-lettered", 90
        )
        latest = await _latest(op.settings)
        assert all(latest[t].event_counts.total == 5 for t in tokens)
        assert all(latest[t].event_counts.total == 3 for t in new_tokens)
    finally:
        joiner.kill()

    # The operator's directory holds no private or linkage key of any agency.
    operator_bytes = b"".join(p.read_bytes() for p in op.keys.path.rglob("*") if p.is_file())
    secrets = _secrets(ssa.keys.path) + _secrets(fns.keys.path)
    assert len(secrets) >= 4 * (2 + 2 + 2 + 2)
    assert not any(secret in operator_bytes for secret in secrets)

    # A tampered keyring is refused at the joiner's start: one line, exit code 11.
    installed = op.keys.path / "public-keyring.json"
    document = json.loads(installed.read_text())
    # Un-revoke SSA's key: what a tamperer would want.
    for entry in document["body"]["entries"]:
        if entry["key_id"] == ssa_key:
            entry["revoked_at"] = None
    installed.write_text(json.dumps(document))
    installed.chmod(0o600)
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
    assert len(lines) == 1 and "does not verify" in lines[0]


async def _equals(count: Callable[[], Any], expected: int) -> bool:
    return bool(await count() == expected)
