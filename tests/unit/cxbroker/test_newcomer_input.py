"""What a newcomer needs to write an input file (#21, 4-5): the catalog, per-kind fields,
date formats, ids in any case, the --agency default, and dry-run words."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from broker.keyring import Keyring
from contracts.catalog import load_catalog
from contracts.errors import ContractViolation
from contracts.vocabulary import Stage
from cxbroker import cli
from cxbroker.commands.publish import publish
from cxbroker.exitcodes import ExitCode
from cxbroker.publish_help import DATES_HELP, kind_fields
from producers import RawRecord
from producers.deid.normalize import parse_date
from producers.deid.raw import EventKind
from producers.errors import DeidentificationError
from producers.ingest.rejects import RejectReason, reject_for
from producers.publisher import EventPreparer
from tests.support.files import AGENCY, LIFE_EXPERIENCES, good
from tests.support.keyrings import keyring_for
from tests.support.raw_records import raw


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("newcomer") / "keyring", [AGENCY], LIFE_EXPERIENCES)


def catalog_json(*args: str) -> Any:
    result = CliRunner().invoke(cli.main, ["catalog", *args, "--output", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_catalog_lists_every_id_a_record_may_use() -> None:
    data = catalog_json()
    catalog = load_catalog()
    assert [le["id"] for le in data["life-experiences"]] == [
        le.id for le in catalog.life_experiences
    ]
    assert {a["id"] for a in data["agencies"]} == {a.id for a in catalog.agencies}
    services = {s["id"]: s for s in data["services"]}
    assert services["ssa.retirement-benefits"]["stages"] == [
        "discover",
        "apply",
        "documents",
        "decision",
        "receive",
        "follow-up",
    ]
    assert data["values"]["stage"] == [str(s) for s in Stage]
    assert "unknown-life-experience" in data["reasons"]["rejects"]
    assert {"bad-signature", "contract-violation", "time-out-of-range"} <= set(
        data["reasons"]["dead_letters"]
    )


def test_catalog_sections_and_text() -> None:
    assert list(catalog_json("agencies")) == ["agencies"]
    result = CliRunner().invoke(cli.main, ["catalog", "life-experiences"])
    assert result.exit_code == 0
    assert result.output.splitlines()[1].split()[0] == "having-a-child"


def test_publish_help_says_what_each_kind_needs_and_the_date_formats() -> None:
    result = CliRunner().invoke(publish, ["--help"], terminal_width=400)
    flat = " ".join(result.output.split())
    assert (
        "kind service-interaction needs service_id, stage, channel, started_at, ended_at, "
        "outcome, wait_seconds, attempt" in flat
    )
    assert "kind application-status needs service_id, application_id, status" in flat
    assert "kind feedback needs service_id, channel" in flat
    assert " ".join(DATES_HELP.split()) in flat
    assert "`cxbroker catalog` lists them" in flat


@pytest.mark.parametrize(
    "text", ["1988-04-02", "04/02/1988", "19880402", "1988/04/02", "04-02-1988"]
)
def test_every_date_format_the_help_names_is_accepted(text: str) -> None:
    assert parse_date(text).isoformat() == "1988-04-02"


def test_a_service_interaction_without_a_field_the_help_names_is_refused(
    keyring: Keyring,
) -> None:
    needed, _ = kind_fields(EventKind.SERVICE_INTERACTION)
    preparer = EventPreparer(AGENCY, keyring)
    preparer.prepare(RawRecord(**good(0, 2)))  # complete: accepted
    for name in needed:
        row = {k: v for k, v in good(0, 2).items() if k != name}
        with pytest.raises((ContractViolation, DeidentificationError)) as caught:
            preparer.prepare(RawRecord(**row))
        assert name in str(caught.value)


def test_ids_are_accepted_in_any_case() -> None:
    record = raw(agency="USDA-FNS", life_experience=" Having-A-Child", service_id="USDA-FNS.WIC")
    assert (record.agency, record.life_experience, record.service_id) == (
        "usda-fns",
        "having-a-child",
        "usda-fns.wic",
    )


@pytest.mark.parametrize(
    ("field", "reason", "section"),
    [
        ("agency", RejectReason.UNKNOWN_AGENCY, "agencies"),
        ("life_experience", RejectReason.UNKNOWN_LIFE_EXPERIENCE, "life-experiences"),
        ("service_id", RejectReason.UNKNOWN_SERVICE, "services"),
    ],
)
def test_an_unknown_id_is_one_clear_problem_pointing_to_the_catalog(
    field: str, reason: RejectReason, section: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        raw(**{field: "Nope!"})
    reject = reject_for(7, caught.value)
    assert reject.reason is reason
    assert reject.detail.endswith(f"`cxbroker catalog {section}` lists them")
    assert "pattern" not in reject.detail and "^" not in reject.detail
    assert "Nope" not in reject.detail


def test_agency_column_is_optional_with_agency_option(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{k: v for k, v in good(i % 4, i).items() if k != "agency"} for i in range(2, 5)]
    path = tmp_path / "records.csv"
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setenv("CX_KEYRING_DIR", str(keyring.path))
    monkeypatch.setenv("CX_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(
        publish, ["--agency", AGENCY.upper(), "--file", str(path), "--dry-run"], terminal_width=200
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert "rows 3: would publish 3, would reject 0 (dry run: nothing was sent)" in result.output
    assert "published" not in result.output


def test_an_unknown_agency_option_points_to_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text("kind\n")
    result = CliRunner().invoke(publish, ["--agency", "xyz", "--file", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert "`cxbroker catalog agencies` lists them" in result.output
