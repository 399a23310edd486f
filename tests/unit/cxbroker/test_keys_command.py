"""``cxbroker keys``: init, rotate, show-public, export-public; secrets never printed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broker.keyring import PublicKeyring
from cxbroker import cli

Invoke = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """Invoke ``cxbroker`` with the keys group registered and CX_KEYRING_DIR in tmp."""
    monkeypatch.setitem(cli.COMMANDS, "keys", "cxbroker.commands.keys:keys")
    monkeypatch.setenv("CX_KEYRING_DIR", str(tmp_path / "keyring"))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli.main, ["keys", *args])

    return invoke


def _secrets(keyring: Path) -> list[str]:
    """Every private value in the keyring, in the encodings it could be printed in."""
    found: list[str] = []
    for file in keyring.rglob("*.json"):
        document = json.loads(file.read_text())
        for field in ("private_key", "secret"):
            if field in document:
                raw = base64.b64decode(document[field])
                found += [document[field], raw.hex(), base64.urlsafe_b64encode(raw).decode()]
    return found


def test_init_creates_all_catalog_keys_then_nothing(run: Invoke, tmp_path: Path) -> None:
    first = run("init")
    assert first.exit_code == 0, first.output
    assert "created signing key ssa-sig-" in first.output
    assert "created linkage key lk-having-a-child-" in first.output
    second = run("init")
    assert second.exit_code == 0
    assert "nothing created" in second.output
    assert "created signing key" not in second.output


def test_init_with_chosen_agencies_and_dir(run: Invoke, tmp_path: Path) -> None:
    directory = tmp_path / "elsewhere"
    result = run(
        "init",
        "--agencies",
        "ssa,irs",
        "--life-experiences",
        "having-a-child",
        "--dir",
        str(directory),
    )
    assert result.exit_code == 0, result.output
    keys = PublicKeyring.load(directory).entries()
    assert sorted(k.owner.urn for k in keys) == [
        "urn:cx:agency:irs",
        "urn:cx:agency:ssa",
        "urn:cx:insights:insights",  # the local demo's deployments, published the same way
        "urn:cx:joiner:joiner",
    ]
    assert not (tmp_path / "keyring").exists()


def test_unknown_agency_is_a_usage_error(run: Invoke) -> None:
    result = run("init", "--agencies", "ssa,nasa")
    assert result.exit_code == 2
    assert "unknown agency nasa" in result.output


def test_no_command_ever_prints_a_secret(run: Invoke, tmp_path: Path) -> None:
    outputs = [run("init"), run("rotate", "--agency", "ssa")]
    outputs.append(run("rotate", "--life-experience", "having-a-child"))
    outputs.append(run("show-public"))
    outputs.append(run("show-public", "--json"))
    outputs.append(run("export-public", str(tmp_path / "public.json")))
    secrets = _secrets(tmp_path / "keyring")
    assert len(secrets) >= 3 * (13 + 5)
    for result in outputs:
        assert result.exit_code == 0, result.output
        for secret in secrets:
            assert secret not in result.output


def test_rotation_and_show_public_list_old_and_new_keys(run: Invoke, tmp_path: Path) -> None:
    run("init", "--agencies", "ssa", "--life-experiences", "having-a-child")
    rotated = run("rotate", "--agency", "ssa")
    assert rotated.exit_code == 0
    assert "ssa-sig-" in rotated.output and "-2" in rotated.output
    run("rotate", "--life-experience", "having-a-child")
    shown = run("show-public")
    assert shown.exit_code == 0
    assert shown.output.count("ssa-sig-") == 2
    assert shown.output.count("lk-having-a-child-") == 2
    document = json.loads(run("show-public", "--json").output)
    ssa = [e for e in document["entries"] if e["owner"] == "urn:cx:agency:ssa"]
    assert [e["key_id"].split("-")[1] for e in ssa if e["use"] == "signing"] == ["sig", "sig"]
    public = PublicKeyring.load(tmp_path / "keyring").entries()
    assert [k.current for k in public if k.agency == "ssa"] == [False, True]


def test_rotate_needs_exactly_one_target(run: Invoke) -> None:
    assert run("rotate").exit_code == 2
    assert run("rotate", "--agency", "ssa", "--life-experience", "having-a-child").exit_code == 2


def test_export_public_writes_the_file_consumers_read(run: Invoke, tmp_path: Path) -> None:
    run("init", "--agencies", "fema", "--life-experiences", "recovering-from-a-disaster")
    target = tmp_path / "shared" / "public-keyring.json"
    result = run("export-public", str(target))
    assert result.exit_code == 0, result.output
    owners = [k.owner.urn for k in PublicKeyring.load(target).entries()]
    assert owners == ["urn:cx:agency:fema", "urn:cx:insights:insights", "urn:cx:joiner:joiner"]


def test_errors_are_one_line_without_traceback(run: Invoke) -> None:
    result = run("show-public")
    assert result.exit_code == 1
    assert result.output.startswith("cxbroker: error: no keyring at")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    missing = run("rotate", "--agency", "ssa")
    assert missing.exit_code == 1


def test_deployment_keys_are_made_shown_rotated_and_exported(run: Invoke, tmp_path: Path) -> None:
    made = run("init", "--agencies", "fema", "--life-experiences", "recovering-from-a-disaster")
    assert "created signing key joiner-joiner-sig-" in made.output
    assert "created signing key insights-insights-sig-" in made.output
    shown = run("deployment", "show")
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("current, published") == 2
    rotated = run("deployment", "rotate", "joiner")
    assert rotated.exit_code == 0, rotated.output
    assert "joiner-joiner-sig-" in rotated.output and rotated.output.strip().endswith("-2")
    shown = run("deployment", "show", "--kind", "joiner")
    assert "older" in shown.output and "current, published" in shown.output
    # An operator's own directory: not published until the governance assembles its export.
    ops = tmp_path / "ops"
    assert run("deployment", "init", "joiner", "ops", "--dir", str(ops)).exit_code == 0
    shown = run("deployment", "show", "--dir", str(ops))
    assert "has no signed public keyring installed" in shown.output
    out = tmp_path / "joiner-export.json"
    exported = run("deployment", "export-public", str(out), "--dir", str(ops))
    assert exported.exit_code == 0, exported.output
    assert "urn:cx:joiner:ops signing key joiner-ops-sig-" in exported.output
    document = json.loads(out.read_text())
    (entry,) = document["body"]["entries"]
    assert entry["owner"] == "urn:cx:joiner:ops" and entry["not_after"] > entry["not_before"]
    assert set(document["proofs"]) == {entry["key_id"]}
    secrets = _secrets(ops) + _secrets(tmp_path / "keyring")
    for result in (made, rotated, shown, exported):
        assert not any(secret in result.output for secret in secrets)
    assert not any(secret in out.read_text() for secret in secrets)
