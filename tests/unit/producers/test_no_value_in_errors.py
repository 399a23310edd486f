"""No value in any error: identifiers fed through every error path never come out again.

Each path (a CSV without a header line, ingest rejects, CLI errors, log lines, pydantic
validation messages, decode errors that become dead-letter details) is fed identifiers in
the wrong places; its output is normalized (NFKC, case folded, everything but letters and
digits removed) and scanned for each identifier, normalized the same way.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError, field_validator

from broker.keyring import Keyring
from contracts.envelope import decode, encode_unsigned, with_signature
from contracts.errors import ContractViolation, describe_validation_error
from cxbroker.cli import main
from cxbroker.exitcodes import ExitCode
from producers.errors import IngestError
from producers.ingest import COLUMNS, read_rows
from tests.support.contract_samples import Samples
from tests.support.files import AGENCY, LIFE_EXPERIENCES, good, write_csv, write_jsonl
from tests.support.keyrings import keyring_for

SSN = "219-09-9999"
PHONE = "(301) 555-0142"
EMAIL = "thaddeus.w@example.org"
NAME = "Wrexham-Oduya"
DOB = "1958-03-02"
ACCOUNT = "RET-77310001"
STREET = "4821 Larkspur Crescent"
IDENTIFIERS = (SSN, PHONE, EMAIL, NAME, DOB, ACCOUNT, STREET, "02APR1958", "Thaddeus")


def normalized(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def leaked(text: str, identifiers: tuple[str, ...] = IDENTIFIERS) -> list[str]:
    """The identifiers that ``text`` holds in any spelling (empty: none)."""
    flat = normalized(text)
    return [value for value in identifiers if normalized(value) in flat]


def test_the_scan_finds_an_identifier_in_any_spelling() -> None:
    assert leaked(f"x {SSN.replace('-', ' ')} y") == [SSN]
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) for ch in "WREXHAM")
    assert leaked(fullwidth + "_oduya") == [NAME]
    assert leaked("nothing here") == []


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("noval") / "keyring", [AGENCY], LIFE_EXPERIENCES)


def _env(keyring: Keyring, tmp_path: Path) -> dict[str, str]:
    return {"CX_KEYRING_DIR": str(keyring.path), "CX_STATE_DIR": str(tmp_path / "state")}


def _dry_run(tmp_path: Path, keyring: Keyring, path: Path, **env: str) -> Any:
    args = ["publish", "--agency", AGENCY, "--file", str(path), "--dry-run"]
    args += ["--rejects", str(tmp_path / "rejects.jsonl")]
    return CliRunner().invoke(main, args, env={**_env(keyring, tmp_path), **env})


def test_a_csv_without_a_header_line_echoes_none_of_its_first_row(
    tmp_path: Path, keyring: Keyring
) -> None:
    row = {**good(0, 2), "first_name": "Thaddeus", "last_name": NAME, "ssn": SSN}
    row.update(phone=PHONE, email=EMAIL, date_of_birth=DOB, street_address=STREET)
    path = tmp_path / "no-header.csv"
    path.write_text(",".join(str(row.get(c, "")) for c in COLUMNS) + "\n")
    with pytest.raises(IngestError) as caught, open(path) as stream:
        list(read_rows(path, stream))
    assert "header line" in str(caught.value)
    assert leaked(str(caught.value)) == []
    result = _dry_run(tmp_path, keyring, path)
    assert result.exit_code == ExitCode.USAGE
    assert "header line" in result.output
    assert leaked(result.output) == []


def test_a_header_with_a_value_among_known_columns_names_its_position_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad-header.csv"
    path.write_text(f"first_name,{NAME},last_name,{SSN}\n")
    with pytest.raises(IngestError) as caught, open(path) as stream:
        list(read_rows(path, stream))
    assert "position 2, 4" in str(caught.value)
    assert leaked(str(caught.value)) == []


def _hostile_rows() -> list[dict[str, Any]]:
    status: dict[str, Any] = {"kind": "application-status", "service_id": "ssa.retirement-benefits"}
    status.update(status="denied", application_id=ACCOUNT, stage=None, channel=None)
    status.update(started_at=None, ended_at=None, outcome=None, wait_seconds=None, attempt=None)
    return [
        good(0, 2, **status, reason_code=SSN),  # a value that does not fit the shape
        good(0, 3, **status, reason_code="WREXHAM-ODUYA"),  # fits the shape, not the catalog
        good(0, 4, channel=EMAIL),
        good(0, 5, stage=NAME),
        good(0, 6, attempt=SSN.replace("-", "")),
        good(0, 7, wait_seconds=PHONE),
        good(0, 8, occurred_at=f"{DOB} Thaddeus"),
        good(0, 9, date_of_birth="02APR1958"),
        good(0, 10, agency=SSN),
        good(0, 11, service_id=f"ssa.{NAME.lower()}"),
        good(0, 12, event_id=f"{SSN} " * 60),  # longer than a caller id may be
        good(0, 13, sex=NAME),
        good(0, 14, state=EMAIL),
        good(0, 15, zip=PHONE),
        good(0, 16, ssn=DOB),
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rejects_cli_output_and_logs_hold_no_value(
    tmp_path: Path, keyring: Keyring, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _hostile_rows()
    path = tmp_path / f"hostile.{fmt}"
    if fmt == "csv":
        write_csv(path, rows)
    else:
        extra = json.dumps({**good(0, 17), SSN: "x", "first_name": [NAME, SSN]})
        write_jsonl(path, rows, extra_lines=[extra])
    with caplog.at_level(logging.DEBUG):
        result = _dry_run(tmp_path, keyring, path)
    assert result.exit_code == ExitCode.REJECTED, result.output
    rejects = (tmp_path / "rejects.jsonl").read_text()
    lines = [json.loads(line) for line in rejects.splitlines()]
    assert len(lines) == len(rows) + (fmt == "jsonl")  # every row refused
    reasons = {line["line"]: line["reason"] for line in lines}
    assert reasons[3] == "unknown-reason-code"
    assert "reason_code" in next(x["detail"] for x in lines if x["line"] == 2)
    for text in (rejects, result.output, caplog.text):
        assert leaked(text) == []


class _Echoing(BaseModel):
    """A model whose own validator (wrongly) quotes its input, as third-party code may."""

    code: str

    @field_validator("code")
    @classmethod
    def _check(cls, value: str) -> str:
        raise ValueError(f"{value} is not a code")


def test_validation_messages_never_quote_the_input() -> None:
    with pytest.raises(ValidationError) as caught:
        _Echoing(code=f"{NAME} {SSN}")
    assert leaked(str(caught.value))  # pydantic's own text does quote it
    described = describe_validation_error(caught.value, "record")
    assert "code" in str(described)
    assert leaked(str(described)) == []
    assert leaked(repr(described.problems)) == []


def test_a_cli_settings_error_names_the_setting_not_its_value(
    tmp_path: Path, keyring: Keyring
) -> None:
    path = tmp_path / "empty.csv"
    write_csv(path, [])
    result = _dry_run(tmp_path, keyring, path, CX_PARTITIONS=SSN)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "partitions" in result.output
    assert leaked(result.output) == []
    assert "Traceback" not in result.output


def test_decode_errors_that_become_dead_letter_details_hold_no_value() -> None:
    record = encode_unsigned(Samples().status())
    payload = json.loads(record.value)
    payload.update(reason_code=SSN, channel=EMAIL, age_band=DOB, zip3=NAME, state=PHONE)
    payload[ACCOUNT] = STREET
    value = json.dumps(payload).encode()
    signed = with_signature(record.__class__(record.key, value, record.headers), "k-1", b"s" * 64)
    with pytest.raises(ContractViolation) as caught:
        decode(signed.key, signed.value, signed.headers)
    assert caught.value.reason == "contract-violation"
    assert "reason_code" in str(caught.value)
    assert leaked(str(caught.value)) == []
    assert leaked(repr(caught.value.problems)) == []
