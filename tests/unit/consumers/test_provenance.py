"""Joined snapshots and insights as signed CloudEvents: deployment keys, headers, readers."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from broker.errors import DeploymentKeyUnpublished, KeyringRefused
from broker.keyring import Governance, Keyring, LocalDemo, OrgKeys, Owner
from broker.keyring.deployment import DeploymentSigner
from consumers.errors import RecordRejected
from consumers.insights.service import encode_cell, signed_headers
from consumers.joiner.provenance import SnapshotSigner
from consumers.journey.processor import Change
from consumers.verified import VerifiedReader
from contracts.insights import InsightCell, InsightRelease, release_id
from contracts.joined import JourneySnapshot, Metric, PeriodKind
from contracts.protected import PROTECTED_VERSION, Precision, ProtectedSnapshot, protect
from contracts.provenance import (
    cell_id,
    deployment_source,
    manifest_id,
    protected_id,
    protected_time,
    snapshot_id,
)
from contracts.vocabulary import Stage
from tests.support.snapshots import journey

DAY = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    """A local demo (the one-machine ceremony): governance, joiner and insights deployments
    with their signing keys published in the signed public keyring."""
    path = tmp_path / "keyring"
    Keyring(path).init([], [])
    return path


def _signer(keyring: Path, kind: str = "joiner") -> DeploymentSigner:
    return Keyring(keyring).deployment_signer(kind)  # type: ignore[arg-type]


def _change(snapshot: JourneySnapshot) -> Change:
    last_us = int(snapshot.last_event_at.timestamp() * 1_000_000)
    return Change(
        key=f"{snapshot.life_experience}|{snapshot.journey_token}",
        state=b"{}",
        due=None,
        life_experience=snapshot.life_experience,
        journey_token=snapshot.journey_token,
        snapshot_json=snapshot.model_dump_json().encode(),
        version=snapshot.snapshot_version,
        last_us=last_us,
    )


def signed_snapshot(
    signer: DeploymentSigner, snapshot: JourneySnapshot
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    change = _change(snapshot)
    key = snapshot.journey_token.encode()
    assert change.snapshot_json is not None
    return key, change.snapshot_json, SnapshotSigner(signer).headers(change, key)


def test_deployment_keys_are_entries_of_the_signed_keyring_and_rotate(keyring: Path) -> None:
    public = Keyring(keyring).public_keyring()
    owners = {k.owner.urn: k for k in public.entries()}
    assert {"urn:cx:joiner:joiner", "urn:cx:insights:insights"} <= set(owners)
    joiner = _signer(keyring)
    assert joiner.owner == "urn:cx:joiner:joiner"
    assert owners[joiner.owner].key_id == joiner.key_id
    assert owners[joiner.owner].public_key == joiner.public_key()
    assert joiner.key_id.startswith("joiner-joiner-sig-")
    assert _signer(keyring, "insights").owner == "urn:cx:insights:insights"
    # No unsigned list of deployment keys anywhere; private files 0600 in their owner's dir.
    assert not list(keyring.rglob("public-deployments.json"))
    for file in (keyring / "operators").rglob("signing/*.json"):
        assert os.stat(file).st_mode & 0o777 == 0o600
    # Rotation: a new current key, published at once in a local demo; the old one stays.
    second = Keyring(keyring).rotate_deployment("joiner")
    rotated = Keyring(keyring).public_keyring()
    assert _signer(keyring).key_id == second != joiner.key_id
    assert {joiner.key_id, second} <= {k.key_id for k in rotated.entries()}
    assert "redacted" in repr(_signer(keyring))
    # Idempotent: a second local ceremony makes no deployment key.
    assert Keyring(keyring).init([], []).signing == ()


def test_a_signed_snapshot_is_a_cloudevent_and_verifies(keyring: Path) -> None:
    signer = _signer(keyring)
    snap = journey(1, version=3)
    key, value, headers = signed_snapshot(signer, snap)

    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    assert event.get_specversion() == "1.0"
    assert event.get_source() == "urn:cx:joiner:joiner"
    assert event.get_type() == "gov.cx.journey-snapshot.v1"
    assert event.get_id() == snapshot_id(snap.life_experience, snap.journey_token, 3)
    assert event.get_time() == snap.last_event_at
    assert event.get_dataschema() == JourneySnapshot.contract_urn()
    assert event.get_extension("cxkeyid") == signer.key_id
    assert JourneySnapshot.model_validate(event.get_data()) == snap

    reader = VerifiedReader(keyring)
    assert reader.snapshot(key, value, headers) == snap
    # Deterministic: the same snapshot version is the same ce_id; the next one differs.
    assert signed_snapshot(signer, snap)[2][1] == headers[1]
    assert signed_snapshot(signer, journey(1, version=4))[2][1] != headers[1]


def _replace(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(n, value if n == name else v) for n, v in headers]


def test_forged_and_altered_snapshots_are_rejected_without_values(
    keyring: Path, tmp_path: Path
) -> None:
    signer = _signer(keyring)
    reader = VerifiedReader(keyring)
    snap = journey(2)
    key, value, headers = signed_snapshot(signer, snap)
    token = snap.journey_token

    cases: dict[str, tuple[bytes, bytes, list[tuple[str, bytes]]]] = {
        # the value changed after signing
        "bad-signature": (key, value.replace(b'"active"', b'"completed"'), headers),
        # no signature at all (an admin writing plain JSON)
        "missing-header": (key, value, [h for h in headers if h[0] != "ce_cxsig"]),
        # headers of an agency event
        "header-mismatch": (key, value, _replace(headers, "ce_source", b"urn:cx:agency:ssa")),
    }
    # A forger who can write the state dir makes a "joiner" of the same name and lists its
    # key in an unsigned public-deployments.json (what readers trusted before): unknown.
    forger = OrgKeys(tmp_path / "forger")
    forger.init(Owner("joiner", "joiner"), now=LONG_AGO)
    forged = forger.deployment_signer()
    listed = {"key_id": forged.key_id, "public_key": base64.b64encode(forged.public_key()).decode()}
    for where in (keyring, keyring / "operators" / "joiner"):
        (where / "public-deployments.json").write_text(
            json.dumps({"version": 1, "owners": {forged.owner: [listed]}})
        )
        (where / "public-deployments.json").chmod(0o600)
    cases["unknown-key-id"] = signed_snapshot(forged, snap)
    # the insights deployment's key signing a snapshot under the joiner's name
    insights = _signer(keyring, "insights")
    impostor = DeploymentSigner("urn:cx:joiner:joiner", insights.key_id, insights._key)
    cases["key-agency-mismatch"] = signed_snapshot(impostor, snap)

    for reason, (k, v, h) in cases.items():
        with pytest.raises(RecordRejected) as caught:
            reader.snapshot(k, v, h)
        assert caught.value.reason == reason, reason
        assert token not in str(caught.value) and token[:8] not in str(caught.value)


def test_a_revoked_or_expired_deployment_key_is_rejected_and_refused_at_start(
    keyring: Path, tmp_path: Path
) -> None:
    signer = _signer(keyring)
    snapshot = signed_snapshot(signer, journey(6))
    reader = VerifiedReader(keyring)
    assert reader.snapshot(*snapshot) == journey(6)
    revoked_at = datetime.now(UTC)
    Keyring(keyring).revoke(signer.key_id, reason="compromised", at=revoked_at)
    with pytest.raises(RecordRejected) as caught:
        reader.snapshot(*snapshot)  # the reader picked up the new keyring
    assert caught.value.reason == "key-revoked"
    # A record written before the revocation still verifies (judged at its Kafka time).
    assert reader.snapshot(*snapshot, at=revoked_at - timedelta(minutes=1)) == journey(6)
    # The joiner itself refuses to start with its revoked key, saying what to run.
    with pytest.raises(DeploymentKeyUnpublished) as refused:
        Keyring(keyring).deployment_signer("joiner")
    assert "was revoked" in str(refused.value)
    assert "keys deployment rotate joiner" in str(refused.value)
    assert "\n" not in str(refused.value)

    # Keys made long ago (valid two years) have expired: rejected, and refused at start.
    old = tmp_path / "old"
    Keyring(old).init([], [], now=LONG_AGO)
    expired = LocalDemo(old).deployment("joiner").deployment_signer()
    with pytest.raises(RecordRejected) as caught:
        VerifiedReader(old).snapshot(*signed_snapshot(expired, journey(7)))
    assert caught.value.reason == "key-expired"
    with pytest.raises(DeploymentKeyUnpublished, match="expired at 2021-12-31"):
        Keyring(old).deployment_signer("joiner")


def test_an_operator_directory_signs_only_once_the_governance_published_its_key(
    tmp_path: Path,
) -> None:
    gov = Governance(tmp_path / "gov")
    gov.init("council")
    ops = OrgKeys(tmp_path / "ops")
    ops.init(Owner("joiner", "ops"))
    with pytest.raises(DeploymentKeyUnpublished, match="no signed public keyring installed"):
        Keyring(ops.path).deployment_signer("joiner")
    ops.trust(tmp_path / "gov" / "trust-anchor.json")
    ssa = OrgKeys(tmp_path / "ssa")
    ssa.init(Owner("agency", "ssa"))
    shared = tmp_path / "public-keyring.json"
    shared.write_bytes(gov.assemble([ssa.export()]))
    ops.install(shared)
    with pytest.raises(DeploymentKeyUnpublished) as refused:
        Keyring(ops.path).deployment_signer("joiner")
    message = str(refused.value)
    assert "is not in the signed public keyring" in message
    assert "keys deployment export-public" in message and "keys governance assemble" in message
    # A snapshot it signed anyway is rejected by the readers of that keyring.
    with pytest.raises(RecordRejected) as caught:
        VerifiedReader(ops.path).snapshot(*signed_snapshot(ops.deployment_signer(), journey(8)))
    assert caught.value.reason == "unknown-key-id"
    # The governance assembles the operator's export (owner type joiner): it signs.
    export = ops.export()
    assert export["body"]["owner"] == "urn:cx:joiner:ops"
    shared.write_bytes(gov.assemble([export]))
    ops.install(shared)
    signer = Keyring(ops.path).deployment_signer("joiner")
    assert VerifiedReader(ops.path).snapshot(*signed_snapshot(signer, journey(8))) == journey(8)
    # A joiner's directory is not an insights deployment's.
    with pytest.raises(KeyringRefused, match="not of a deployment of kind insights"):
        Keyring(ops.path).deployment_signer("insights")


def test_a_rotated_joiner_key_keeps_old_snapshots_verifying(keyring: Path) -> None:
    old = signed_snapshot(_signer(keyring), journey(3))
    reader = VerifiedReader(keyring)
    Keyring(keyring).rotate_deployment("joiner")
    new = signed_snapshot(_signer(keyring), journey(4))
    assert reader.snapshot(*new).journey_token == journey(4).journey_token  # reloaded
    assert reader.snapshot(*old).journey_token == journey(3).journey_token


def _cell() -> InsightCell:
    return InsightCell(
        life_experience="recovering-from-a-disaster",
        period_kind=PeriodKind.WEEK,
        period="2026-W10",
        agency="fema",
        stage=Stage.APPLY,
        metric=Metric.JOURNEYS_STARTED,
        value=42.0,
        count=42,
        suppressed=False,
        release=release_id("2026-W10", 1),
    )


def test_insight_cells_and_manifests_are_signed_cloudevents(keyring: Path) -> None:
    signer = _signer(keyring, "insights")
    reader = VerifiedReader(keyring)
    cell = _cell()
    key, value = encode_cell(cell)
    headers = signed_headers(signer, cell, key, value)
    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    assert event.get_source() == deployment_source("insights", "insights")
    assert event.get_type() == "gov.cx.insight-cell.v1"
    assert event.get_id() == cell_id(cell.key(), cell.release)
    assert reader.insight(key, value, headers) == cell

    manifest = InsightRelease(
        life_experience="recovering-from-a-disaster",
        period="2026-W10",
        release=release_id("2026-W10", 1),
        version=1,
        cells=1,
        final=False,
        published_at=DAY,
    )
    mkey, mvalue = manifest.key().encode(), manifest.model_dump_json().encode()
    mheaders = signed_headers(signer, manifest, mkey, mvalue)
    assert dict(mheaders)["ce_id"] == manifest_id(manifest.key(), manifest.release).encode()
    assert reader.insight(mkey, mvalue, mheaders) == manifest
    # A snapshot reader refuses an insights record, and the other way round.
    with pytest.raises(RecordRejected):
        reader.snapshot(key, value, headers)
    joiner = _signer(keyring)
    with pytest.raises(RecordRejected):
        reader.insight(*signed_snapshot(joiner, journey(5)))


def _released(snapshot: JourneySnapshot, precision: Precision) -> Change:
    record = protect(snapshot, precision, k=11)
    return Change(
        key=f"{snapshot.life_experience}|{snapshot.journey_token}",
        state=b"{}",
        due=None,
        life_experience=snapshot.life_experience,
        journey_token=snapshot.journey_token,
        snapshot_json=None,
        protected_json=record.model_dump_json().encode(),
        version=snapshot.snapshot_version,
        last_us=int(snapshot.last_event_at.timestamp() * 1_000_000),
    )


@pytest.mark.parametrize("precision", [Precision.DAY, Precision.AGENCIES, Precision.STATUS])
def test_a_k_protected_record_is_a_signed_cloudevent_no_finer_than_its_payload(
    keyring: Path, precision: Precision
) -> None:
    signer = SnapshotSigner(_signer(keyring))
    snap = journey(3, version=5)
    change = _released(snap, precision)
    key = snap.journey_token.encode()
    assert change.protected_json is not None
    value, headers = change.protected_json, signer.protected_headers(change, key)
    record = ProtectedSnapshot.model_validate_json(value)

    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    assert event.get_type() == "gov.cx.journey-snapshot.v2"
    assert event.get_dataschema() == ProtectedSnapshot.contract_urn()
    # Its id derives from the one protected version, not from the fine version 5 (which
    # counts the journey's events and would tell it apart inside its group).
    assert event.get_id() == protected_id(
        snap.life_experience, snap.journey_token, PROTECTED_VERSION
    )
    assert event.get_id() != protected_id(snap.life_experience, snap.journey_token, 5)
    assert event.get_id() != snapshot_id(snap.life_experience, snap.journey_token, 5)
    # ce_time is the first day of the published start period, 00:00 UTC: no finer time.
    time = event.get_time()
    assert time is not None and time == protected_time(record.start)
    assert (time.hour, time.minute, time.second) == (0, 0, 0)
    assert time <= snap.first_event_at

    reader = VerifiedReader(keyring)
    assert reader.protected(key, value, headers) == record
    assert reader.journey(key, value, headers, protected=True) == record
    # A 2.0.0 record is no 1.0.0 snapshot, and an altered one does not verify.
    with pytest.raises(RecordRejected) as caught:
        reader.snapshot(key, value, headers)
    assert caught.value.reason == "header-mismatch"
    with pytest.raises(RecordRejected) as caught:
        reader.protected(key, value.replace(b'"k":11', b'"k":12'), headers)
    assert caught.value.reason == "bad-signature"


@pytest.mark.parametrize(
    ("start", "day"),
    [
        ("2026-W14", datetime(2026, 3, 30, tzinfo=UTC)),
        ("2026-04", datetime(2026, 4, 1, tzinfo=UTC)),
        ("2026-Q3", datetime(2026, 7, 1, tzinfo=UTC)),
    ],
)
def test_protected_time_is_the_first_day_of_the_start_period(start: str, day: datetime) -> None:
    assert protected_time(start) == day


def test_a_local_demo_of_an_older_version_is_told_to_run_the_ceremony_again(
    keyring: Path,
) -> None:
    # Before deployment keys were published, a local demo had no deployment signing key.
    for file in (keyring / "operators").rglob("signing/*.json"):
        file.unlink()
    with pytest.raises(DeploymentKeyUnpublished, match="run `cxbroker keys init`"):
        Keyring(keyring).deployment_signer("joiner")
