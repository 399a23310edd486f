"""File ingestion without Kafka: mixed good and bad rows in CSV and JSONL, value-free rejects."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

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
    RejectReason,
    RejectsWriter,
    columns_help,
    ingest,
    open_text,
    read_rows,
)
from producers.parallel import ParallelPreparer, PreparerSpec
from producers.publisher import DeliveryResult, DeliveryStatus, EventPreparer, PreparedEvent

AGENCY = "ssa"
LIFE_EXPERIENCES = ("approaching-retirement", "having-a-child")
_NS = UUID("5f1b2c3d-0000-4000-8000-000000000000")

# Invented identities; every value is scanned for in the rejects file.
PEOPLE: tuple[dict[str, str], ...] = tuple(
    {
        "first_name": first,
        "middle_name": "Ysolde",
        "last_name": last,
        "ssn": ssn,
        "date_of_birth": dob,
        "street_address": f"{100 + i} Quillfeather Lane",
        "city": "Brackenridge",
        "state": "MD",
        "zip": "20815",
        "phone": f"(301) 555-01{i:02d}",
        "email": f"{first.lower()}.{i}@example.org",
        "account_number": f"RET-7731{i:04d}",
    }
    for i, (first, last, ssn, dob) in enumerate(
        [
            ("Thaddeus", "Wrexham-Oduya", "219-09-9999", "1958-03-02"),
            ("Philippa", "Castellanos", "078-05-1120", "1959-11-23"),
            ("Ingeborg", "Nakashima", "123-45-6780", "1960-06-17"),
            ("Bartholomew", "Eze-Fairweather", "234-56-7891", "1957-01-30"),
        ]
    )
)


def event_id(line: int) -> str:
    return str(uuid5(_NS, f"row-{line}"))


def good(person: int, line: int, **overrides: Any) -> dict[str, Any]:
    """A valid retirement-claim interaction of one person."""
    fields: dict[str, Any] = {
        **PEOPLE[person],
        "event_id": event_id(line),
        "agency": AGENCY,
        "life_experience": "approaching-retirement",
        "kind": "service-interaction",
        "occurred_at": "2026-04-03T14:30:00Z",
        "service_id": "ssa.retirement-benefits",
        "stage": "apply",
        "channel": "web",
        "started_at": "2026-04-03T14:00:00Z",
        "ended_at": "2026-04-03T14:30:00Z",
        "outcome": "completed",
        "wait_seconds": 42.5,
        "attempt": 1,
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def mixed_rows() -> tuple[list[dict[str, Any]], dict[int, RejectReason]]:
    """Rows (line 2 onwards, as after a CSV header) and the reason of each bad row's line."""
    rows = [
        good(0, 2),
        good(1, 3, last_name=None),
        good(2, 4, date_of_birth="1960-13-45"),
        good(3, 5, service_id="ssa.lunar-pension"),
        good(0, 6, life_experience="buying-a-yacht"),
        good(1, 7),
        # A newborn's event on the birth date would disclose the birth date: PII guard.
        good(
            2,
            8,
            date_of_birth="2026-04-03",
            life_experience="having-a-child",
            service_id="ssa.enumeration-at-birth",
        ),
        good(3, 9, agency="cms", service_id="cms.medicare-plan-choice"),
        good(2, 10, occurred_at="yesterday-ish"),
        good(3, 11, wait_seconds=None),
        good(2, 12),
    ]
    bad = {
        3: RejectReason.MISSING_FIELD,
        4: RejectReason.BAD_DATE,
        5: RejectReason.UNKNOWN_SERVICE,
        6: RejectReason.UNKNOWN_LIFE_EXPERIENCE,
        8: RejectReason.PII_GUARD,
        9: RejectReason.AGENCY_MISMATCH,
        10: RejectReason.BAD_DATE,
        11: RejectReason.MISSING_FIELD,
    }
    return rows, bad


GOOD_LINES = (2, 7, 12)


def write_csv(path: Path, rows: Sequence[dict[str, Any]], extra_lines: Sequence[str] = ()) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    path.write_text(buffer.getvalue() + "".join(line + "\n" for line in extra_lines))


def write_jsonl(
    path: Path, rows: Sequence[dict[str, Any]], extra_lines: Sequence[str] = ()
) -> None:
    # A first line that is blank keeps JSONL line numbers aligned with the CSV ones.
    lines = ["", *(json.dumps(row) for row in rows), *extra_lines]
    path.write_text("\n".join(lines) + "\n")


def identifier_values() -> set[bytes]:
    """Every raw identifier value of the test people, in a few spellings."""
    found: set[bytes] = set()
    for person in PEOPLE:
        for name, value in person.items():
            if name == "state":
                continue
            found.add(value.encode())
            found.add(value.upper().encode())
            digits = "".join(ch for ch in value if ch.isdigit())
            if len(digits) >= 6:
                found.add(digits.encode())
    found.add(b"1960-13-45")
    found.add(b'2026-04-03"')  # the refused newborn's birth date as a JSON string value
    return found


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    ring = Keyring(tmp_path_factory.mktemp("ingest") / "keyring")
    ring.init([AGENCY], LIFE_EXPERIENCES)
    return ring


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

    assert [str(e.event_id) for e in collector.events] == [event_id(n) for n in GOOD_LINES]
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
    with pytest.raises(IngestError, match="favourite_colour"), open(path) as stream:
        list(read_rows(path, stream))


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
    assert f"published {len(GOOD_LINES)}" in result.output
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
    assert "published 28" in result.output
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
