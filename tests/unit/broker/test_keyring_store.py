"""The keyring directory: permissions, idempotent init, rotation history, public keyring file."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from broker.errors import (
    KeyringError,
    KeyringRefused,
    LinkageKeyMissing,
    RecordIdKeyMissing,
    SigningKeyMissing,
)
from broker.keyring import Keyring, PublicKeyring
from tests.support.keyrings import AGENCIES, DAY1, DAY2, LIFE_EXPERIENCES, made_keyring


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_directories_are_0700_and_files_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # a permissive umask must not widen anything
    try:
        keyring = made_keyring(tmp_path / "keyring")
    finally:
        os.umask(old_umask)
    dirs = [keyring.path, *(p for p in keyring.path.rglob("*") if p.is_dir())]
    files = [p for p in keyring.path.rglob("*") if p.is_file()]
    # Each organisation in its own directory: one signing and one encryption key per
    # agency, in that agency's directory only; linkage keys only with their participants
    # (having-a-child: ssa and usda-fns; approaching-retirement: ssa).
    for agency in AGENCIES:
        org = keyring.path / "agencies" / agency
        assert [p.parent.name for p in org.rglob("*-sig-*.json")] == ["signing"]
        assert len(list((org / "encryption").glob("*.json"))) == 1
        assert _mode(org / "secrets" / "record-id.json") == 0o600
    linkage = sorted(str(p.relative_to(keyring.path)) for p in keyring.path.rglob("lk-*.json"))
    assert [p for p in linkage if "/linkage/" in p] == [
        "agencies/ssa/linkage/approaching-retirement/lk-approaching-retirement-20261125-1.json",
        "agencies/ssa/linkage/having-a-child/lk-having-a-child-20261125-1.json",
        "agencies/usda-fns/linkage/having-a-child/lk-having-a-child-20261125-1.json",
    ]
    # The joiner and insights deployments hold their own signing key only.
    for kind in ("joiner", "insights"):
        own = keyring.path / "operators" / kind
        assert [p.relative_to(own).parts[0] for p in own.rglob("*-sig-*.json")] == ["signing"]
        assert all(p.name.startswith(f"{kind}-{kind}-sig-") for p in own.rglob("*-sig-*.json"))
    assert {_mode(d) for d in dirs} == {0o700}
    assert {_mode(f) for f in files} == {0o600}


def test_existing_wide_directory_is_tightened_by_init(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)  # noqa: S103 - the test needs a too-open directory
    Keyring(path).init(["ssa"], [], now=DAY1)
    assert _mode(path) == 0o700


def test_init_is_idempotent(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    before = {p: p.read_bytes() for p in keyring.path.rglob("*.json")}
    again = keyring.init(AGENCIES, LIFE_EXPERIENCES, now=DAY2)
    assert not again.created_anything
    assert {p: p.read_bytes() for p in keyring.path.rglob("*.json")} == before


def test_init_adds_only_what_is_missing(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    result = keyring.init([*AGENCIES, "fema"], [*LIFE_EXPERIENCES, "recovering-from-a-disaster"])
    assert [k.split("-sig-")[0] for k in result.signing] == ["fema"]
    assert [k.rsplit("-", 2)[0] for k in result.linkage] == ["lk-recovering-from-a-disaster"]


def test_key_ids_follow_the_documented_format(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    assert keyring.signer("ssa").key_id == "ssa-sig-20261125-1"
    assert keyring.linkage_keys()["having-a-child"].key_id == "lk-having-a-child-20261125-1"


def test_linkage_rotation_keeps_old_keys_listed_and_findable(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    old = keyring.linkage_keys()["having-a-child"]
    new_id = keyring.rotate_linkage("having-a-child", now=DAY2)
    assert new_id == "lk-having-a-child-20261202-2"
    current = keyring.linkage_keys()["having-a-child"]
    assert current.key_id == new_id
    assert current.current
    assert current.secret != old.secret
    history = keyring.linkage_history("having-a-child")
    assert [k.key_id for k in history] == [old.key_id, new_id]
    assert [k.current for k in history] == [False, True]
    found = keyring.linkage_key(old.key_id)
    assert found.secret == old.secret
    assert not found.current
    # Other life experiences are untouched.
    assert keyring.linkage_keys()["approaching-retirement"].key_id.endswith("-1")


def test_linkage_secrets_are_32_random_bytes(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    secrets = [k.secret for k in keyring.linkage_keys().values()]
    assert all(len(s) == 32 for s in secrets)
    assert len(set(secrets)) == len(secrets)


def test_public_keyring_file_lists_agencies_with_current_flags(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    keyring.rotate_signing("ssa", now=DAY2)
    path = keyring.public_dir() / "public-keyring.json"
    document = json.loads(path.read_bytes())
    assert document["version"] == 2
    entries = [e for e in document["body"]["entries"] if e["use"] == "signing"]
    assert {e["owner"] for e in entries} == {
        *(f"urn:cx:agency:{a}" for a in AGENCIES),
        "urn:cx:joiner:joiner",  # the local demo's deployments, published the same way
        "urn:cx:insights:insights",
    }
    ssa = [e for e in entries if e["owner"] == "urn:cx:agency:ssa"]
    assert [e["key_id"] for e in ssa] == ["ssa-sig-20261125-1", "ssa-sig-20261202-2"]
    current = {k.key_id: k.current for k in keyring.public_keyring().entries() if k.agency == "ssa"}
    assert current == {"ssa-sig-20261125-1": False, "ssa-sig-20261202-2": True}
    assert all(len(base64.b64decode(e["public_key"], validate=True)) == 32 for e in ssa)
    # The public keyring holds no private material.
    text = path.read_text()
    for file in [
        *(keyring.path / "agencies").rglob("*.json"),
        *(keyring.path / "operators").rglob("*.json"),
    ]:
        document = json.loads(file.read_text())
        for field in ("private_key", "secret"):
            if field in document:
                assert document[field] not in text


def test_export_public_writes_one_readable_file(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    target = keyring.export_public(tmp_path / "out" / "keys.json")
    assert _mode(target) == 0o644
    exported = PublicKeyring.load(target)
    assert {k.key_id for k in exported.entries()} == {
        "ssa-sig-20261125-1",
        "usda-fns-sig-20261125-1",
        "joiner-joiner-sig-20261125-1",
        "insights-insights-sig-20261125-1",
    }


def test_secret_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    file = keyring.path / "agencies/ssa/signing/ssa-sig-20261125-1.json"
    os.chmod(file, 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        keyring.signer("ssa")


def test_missing_keys_and_keyring_are_reported(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    with pytest.raises(SigningKeyMissing, match="fema"):
        keyring.signer("fema")
    with pytest.raises(LinkageKeyMissing, match="facing-a-financial-shock"):
        keyring.linkage_keys(["facing-a-financial-shock"])
    with pytest.raises(LinkageKeyMissing):
        keyring.linkage_key("lk-nothing-20260101-1")
    with pytest.raises(SigningKeyMissing):
        keyring.rotate_signing("fema")
    with pytest.raises(KeyringError, match="keys init"):
        Keyring(tmp_path / "absent").signer("ssa")


def test_malformed_public_keyring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "public-keyring.json"
    path.write_text('{"version": 1, "agencies": {"ssa": [{"key_id": "BAD ID"}]}}')
    with pytest.raises(KeyringError, match="malformed"):
        PublicKeyring.load(path)


def test_reprs_hold_no_secret(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    key = keyring.linkage_keys()["having-a-child"]
    encoded = base64.b64encode(key.secret).decode()
    for shown in (repr(key), str(key), repr(keyring), repr(keyring.public_keyring())):
        assert encoded not in shown
        assert key.secret.hex() not in shown
        assert repr(key.secret) not in shown


def test_init_makes_one_record_id_secret_per_agency_that_is_never_shown(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    key = keyring.record_id_key("ssa")
    assert key.key_id == "ssa-rid-20261125-1"
    assert len(key.secret) == 32
    assert keyring.record_id_key("usda-fns").secret != key.secret
    assert key.secret.hex() not in repr(key) and "redacted" in str(key)
    file = tmp_path / "keyring" / "agencies" / "ssa" / "secrets" / "record-id.json"
    assert _mode(file) == 0o600


def test_an_older_keyring_gains_record_id_secrets_from_init(tmp_path: Path) -> None:
    keyring = made_keyring(tmp_path / "keyring")
    for file in (tmp_path / "keyring" / "agencies").rglob("record-id.json"):
        file.unlink()
    with pytest.raises(RecordIdKeyMissing, match="keys init"):
        keyring.record_id_key("ssa")
    result = keyring.init(AGENCIES, LIFE_EXPERIENCES, now=DAY2)
    assert not result.signing and not result.linkage
    assert len(result.record_id) == len(AGENCIES)
    assert keyring.record_id_key("ssa").key_id == "ssa-rid-20261202-1"


def test_derived_ids_are_stable_keyed_version_8_uuids(tmp_path: Path) -> None:
    key = made_keyring(tmp_path / "keyring").record_id_key("ssa")
    first = key.event_id("caller-id", b"CASE-123-45-6789")
    assert first == key.event_id("caller-id", b"CASE-123-45-6789")
    assert first.version == 8 and first.variant == "specified in RFC 4122"
    assert first != key.event_id("content", b"CASE-123-45-6789")
    other = made_keyring(tmp_path / "other").record_id_key("ssa")
    assert other.event_id("caller-id", b"CASE-123-45-6789") != first


def test_an_all_agencies_keyring_of_an_earlier_version_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "keyring"
    (old / "signing" / "ssa").mkdir(parents=True)
    with pytest.raises(KeyringRefused, match="earlier version"):
        Keyring(old).init(["ssa"], [], now=DAY1)
