"""Keys across organisations: own keys only, start checks, signed keyring, revocation,
linkage keys wrapped for named recipients, rotation overlap (all in temp directories)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from broker.errors import KeyExpired, KeyRevoked, KeyringError, KeyringRefused
from broker.keyring import (
    Governance,
    Keyring,
    LinkageStore,
    OrgKeys,
    Owner,
    PublicKeyring,
    check_org,
    read_secret_file,
    write_secret_file,
)
from contracts.signing import signing_input
from producers.publisher.prepare import EventPreparer
from tests.support.keyrings import DAY1, DAY2, unsigned
from tests.support.raw_records import raw

LE = "having-a-child"


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


class World:
    """A governance, two agencies of having-a-child and a joiner operator, apart."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.gov = Governance(root / "gov")
        self.gov.init("council", now=DAY1)
        self.anchor = root / "gov" / "trust-anchor.json"
        self.ssa = OrgKeys(root / "ssa")
        self.fns = OrgKeys(root / "fns")
        self.op = OrgKeys(root / "joiner-op")
        self.ssa.init(Owner("agency", "ssa"), now=DAY1)
        self.fns.init(Owner("agency", "usda-fns"), now=DAY1)
        self.op.init(Owner("joiner", "ops"), now=DAY1)
        for org in (self.ssa, self.fns, self.op):
            org.trust(self.anchor)
        self.publish(self.gov.assemble([self.ssa.export(), self.fns.export()], now=DAY1))

    def publish(self, signed: bytes) -> Path:
        shared = self.root / "public-keyring.json"
        shared.write_bytes(signed)
        for org in (self.ssa, self.fns, self.op):
            org.install(shared)
        return shared


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def _share(world: World, **options: Any) -> str:
    key_id, packages = LinkageStore(world.ssa).make(LE, world.ssa.public_keyring(), **options)
    assert set(packages) == {"usda-fns"}
    assert (
        LinkageStore(world.fns).accept(packages["usda-fns"], world.fns.public_keyring()) == key_id
    )
    return key_id


def _private_values(directory: Path) -> list[bytes]:
    """Every private or linkage key under ``directory``, in each encoding it could leak in."""
    found: list[bytes] = []
    for file in directory.rglob("*.json"):
        document = json.loads(file.read_text())
        for field in ("private_key", "secret"):
            if field in document:
                raw_key = base64.b64decode(document[field])
                found += [raw_key, document[field].encode(), raw_key.hex().encode()]
                found.append(base64.urlsafe_b64encode(raw_key).rstrip(b"="))
    return found


def test_each_agency_holds_only_its_own_keys_and_the_operator_none(world: World) -> None:
    _share(world)
    assert [f.key_id for f in world.ssa.files("signing")] == ["ssa-sig-20261125-1"]
    assert [f.key_id for f in world.fns.files("encryption")] == ["usda-fns-enc-20261125-1"]
    operator_bytes = b"".join(p.read_bytes() for p in world.op.path.rglob("*") if p.is_file())
    secrets = _private_values(world.ssa.path) + _private_values(world.fns.path)
    assert len(secrets) == 4 * (2 + 2 + 2 + 2)  # signing, encryption, linkage, record-id
    assert not any(secret in operator_bytes for secret in secrets)
    # The two agencies hold the same linkage key, and no other private key of each other.
    assert (
        LinkageStore(world.ssa).history(LE)[0].secret
        == LinkageStore(world.fns).history(LE)[0].secret
    )
    fns_bytes = b"".join(p.read_bytes() for p in world.fns.path.rglob("*") if p.is_file())
    ssa_only = [
        s for s in _private_values(world.ssa.path) if s not in _private_values(world.fns.path)
    ]
    assert len(ssa_only) == 12  # signing, encryption and record-id keys, 4 encodings each
    assert not any(secret in fns_bytes for secret in ssa_only)
    for org in (world.ssa, world.fns, world.op):
        assert {_mode(p) for p in [org.path, *org.path.rglob("*")] if p.is_dir()} == {0o700}
        assert {_mode(p) for p in org.path.rglob("*") if p.is_file()} == {0o600}


def test_another_organisations_private_key_is_refused_at_start(world: World) -> None:
    stolen = next((world.fns.path / "signing").glob("*.json"))
    shutil.copy(stolen, world.ssa.path / "signing" / stolen.name)
    with pytest.raises(KeyringRefused, match="private key of another organisation") as caught:
        world.ssa.signer()
    assert "\n" not in str(caught.value)
    (world.ssa.path / "signing" / stolen.name).unlink()
    world.ssa.signer()  # clean again


def test_an_operator_directory_with_a_linkage_key_is_refused(world: World) -> None:
    _share(world)
    source = next((world.fns.path / "linkage" / LE).glob("*.json"))
    target = world.op.path / "linkage" / LE / source.name
    target.parent.mkdir(parents=True, mode=0o700)
    os.chmod(world.op.path / "linkage", 0o700)
    shutil.copy(source, target)
    with pytest.raises(KeyringRefused, match="another organisation"):
        PublicKeyring.load(world.op.path)


def test_open_modes_and_old_layout_are_refused(world: World) -> None:
    os.chmod(world.op.path / "public-keyring.json", 0o644)
    with pytest.raises(KeyringRefused, match="chmod 600"):
        PublicKeyring.load(world.op.path)
    os.chmod(world.op.path / "public-keyring.json", 0o600)
    old = world.ssa.path / "signing" / "irs"
    old.mkdir(mode=0o700)
    (old / "irs-sig-20260101-1.json").write_text("{}")
    os.chmod(old / "irs-sig-20260101-1.json", 0o600)
    with pytest.raises(KeyringRefused, match="old all-agencies layout"):
        check_org(world.ssa.path)


def test_generic_secret_files_are_0600_and_start_checked(world: World) -> None:
    path = write_secret_file(world.ssa.path, "record-id-hmac", b"\x01" * 32)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert read_secret_file(world.ssa.path, "record-id-hmac") == b"\x01" * 32
    with pytest.raises(KeyringError):
        write_secret_file(world.ssa.path, "record-id-hmac", b"\x02" * 32)
    check_org(world.ssa.path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyringRefused):
        check_org(world.ssa.path)


def test_tampered_keyring_is_refused_whole(world: World, tmp_path: Path) -> None:
    installed = world.op.path / "public-keyring.json"
    document = json.loads(installed.read_text())
    entry = document["body"]["entries"][0]
    entry["public_key"] = base64.b64encode(b"\x07" * 32).decode()
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    with pytest.raises(KeyringRefused, match="does not verify") as caught:
        world.op.install(tampered)
    assert "\n" not in str(caught.value)
    # Signed by another governance key: refused too.
    other = Governance(tmp_path / "rogue")
    other.init("council", now=DAY1)
    forged = tmp_path / "forged.json"
    forged.write_bytes(other.assemble([world.ssa.export()], now=DAY2))
    with pytest.raises(KeyringRefused, match=r"pinned governance key|does not verify"):
        world.op.install(forged)
    # A running reader keeps its verified keyring when the file under it is replaced.
    reader = PublicKeyring.load(world.op.path)
    record = world.ssa.signer().sign(unsigned("ssa"))
    shutil.copy(tampered, installed)
    reader.verify(record)
    assert reader.serial == 1
    with pytest.raises(KeyringRefused):
        PublicKeyring.load(world.op.path)


def test_exports_need_proofs_and_key_ids_cannot_change_owner(world: World) -> None:
    export = world.ssa.export()
    export["body"]["entries"][0]["owner"] = "urn:cx:agency:irs"
    with pytest.raises(KeyringRefused):
        world.gov.assemble([export])
    forged = world.fns.export()
    forged["body"]["entries"] = [
        {**e, "public_key": world.ssa.export()["body"]["entries"][0]["public_key"]}
        for e in forged["body"]["entries"]
    ]
    with pytest.raises(KeyringRefused):
        world.gov.assemble([forged])


def test_revocation_reaches_a_running_reader_and_judges_by_record_time(world: World) -> None:
    reader = PublicKeyring.load(world.op.path)
    signer = world.ssa.signer()
    record = signer.sign(unsigned("ssa"))
    data, signature = signing_input(record), base64.b64decode(record.header("ce_cxsig") or b"")
    revoked_at = datetime.now(UTC) - timedelta(hours=1)
    world.publish(world.gov.revoke(signer.key_id, reason="compromised", at=revoked_at))
    before = revoked_at - timedelta(minutes=1)
    reader.verify_bytes(signer.key_id, data, signature, agency="ssa", at=before)
    with pytest.raises(KeyRevoked) as caught:
        reader.verify_bytes(signer.key_id, data, signature, agency="ssa", at=revoked_at)
    assert caught.value.reason == "key-revoked"
    assert reader.serial == 2
    # usda-fns is untouched.
    fns = world.fns.signer().sign(unsigned("usda-fns"))
    reader.verify(fns)


def test_an_expired_key_refuses_later_records(world: World) -> None:
    reader = PublicKeyring.load(world.op.path)
    signer = world.ssa.signer()
    record = signer.sign(unsigned("ssa"))
    data, signature = signing_input(record), base64.b64decode(record.header("ce_cxsig") or b"")
    not_after = reader.key(signer.key_id).not_after  # type: ignore[union-attr]
    reader.verify_bytes(signer.key_id, data, signature, agency="ssa", at=not_after)
    if not_after < datetime.now(UTC):
        with pytest.raises(KeyExpired):
            reader.verify_bytes(
                signer.key_id, data, signature, agency="ssa", at=not_after + timedelta(seconds=1)
            )
    assert not_after == DAY1 + timedelta(days=730)


def test_a_package_opens_only_for_its_recipient_and_unchanged(world: World) -> None:
    key_id, packages = LinkageStore(world.ssa).make(LE, world.ssa.public_keyring())
    package = packages["usda-fns"]
    text = json.dumps(package).encode()
    secret = LinkageStore(world.ssa).history(LE)[0].secret
    assert secret not in text and base64.b64encode(secret) not in text
    for field, value in (
        ("recipient_key_id", "x-enc-1"),
        ("key_id", "lk-other-1"),
        ("sequence", 9),
    ):
        changed = json.loads(text)
        changed["body"][field] = value
        with pytest.raises(KeyringRefused):
            LinkageStore(world.fns).accept(changed, world.fns.public_keyring())
    # SSA cannot open the package meant for USDA FNS (it is not addressed to it).
    with pytest.raises(KeyringRefused, match="not addressed"):
        LinkageStore(world.ssa).accept(package, world.ssa.public_keyring())
    assert not LinkageStore(world.fns).files(LE)
    assert LinkageStore(world.fns).accept(package, world.fns.public_keyring()) == key_id


def test_rotation_overlap_makes_tokens_under_both_keys(world: World) -> None:
    first = _share(world, now=DAY1)
    second = _share(world, now=DAY2, overlap=timedelta(days=120))
    store = LinkageStore(world.fns)
    assert [k.key_id for k in store.token_keys(LE, DAY2 + timedelta(days=1))] == [second, first]
    assert [k.key_id for k in store.token_keys(LE, DAY2 + timedelta(days=121))] == [second]
    preparer = EventPreparer("usda-fns", Keyring(world.fns.path))
    during = preparer.prepare_all(raw(), now=DAY2 + timedelta(days=1))
    events = [json.loads(p.record.value) for p in during]
    assert [e["linkage_key_id"] for e in events] == [second, first]
    assert len({e["journey_token"] for e in events}) == 2
    assert len({e["event_id"] for e in events}) == 1
    # One prepared event carries its overlap copy, also through a worker's pickle.
    prepared = preparer.prepare(raw(), now=DAY2 + timedelta(days=1))
    assert len(prepared.extra) == 1
    again = pickle.loads(pickle.dumps(prepared))  # noqa: S301 - our own bytes
    assert again == prepared and again.records() == prepared.records()
    after = preparer.prepare_all(raw(), now=DAY2 + timedelta(days=121))
    assert [json.loads(p.record.value)["linkage_key_id"] for p in after] == [second]


def test_local_demo_wraps_held_keys_for_an_agency_added_later(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path / "ring")
    keyring.init(["ssa"], [LE], now=DAY1)
    keyring.rotate_linkage(LE, now=DAY2)
    keyring.init(["ssa", "irs"], [LE], now=DAY2)
    demo = keyring.demo
    assert demo is not None
    held = [k.secret for k in LinkageStore(demo.agency("ssa")).history(LE)]
    received = [k.secret for k in LinkageStore(demo.agency("irs")).history(LE)]
    assert received == held and len(held) == 2
    # The ssa directory still holds only ssa's private keys, irs's only irs's.
    check_org(demo.agency("ssa").path)
    check_org(demo.agency("irs").path)
