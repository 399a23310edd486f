"""Reading an input file: its columns, CSV or JSONL rows, and each row as a raw record.

The columns are exactly the fields of :class:`~producers.deid.RawRecord`; a header naming
anything else refuses the whole file, a row that cannot be read or validated becomes a
:class:`~producers.ingest.rejects.Reject`. Rows are yielded one at a time.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from pydantic import ValidationError

from producers.deid import RawRecord
from producers.errors import IngestError
from producers.ingest.rejects import Reject, RejectReason, reject_for

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "Row",
    "columns_help",
    "open_text",
    "parse_row",
    "read_csv",
    "read_jsonl",
    "read_rows",
]

#: Every column a file may have, in RawRecord order.
COLUMNS: Final[tuple[str, ...]] = tuple(RawRecord.model_fields)
#: Columns every row must fill (the kind's contract requires more, e.g. ``service_id``).
REQUIRED_COLUMNS: Final[tuple[str, ...]] = tuple(
    name for name, info in RawRecord.model_fields.items() if info.is_required()
)


def columns_help() -> str:
    """The column list for ``--help`` and the README, derived from :class:`RawRecord`."""
    required = ", ".join(REQUIRED_COLUMNS)
    optional = ", ".join(c for c in COLUMNS if c not in REQUIRED_COLUMNS)
    return f"Required columns: {required}. Optional columns: {optional}."


@dataclass(frozen=True, slots=True)
class Row:
    """One row of an input file: its first line number and its fields (None: malformed)."""

    line: int
    fields: dict[str, Any] | None
    problem: str = ""


def _check_header(header: list[str]) -> None:
    """Refuse a header with unknown names, naming positions only: a file without a header
    line has a row of values there, and an unknown name may itself be a value."""
    unknown = [position for position, name in enumerate(header, start=1) if name not in COLUMNS]
    if not unknown:
        return
    if len(unknown) == len(header):
        raise IngestError(
            f"the first line names none of the known columns ({len(header)} cells): a CSV "
            "file needs a header line naming its columns; " + columns_help()
        )
    shown = ", ".join(str(p) for p in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
    raise IngestError(
        f"{len(unknown)} of {len(header)} header cells name no known column "
        f"(position {shown}); " + columns_help()
    )


#: Delimiters a spreadsheet may save a "CSV" with (a semicolon where the decimal mark is a
#: comma, a tab for "text" exports); the header line decides which one a file uses.
_DELIMITERS: Final = (",", ";", "\t", "|")


def _delimiter(first_line: str) -> str:
    """The delimiter whose split of the header line names known columns only (a comma
    when none does: the header check then says what is wrong)."""
    for delimiter in _DELIMITERS:
        names = [n.strip().lstrip("\ufeff").strip('"') for n in first_line.split(delimiter)]
        if len(names) > 1 and all(name in COLUMNS for name in names):
            return delimiter
    return ","


def _check_required(header: list[str]) -> None:
    """Refuse, once, a header without a column every row needs (``agency`` may come from
    ``--agency``); names known columns only, never a cell."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header and c != "agency"]
    if missing:
        raise IngestError(
            f"the header has no {', '.join(missing)} column (every row needs "
            f"{'it' if len(missing) == 1 else 'them'}); " + columns_help()
        )


def read_csv(stream: IO[str]) -> Iterator[Row]:
    """Rows of a CSV file with a header line; empty cells are left out.

    The header line decides the delimiter (comma, semicolon, tab or bar) and is checked
    once: unknown names and missing required columns are one error, not a reject per row.
    """
    first_line = stream.readline()
    if not first_line:
        return
    reader = csv.reader(itertools.chain([first_line], stream), delimiter=_delimiter(first_line))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error:
        raise IngestError("the CSV header line cannot be parsed") from None
    header = [name.strip().lstrip("\ufeff") for name in header]
    _check_header(header)
    _check_required(header)
    if len(set(header)) != len(header):
        raise IngestError("the CSV header names a column twice")
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            last_line = reader.line_num
            yield Row(start, None, "the row is not valid CSV")
            continue
        last_line = reader.line_num
        if not cells:
            continue  # a blank line
        if len(cells) != len(header):
            yield Row(start, None, f"the row has {len(cells)} cells, the header {len(header)}")
            continue
        yield Row(start, {name: cell for name, cell in zip(header, cells, strict=True) if cell})


def read_jsonl(stream: IO[str]) -> Iterator[Row]:
    """Rows of a JSON Lines file (one object per line; blank lines skipped)."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            yield Row(number, None, "the line is not valid JSON")
            continue
        if not isinstance(value, dict):
            yield Row(number, None, "the line is not a JSON object")
            continue
        yield Row(number, {k: v for k, v in value.items() if v is not None})


def read_rows(path: Path, stream: IO[str]) -> Iterator[Row]:
    """Rows of ``stream``, read as CSV or JSONL according to ``path``'s suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(stream)
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(stream)
    raise IngestError(f"cannot ingest {path.name}: use a .csv or .jsonl file")


def parse_row(row: Row) -> RawRecord | Reject:
    """The raw record of a row, or its reject."""
    if row.fields is None:
        return Reject(row.line, RejectReason.MALFORMED_ROW, row.problem)
    try:
        return RawRecord.model_validate(row.fields)
    except ValidationError as exc:
        return reject_for(row.line, exc)


def open_text(path: Path) -> tuple[IO[bytes], IO[str]]:
    """The binary handle (for progress: its position) and a text stream over it."""
    binary = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    return binary, text
