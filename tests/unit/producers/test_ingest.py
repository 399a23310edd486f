"""File ingestion without Kafka: mixed good and bad rows in CSV and JSONL, value-free rejects."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from broker.keyring import Keyring
from contracts.envelope import decode
from cxbroker.commands.publish import publish
from cxbroker.exitcodes import ExitCode
from producers import RawRecord
from producers.errors import IngestError
from producers.ingest import (
    COLUMNS,
    REQUIRED_COLUMNS,
    RejectsWriter,
    columns_help,
    ingest,
    open_text,
    read_rows,
)
from producers.parallel import ParallelPreparer, PreparerSpec
from producers.publisher import DeliveryResult, DeliveryStatus, EventPreparer, PreparedEvent
from tests.support.files import (
    AGENCY,
    GOOD_LINES,
    LIFE_EXPERIENCES,
    event_id,
    good,
    identifier_values,
    mixed_rows,
    write_csv,
    write_jsonl,
)
from tests.support.keyrings import keyring_for, wire_id


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("ingest") / "keyring", [AGENCY], LIFE_EXPERIENCES)


class Collector:
    """A fake deliver: keeps the records it is given."""

    def __init__(self) -> None:
        self.events: list[PreparedEvent] = []

    async def __call__(self, events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
        self.events.extend(events)
        return [DeliveryResult(e.event_id, DeliveryStatus.SENT, "t", 0, 0) for e in events]


async def run_file(path: Path, keyring: Keyring, batch_size: int = 2) -> tuple[Any, Collector]:
    collector = Collector()
    _binary, text = open_text(path)
    with text, RejectsWriter(path.with_suffix(".rejects")) as rejects:
        summary = await ingest(
            read_rows(path, text),
            EventPreparer(AGENCY, keyring),
            collector,
            rejects,
            batch_size=batch_size,
        )
    return summary, collector


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_mixed_file_publishes_exactly_the_good_rows_and_lists_every_bad_one(
    tmp_path: Path, keyring: Keyring, fmt: str
) -> None:
    rows, bad = mixed_rows()
    path = tmp_path / f"records.{fmt}"
    if fmt == "csv":
        write_csv(path, rows, ["only,three,cells"])
    else:
        write_jsonl(path, rows, ['{"first_name": "Thaddeus", ', '["Thaddeus"]'])
    malformed = [13] if fmt == "csv" else [13, 14]

    summary, collector = await run_file(path, keyring)

    assert [str(e.event_id) for e in collector.events] == [
        wire_id(keyring, AGENCY, event_id(n)) for n in GOOD_LINES
    ]
    for event in collector.events:
        decoded = decode(event.record.key, event.record.value, event.record.headers)
        assert decoded.event.agency == AGENCY
        keyring.public_keyring().verify(event.record)
    assert summary.published == len(GOOD_LINES)
    assert summary.rejected == len(bad) + len(malformed)
    assert summary.rows == len(rows) + len(malformed)

    rejects_bytes = path.with_suffix(".rejects").read_bytes()
    listed = [json.loads(line) for line in rejects_bytes.splitlines()]
    expected = {**{n: r.value for n, r in bad.items()}, **dict.fromkeys(malformed, "malformed-row")}
    assert {item["line"]: item["reason"] for item in listed} == expected
    assert all(set(item) == {"line", "reason", "detail"} and item["detail"] for item in listed)
    for value in identifier_values():
        assert value not in rejects_bytes, "a raw value reached the rejects file"


async def test_bad_rows_details_name_fields(tmp_path: Path, keyring: Keyring) -> None:
    rows, _ = mixed_rows()
    path = tmp_path / "records.jsonl"
    write_jsonl(path, rows)
    await run_file(path, keyring)
    details = {
        item["line"]: item["detail"]
        for item in map(json.loads, path.with_suffix(".rejects").read_text().splitlines())
    }
    assert "last_name" in details[3]
    assert "date_of_birth" in details[4]
    assert "service_id" in details[5]
    assert "date_of_birth" in details[8]  # the PII guard names the field, not the value
    assert "wait_seconds" in details[11]


def test_unknown_csv_column_fails_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text("first_name,favourite_colour\nThaddeus,teal\n")
    with pytest.raises(IngestError, match="position 2") as caught, open(path) as stream:
        list(read_rows(path, stream))
    assert "favourite_colour" not in str(caught.value)


ROW_HEADER = ("first_name", "last_name", "date_of_birth", "zip", "life_experience", "kind")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_semicolon_tab_or_bar_file_is_read_by_its_header(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "records.csv"
    cells = ("Ann", "Lee", "1980-01-02", "32301", "having-a-child", "feedback", "x,y")
    header = (*ROW_HEADER, "occurred_at")
    path.write_text(delimiter.join(header) + "\n" + delimiter.join(cells) + "\n")
    with open(path) as stream:
        (row,) = list(read_rows(path, stream))
    assert row.fields is not None
    assert row.fields["zip"] == "32301" and row.fields["occurred_at"] == "x,y"


def test_a_missing_required_column_is_one_header_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    rows = "".join(f"Thaddeus,Quill,1980-01-0{n},having-a-child,feedback,x\n" for n in range(5))
    path.write_text("first_name,last_name,date_of_birth,life_experience,kind,occurred_at\n" + rows)
    no_zip = "the header has no zip column"
    with pytest.raises(IngestError, match=no_zip) as caught, open(path) as stream:
        list(read_rows(path, stream))
    assert "Thaddeus" not in str(caught.value) and "1980" not in str(caught.value)


def test_the_agency_column_may_come_from_the_option(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(",".join((*ROW_HEADER, "occurred_at")) + "\n")
    with open(path) as stream:
        assert list(read_rows(path, stream)) == []


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.xlsx"
    with pytest.raises(IngestError, match=r"\.csv or \.jsonl"):
        read_rows(path, io.StringIO(""))


def test_columns_are_derived_from_the_raw_record() -> None:

    assert tuple(RawRecord.model_fields) == COLUMNS
    assert set(REQUIRED_COLUMNS) >= {"first_name", "agency", "occurred_at", "kind"}
    text = columns_help()
    assert all(column in text for column in COLUMNS)


def test_help_lists_every_column() -> None:
    result = CliRunner().invoke(publish, ["--help"], terminal_width=400)
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    assert all(column in flat for column in COLUMNS)


def test_cli_dry_run_exits_non_zero_with_counts(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, bad = mixed_rows()
    path = tmp_path / "records.csv"
    write_csv(path, rows)
    monkeypatch.setenv("CX_KEYRING_DIR", str(keyring.path))
    monkeypatch.setenv("CX_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(
        publish, ["--agency", AGENCY, "--file", str(path), "--dry-run"], terminal_width=200
    )
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert f"would publish {len(GOOD_LINES)}" in result.output
    assert f"rejected {len(bad)}" in result.output
    listed = (tmp_path / "records.csv.rejects.jsonl").read_bytes()
    assert len(listed.splitlines()) == len(bad)
    for value in identifier_values():
        assert value not in result.output.encode()
        assert value not in listed


def test_cli_dry_run_of_a_clean_file_exits_zero(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.jsonl"
    write_jsonl(path, [good(i % 4, i) for i in range(2, 30)])
    monkeypatch.setenv("CX_KEYRING_DIR", str(keyring.path))
    result = CliRunner().invoke(publish, ["--agency", AGENCY, "--file", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would publish 28" in result.output
    assert (tmp_path / "records.jsonl.rejects.jsonl").read_bytes() == b""


async def test_ingesting_with_worker_processes_publishes_the_same_records(
    tmp_path: Path, keyring: Keyring
) -> None:
    rows, bad = mixed_rows()
    path = tmp_path / "records.jsonl"
    write_jsonl(path, rows)
    _, here = await run_file(path, keyring, batch_size=4)
    local_rejects = path.with_suffix(".rejects").read_bytes()

    collector = Collector()
    spec = PreparerSpec(keyring.path, agency=AGENCY)
    _binary, text = open_text(path)
    async with ParallelPreparer(spec, workers=2, chunk=3) as parallel:
        with text, RejectsWriter(path.with_suffix(".rejects")) as rejects:
            summary = await ingest(
                read_rows(path, text), parallel, collector, rejects, batch_size=4
            )
    assert collector.events == here.events  # byte-identical, signatures included
    assert summary.published == len(GOOD_LINES) and summary.rejected == len(bad)
    assert path.with_suffix(".rejects").read_bytes() == local_rejects
