"""Per-agency input files for ``cxbroker publish --file``: what an agency extract looks like.

One file per agency, ``<out>/<agency>.csv`` or ``<out>/<agency>.jsonl``, in delivery order
(late and duplicated deliveries included, as an agency resend would put them). The columns
are exactly the fields of :class:`~producers.deid.raw.RawRecord`, in declaration order, so
the simulator and the file ingestion cannot drift apart. Identity columns keep each
agency's own formats (``MM/DD/YYYY`` or ``YYYYMMDD`` dates, SSNs with or without dashes,
upper-case names without diacritics...).

These files hold synthetic identifiers by design (they are agency-side input). They are
created with mode 0600 and their values are never logged.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import IO, Any, Final

from producers.simulator.engine import COLUMNS, Delivery, Simulation, SimulationConfig
from producers.simulator.summary import SimulationSummary, SummaryBuilder

__all__ = [
    "COLUMNS",
    "FileFormat",
    "agency_file",
    "cell",
    "simulate_to_files",
    "write_deliveries",
]

_FILE_MODE: Final = 0o600


class FileFormat(StrEnum):
    """Formats of agency input files."""

    CSV = "csv"
    JSONL = "jsonl"


def agency_file(out_dir: Path, agency: str, fmt: FileFormat | str) -> Path:
    """``<out_dir>/<agency>.<fmt>``."""
    return Path(out_dir) / f"{agency}.{FileFormat(fmt).value}"


def cell(value: Any) -> Any:
    """A column value in its JSON form: ISO 8601 for dates and times, enum values, else as is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _csv_cell(value: Any) -> str:
    value = cell(value)
    return "" if value is None else str(value)


class _Writer:
    """One agency file, opened on first use."""

    def __init__(self, handle: IO[str], fmt: FileFormat) -> None:
        self._handle = handle
        self._fmt = fmt
        self._csv: Any = None
        if fmt is FileFormat.CSV:
            self._csv = csv.writer(handle, lineterminator="\n")
            self._csv.writerow(COLUMNS)

    def write(self, row: Mapping[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerow([_csv_cell(row.get(column)) for column in COLUMNS])
        else:
            payload = {column: cell(row.get(column)) for column in COLUMNS}
            self._handle.write(json.dumps(payload, ensure_ascii=False) + "\n")


def _open_private(path: Path) -> IO[str]:
    """Open ``path`` for writing (truncated), readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    os.fchmod(fd, _FILE_MODE)  # an existing file keeps its old mode on open
    return open(fd, "w", encoding="utf-8", newline="")


def write_deliveries(
    deliveries: Iterator[Delivery],
    out_dir: Path,
    fmt: FileFormat | str = FileFormat.CSV,
    *,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> dict[str, Path]:
    """Write each delivery's row to its agency's file; returns the files written by agency."""
    fmt = FileFormat(fmt)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writers: dict[str, _Writer] = {}
    paths: dict[str, Path] = {}
    with ExitStack() as stack:
        for delivery in deliveries:
            agency = delivery.record.agency
            writer = writers.get(agency)
            if writer is None:
                paths[agency] = agency_file(out_dir, agency, fmt)
                handle = stack.enter_context(_open_private(paths[agency]))
                writer = writers[agency] = _Writer(handle, fmt)
            writer.write(delivery.row)
            if on_delivery is not None:
                on_delivery(delivery)
    return dict(sorted(paths.items()))


def simulate_to_files(
    journeys: int,
    seed: int,
    out_dir: Path,
    fmt: FileFormat | str = FileFormat.CSV,
    *,
    start: datetime | None = None,
    config: SimulationConfig | None = None,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> SimulationSummary:
    """Simulate and write ``<out_dir>/<agency>.<fmt>`` files; returns what was written.

    Same arguments, byte-identical files. ``on_delivery`` is called after each row is
    written (progress reporting).
    """
    summary = SummaryBuilder()

    def written(delivery: Delivery) -> None:
        summary.add(delivery.record)
        if on_delivery is not None:
            on_delivery(delivery)

    simulation = Simulation(journeys, seed, start, config)
    write_deliveries(simulation.deliveries(), out_dir, fmt, on_delivery=written)
    return summary.build()
