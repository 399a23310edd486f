"""The key ceremony on the command line, three organisations and a governance apart."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broker.keyring import PublicKeyring
from cxbroker import cli
from cxbroker.exitcodes import ExitCode

LE = "having-a-child"


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, ["keys", *args])


def _ok(*args: str) -> Result:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result


def _secrets(directory: Path) -> list[str]:
    found: list[str] = []
    for file in directory.rglob("*.json"):
        document = json.loads(file.read_text())
        for field in ("private_key", "secret"):
            if field in document:
                raw = base64.b64decode(document[field])
                found += [document[field], raw.hex(), base64.urlsafe_b64encode(raw).decode()]
    return found


@pytest.fixture
def ceremony(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Result]]:
    monkeypatch.setitem(cli.COMMANDS, "keys", "cxbroker.commands.keys:keys")
    monkeypatch.setenv("CX_KEYRING_DIR", str(tmp_path / "unused"))
    gov, ssa, fns, op = (str(tmp_path / n) for n in ("gov", "ssa", "fns", "op"))
    outputs = [
        _ok("governance", "init", "--name", "council", "--dir", gov),
        _ok("init", "--agency", "ssa", "--dir", ssa),
        _ok("init", "--agency", "usda-fns", "--dir", fns),
        _ok("init", "--operator", "ops", "--dir", op),
    ]
    for directory in (ssa, fns, op):
        outputs.append(_ok("trust", f"{gov}/trust-anchor.json", "--dir", directory))
    outputs.append(_ok("export", str(tmp_path / "ssa.json"), "--dir", ssa))
    outputs.append(_ok("export", str(tmp_path / "fns.json"), "--dir", fns))
    outputs.append(
        _ok(
            "governance",
            "assemble",
            str(tmp_path / "ssa.json"),
            str(tmp_path / "fns.json"),
            "--out",
            str(tmp_path / "public-keyring.json"),
            "--dir",
            gov,
        )
    )
    for directory in (ssa, fns, op):
        outputs.append(_ok("install", str(tmp_path / "public-keyring.json"), "--dir", directory))
    made = _ok(
        "linkage", "new", "--life-experience", LE, "--out", str(tmp_path / "pk"), "--dir", ssa
    )
    outputs.append(made)
    (package,) = (tmp_path / "pk").glob("*.usda-fns.json")
    outputs.append(_ok("linkage", "accept", str(package), "--dir", fns))
    for directory in (ssa, fns, op):
        outputs.append(_ok("show", "--dir", directory))
    return tmp_path, outputs


def test_three_organisations_agree_and_no_command_prints_a_secret(
    ceremony: tuple[Path, list[Result]],
) -> None:
    root, outputs = ceremony
    secrets = _secrets(root / "ssa") + _secrets(root / "fns") + _secrets(root / "gov")
    assert len(secrets) == 3 * (3 + 3 + 1 + 2)  # and a record-id secret per agency
    for result in outputs:
        for secret in secrets:
            assert secret not in result.output
    held = [json.loads(p.read_text())["secret"] for p in root.glob("*/linkage/*/*.json")]
    assert len(held) == 2 and held[0] == held[1]
    operator_bytes = b"".join(p.read_bytes() for p in (root / "op").rglob("*") if p.is_file())
    assert not any(s.encode() in operator_bytes for s in secrets)
    shown = outputs[-1].output
    assert "urn:cx:agency:ssa" in shown and "fingerprint" in shown
    owners = {k.owner.urn for k in PublicKeyring.load(root / "op").entries()}
    assert owners == {"urn:cx:agency:ssa", "urn:cx:agency:usda-fns"}


def test_a_foreign_private_key_is_refused_in_one_line(
    ceremony: tuple[Path, list[Result]],
) -> None:
    root, _ = ceremony
    stolen = next((root / "fns" / "signing").glob("*.json"))
    shutil.copy(stolen, root / "ssa" / "signing" / stolen.name)
    result = _run("show", "--dir", str(root / "ssa"))
    assert result.exit_code == ExitCode.KEYS_REFUSED
    assert int(ExitCode.KEYS_REFUSED) == 11
    assert result.output.startswith("cxbroker: error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "another organisation" in result.output


def test_a_tampered_keyring_is_refused_and_nothing_installed(
    ceremony: tuple[Path, list[Result]],
) -> None:
    root, _ = ceremony
    document = json.loads((root / "public-keyring.json").read_text())
    document["body"]["entries"][0]["not_after"] = "2099-01-01T00:00:00Z"
    tampered = root / "tampered.json"
    tampered.write_text(json.dumps(document))
    before = (root / "op" / "public-keyring.json").read_bytes()
    result = _run("install", str(tampered), "--dir", str(root / "op"))
    assert result.exit_code == ExitCode.KEYS_REFUSED
    assert len(result.output.strip().splitlines()) == 1
    assert "does not verify" in result.output
    assert (root / "op" / "public-keyring.json").read_bytes() == before


def test_revocation_by_the_governance_reaches_the_operator(
    ceremony: tuple[Path, list[Result]],
) -> None:
    root, _ = ceremony
    (ssa_key,) = [k.key_id for k in PublicKeyring.load(root / "op").entries() if k.agency == "ssa"]
    out = str(root / "public-keyring-2.json")
    _ok("governance", "revoke", ssa_key, "--out", out, "--dir", str(root / "gov"))
    _ok("install", out, "--dir", str(root / "op"))
    public = PublicKeyring.load(root / "op")
    assert public.serial == 2
    assert public.key(ssa_key).revoked_at is not None  # type: ignore[union-attr]
    # An older serial is refused (a rollback).
    rollback = _run("install", str(root / "public-keyring.json"), "--dir", str(root / "op"))
    assert rollback.exit_code == ExitCode.KEYS_REFUSED


def test_a_held_key_is_shared_with_an_agency_that_lost_or_lacked_it(
    ceremony: tuple[Path, list[Result]],
) -> None:
    root, _ = ceremony
    (held,) = (root / "ssa" / "linkage" / LE).glob("*.json")
    key_id = held.stem
    (lost,) = (root / "fns" / "linkage" / LE).glob("*.json")
    lost.unlink()
    out = root / "again"
    _ok(
        "linkage",
        "share",
        "--key-id",
        key_id,
        "--to",
        "usda-fns",
        "--out",
        str(out),
        "--dir",
        str(root / "ssa"),
    )
    _ok("linkage", "accept", str(out / f"{key_id}.usda-fns.json"), "--dir", str(root / "fns"))
    assert json.loads(lost.read_text())["secret"] == json.loads(held.read_text())["secret"]
    # FEMA takes no part in having-a-child: it never gets the key.
    refused = _run(
        "linkage",
        "share",
        "--key-id",
        key_id,
        "--to",
        "fema",
        "--out",
        str(out),
        "--dir",
        str(root / "ssa"),
    )
    assert refused.exit_code == ExitCode.KEYS_REFUSED
    assert "takes no part" in refused.output
