"""Joined snapshots and insights as signed CloudEvents: deployment keys, headers, readers."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from broker.keyring.deployment import (
    PUBLIC_DEPLOYMENTS_FILE,
    DeploymentKeys,
    DeploymentSigner,
)
from consumers.errors import RecordRejected
from consumers.insights.service import encode_cell, signed_headers
from consumers.joiner.provenance import SnapshotSigner, deployment_name
from consumers.journey.processor import Change
from consumers.verified import VerifiedReader
from contracts.insights import InsightCell, InsightRelease, release_id
from contracts.joined import JourneySnapshot, Metric, PeriodKind
from contracts.protected import Precision, ProtectedSnapshot, protect
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


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    path = tmp_path / "keyring"
    path.mkdir(mode=0o700)
    return path


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


def test_deployment_keys_are_made_rotated_and_exported_without_secrets(
    keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = DeploymentKeys(keyring)
    first = keys.init("joiner", "cx-joiner", now=DAY)
    assert first == "joiner-cx-joiner-sig-20261202-1"
    assert keys.init("joiner", "cx-joiner", now=DAY) is None  # idempotent
    second = keys.rotate("joiner", "cx-joiner", now=DAY)
    keys.init("insights", "cx-insights", now=DAY)
    public = json.loads((keyring / PUBLIC_DEPLOYMENTS_FILE).read_text())
    joiner = public["owners"]["urn:cx:joiner:cx-joiner"]
    assert [(k["key_id"], k["current"]) for k in joiner] == [(first, False), (second, True)]
    assert set(public["owners"]) == {"urn:cx:joiner:cx-joiner", "urn:cx:insights:cx-insights"}
    assert "private" not in (keyring / PUBLIC_DEPLOYMENTS_FILE).read_text()
    for file in (keyring / "deployments").rglob("*.json"):
        assert os.stat(file).st_mode & 0o777 == 0o600
    assert keys.signer("joiner", "cx-joiner").key_id == second
    # Two processes of a deployment making its first key at once: the loser uses the winner's.
    assert keys.init("joiner", "twin", now=DAY) == "joiner-twin-sig-20261202-1"
    with monkeypatch.context() as patch:  # the loser saw no key before the winner wrote it
        patch.setattr(DeploymentKeys, "_files", lambda self, owner: [])
        assert keys.init("joiner", "twin", now=DAY) is None
    assert keys.signer("joiner", "twin").key_id == "joiner-twin-sig-20261202-1"
    assert "redacted" in repr(keys.signer("joiner", "cx-joiner"))


def test_a_signed_snapshot_is_a_cloudevent_and_verifies(keyring: Path) -> None:
    signer = DeploymentKeys(keyring).signer("joiner", "cx-joiner", create=True)
    snap = journey(1, version=3)
    key, value, headers = signed_snapshot(signer, snap)

    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    assert event.get_specversion() == "1.0"
    assert event.get_source() == "urn:cx:joiner:cx-joiner"
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


def test_forged_and_altered_snapshots_are_rejected_without_values(keyring: Path) -> None:
    keys = DeploymentKeys(keyring)
    signer = keys.signer("joiner", "cx-joiner", create=True)
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
    # signed with a key the public file does not list (a forger's own key)
    forger = DeploymentKeys(keyring.parent / "forger")
    (keyring.parent / "forger").mkdir(mode=0o700)
    forger.init("joiner", "cx-joiner", now=datetime(2020, 1, 1, tzinfo=UTC))
    cases["unknown-key-id"] = signed_snapshot(forger.signer("joiner", "cx-joiner"), snap)
    # the insights deployment's key signing a snapshot under the joiner's name
    insights = keys.signer("insights", "cx-insights", create=True)
    impostor = DeploymentSigner("urn:cx:joiner:cx-joiner", insights.key_id, insights._key)
    cases["key-agency-mismatch"] = signed_snapshot(impostor, snap)

    for reason, (k, v, h) in cases.items():
        with pytest.raises(RecordRejected) as caught:
            reader.snapshot(k, v, h)
        assert caught.value.reason == reason, reason
        assert token not in str(caught.value) and token[:8] not in str(caught.value)


def test_a_rotated_joiner_key_keeps_old_snapshots_verifying(keyring: Path) -> None:
    keys = DeploymentKeys(keyring)
    old = signed_snapshot(keys.signer("joiner", "cx-joiner", create=True), journey(3))
    reader = VerifiedReader(keyring)
    keys.rotate("joiner", "cx-joiner")
    new = signed_snapshot(keys.signer("joiner", "cx-joiner"), journey(4))
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
    signer = DeploymentKeys(keyring).signer("insights", "cx-insights", create=True)
    reader = VerifiedReader(keyring)
    cell = _cell()
    key, value = encode_cell(cell)
    headers = signed_headers(signer, cell, key, value)
    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    assert event.get_source() == deployment_source("insights", "cx-insights")
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
    joiner = DeploymentKeys(keyring).signer("joiner", "cx-joiner", create=True)
    with pytest.raises(RecordRejected):
        reader.insight(*signed_snapshot(joiner, journey(5)))


@pytest.mark.parametrize(
    ("group", "name"),
    [("cx-joiner", "cx-joiner"), ("Joiner_7.a", "joiner-7-a"), ("7", "j-7"), ("x" * 40, "x" * 32)],
)
def test_deployment_name_from_a_group_is_a_slug(group: str, name: str) -> None:
    assert deployment_name(group) == name
    deployment_source("joiner", deployment_name(group))  # accepted


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
    signer = SnapshotSigner(DeploymentKeys(keyring).signer("joiner", "cx-joiner", create=True))
    snap = journey(3, version=5)
    change = _released(snap, precision)
    key = snap.journey_token.encode()
    assert change.protected_json is not None
    value, headers = change.protected_json, signer.protected_headers(change, key)
    record = ProtectedSnapshot.model_validate_json(value)

    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    assert event.get_type() == "gov.cx.journey-snapshot.v2"
    assert event.get_dataschema() == ProtectedSnapshot.contract_urn()
    assert event.get_id() == protected_id(snap.life_experience, snap.journey_token, 5)
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
