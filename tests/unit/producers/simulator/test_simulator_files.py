"""Per-agency files: the columns `cxbroker publish --file` reads, rows that validate back to
the simulated records, owner-only permissions, and counts that match the summary."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from producers.deid.raw import RawRecord
from producers.ingest import COLUMNS as INGEST_COLUMNS
from producers.ingest import Reject, open_text, parse_row, read_rows
from producers.simulator import (
    COLUMNS,
    Simulation,
    agency_file,
    expected_summary,
    simulate,
    simulate_to_files,
)

JOURNEYS = 40
SEED = 8


def test_columns_are_the_raw_record_fields_the_ingestion_expects() -> None:
    assert tuple(RawRecord.model_fields) == COLUMNS == INGEST_COLUMNS


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_files_round_trip_to_the_simulated_records(tmp_path: Path, fmt: str) -> None:
    summary = simulate_to_files(JOURNEYS, SEED, tmp_path, fmt)
    expected: dict[str, list[RawRecord]] = {}
    for record in simulate(JOURNEYS, SEED):
        expected.setdefault(record.agency, []).append(record)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        agency_file(tmp_path, a, fmt).name for a in expected
    )
    for agency, records in expected.items():
        path = agency_file(tmp_path, agency, fmt)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # synthetic PII: owner only
        with path.open(encoding="utf-8", newline="") as handle:
            if fmt == "csv":
                reader = csv.DictReader(handle)
                assert tuple(reader.fieldnames or ()) == COLUMNS
                rows = [{k: (v or None) for k, v in row.items()} for row in reader]
            else:
                rows = [json.loads(line) for line in handle]
                assert all(tuple(row) == COLUMNS for row in rows)
        assert [RawRecord.model_validate(row) for row in rows] == records
        assert summary.by_agency[agency] == len(records)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_ingestion_reader_accepts_every_row(tmp_path: Path, fmt: str) -> None:
    summary = simulate_to_files(JOURNEYS, SEED, tmp_path, fmt)
    parsed = 0
    for path in sorted(tmp_path.iterdir()):
        binary, text = open_text(path)
        with binary, text:
            for row in read_rows(path, text):
                result = parse_row(row)
                assert not isinstance(result, Reject), result
                assert result.agency == path.stem
                parsed += 1
    assert parsed == summary.records


def test_rewriting_a_directory_replaces_the_files(tmp_path: Path) -> None:
    simulate_to_files(JOURNEYS, SEED, tmp_path)
    ssa = agency_file(tmp_path, "ssa", "csv")
    first = ssa.read_bytes()
    ssa.chmod(0o644)
    simulate_to_files(JOURNEYS, SEED, tmp_path)
    assert ssa.read_bytes() == first
    assert stat.S_IMODE(ssa.stat().st_mode) == 0o600


def test_summary_counts_records_duplicates_and_groups() -> None:
    deliveries = list(Simulation(JOURNEYS, SEED).deliveries())
    summary = expected_summary(d.record for d in deliveries)
    assert summary.records == len(deliveries)
    assert summary.distinct_events == summary.records - sum(d.duplicate for d in deliveries)
    assert sum(summary.by_agency.values()) == summary.records
    assert sum(summary.by_life_experience.values()) == summary.records
    assert sum(summary.by_kind.values()) == summary.records
    assert sum(summary.by_agency_life_experience.values()) == summary.records
    assert set(summary.by_kind) <= {"service-interaction", "application-status", "feedback"}
    ssa = sum(n for key, n in summary.by_agency_life_experience.items() if key.startswith("ssa "))
    assert ssa == summary.by_agency["ssa"]
