"""``cxbroker contracts``: list, show, export, and the compatibility gate on released schemas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from contracts import load_registry
from cxbroker.commands.contracts import contracts
from cxbroker.errors import ContractsCommandError, IncompatibleContracts
from tests.support.paths import REPO

RELEASED = REPO / "contracts" / "schemas"


def test_list_names_every_contract_version() -> None:
    result = CliRunner().invoke(contracts, ["list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for entry in load_registry().entries:
        assert entry.name in result.output and entry.version in result.output


def test_show_prints_the_schema_of_the_newest_or_a_given_version() -> None:
    result = CliRunner().invoke(contracts, ["show", "feedback"])
    assert result.exit_code == 0
    assert json.loads(result.output)["$id"] == "urn:cx:contract:feedback:1.1.0"
    result = CliRunner().invoke(contracts, ["show", "feedback", "--version", "1.0.0"])
    assert json.loads(result.output)["$id"] == "urn:cx:contract:feedback:1.0.0"


def test_show_of_an_unknown_contract_is_a_user_error() -> None:
    result = CliRunner().invoke(contracts, ["show", "tax-return"])
    assert isinstance(result.exception, ContractsCommandError)
    assert "known contracts: application-status" in str(result.exception)
    assert result.exit_code == 1  # CliRunner; cxbroker.cli turns it into exit code 2


def test_released_schemas_are_compatible_with_the_registry() -> None:
    result = CliRunner().invoke(contracts, ["check", "--against", str(RELEASED)])
    assert result.exit_code == 0, result.output
    assert "compatible under BACKWARD_TRANSITIVE" in result.output
    for mode in ("FULL_TRANSITIVE", "forward", "NONE"):
        result = CliRunner().invoke(
            contracts, ["check", "--against", str(RELEASED), "--mode", mode]
        )
        assert result.exit_code == 0, result.output


def test_export_then_check_round_trip(tmp_path: Path) -> None:
    result = CliRunner().invoke(contracts, ["export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = {path.name for path in (tmp_path / "out").iterdir()}
    assert "asyncapi.json" in files and "feedback-1.0.0.json" in files
    assert len(files) == len(load_registry().entries) + 1
    result = CliRunner().invoke(contracts, ["check", "--against", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output


def test_check_reports_each_breaking_change_and_fails(tmp_path: Path) -> None:
    shutil.copytree(RELEASED, tmp_path / "released")
    # Pretend feedback 1.1.0 is not released yet: under FORWARD its new field breaks.
    (tmp_path / "released" / "feedback-1.1.0.json").unlink()
    args = ["check", "--against", str(tmp_path / "released")]
    assert CliRunner().invoke(contracts, [*args, "--mode", "BACKWARD"]).exit_code == 0
    result = CliRunner().invoke(contracts, [*args, "--mode", "FORWARD"])
    assert isinstance(result.exception, IncompatibleContracts)
    assert "BREAKING feedback 1.0.0 -> 1.1.0: $.humanity: field-added-optional" in result.output


def test_check_catches_an_edited_released_version(tmp_path: Path) -> None:
    shutil.copytree(RELEASED, tmp_path / "released")
    path = tmp_path / "released" / "service-interaction-1.0.0.json"
    schema = json.loads(path.read_text())
    schema["properties"]["attempt"]["maximum"] = 5000
    path.write_text(json.dumps(schema))
    result = CliRunner().invoke(contracts, ["check", "--against", str(tmp_path / "released")])
    assert result.exit_code != 0
    assert "service-interaction 1.0.0 -> 1.0.0: $.attempt: released-version-modified" in (
        result.output
    )


def test_check_against_a_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(contracts, ["check", "--against", str(tmp_path / "nope")])
    assert isinstance(result.exception, ContractsCommandError)
