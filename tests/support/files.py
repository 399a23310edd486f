"""Files of raw agency records for ingestion tests: invented people, good and bad rows.

Every identifier here is invented; tests scan rejects files and output for these values.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from producers.ingest import COLUMNS, RejectReason

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
