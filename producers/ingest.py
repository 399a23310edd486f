"""File ingestion: stream a CSV or JSONL file of raw agency records through the publisher.

The columns (CSV header names, JSONL keys) are exactly the fields of
:class:`~producers.deid.RawRecord` (:data:`COLUMNS`, :data:`REQUIRED_COLUMNS`); empty CSV
cells and JSON ``null`` mean "not given". Rows are read one at a time and published in
batches, so memory stays flat whatever the file size.

A row that cannot become an event is *rejected*: one JSON line in the rejects file with its
line number, a reason code (:class:`RejectReason`) and a detail naming fields and rules,
never a value from the row. Everything else is published.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from pydantic import ValidationError

from broker.errors import LinkageKeyMissing
from contracts.errors import ContractViolation, FieldProblem, field_problems
from producers.deid import RawRecord
from producers.errors import (
    AgencyMismatch,
    DeidentificationError,
    IngestError,
    PiiLeak,
    TokenInputMissing,
)
from producers.parallel import BatchPreparer, LocalPreparer, Outcome
from producers.pipeline import DeliveryPipeline, cooperatively
from producers.publisher import DeliveryResult, DeliveryStatus, EventPreparer, PreparedEvent

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "IngestSummary",
    "Reject",
    "RejectReason",
    "RejectsWriter",
    "Row",
    "columns_help",
    "ingest",
    "open_text",
    "parse_row",
    "read_csv",
    "read_jsonl",
    "read_rows",
    "reject_for",
]

#: Every column a file may have, in RawRecord order.
COLUMNS: Final[tuple[str, ...]] = tuple(RawRecord.model_fields)
#: Columns every row must fill (the kind's contract requires more, e.g. ``service_id``).
REQUIRED_COLUMNS: Final[tuple[str, ...]] = tuple(
    name for name, info in RawRecord.model_fields.items() if info.is_required()
)
_DATE_FIELDS: Final = frozenset(("date_of_birth", "occurred_at", "started_at", "ended_at"))
_SHOWABLE_COLUMN: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]{0,40}$")


class RejectReason(StrEnum):
    """Why a row was not published (the ``reason`` of a rejects-file line)."""

    MALFORMED_ROW = "malformed-row"
    MISSING_FIELD = "missing-field"
    UNEXPECTED_FIELD = "unexpected-field"
    BAD_DATE = "bad-date"
    UNKNOWN_AGENCY = "unknown-agency"
    UNKNOWN_LIFE_EXPERIENCE = "unknown-life-experience"
    UNKNOWN_SERVICE = "unknown-service"
    INVALID_VALUE = "invalid-value"
    AGENCY_MISMATCH = "agency-mismatch"
    CONTRACT_VIOLATION = "contract-violation"
    TOKEN_INPUT_MISSING = "token-input-missing"  # noqa: S105 - a reason code
    LINKAGE_KEY_MISSING = "linkage-key-missing"
    DEIDENTIFICATION_FAILED = "deidentification-failed"
    PII_GUARD = "pii-guard"


def columns_help() -> str:
    """The column list for ``--help`` and the README, derived from :class:`RawRecord`."""
    required = ", ".join(REQUIRED_COLUMNS)
    optional = ", ".join(c for c in COLUMNS if c not in REQUIRED_COLUMNS)
    return f"Required columns: {required}. Optional columns: {optional}."


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Row:
    """One row of an input file: its first line number and its fields (None: malformed)."""

    line: int
    fields: dict[str, Any] | None
    problem: str = ""


def _shown_column(name: str) -> str:
    return name if _SHOWABLE_COLUMN.match(name) else "<unprintable column name>"


def read_csv(stream: IO[str]) -> Iterator[Row]:
    """Rows of a CSV file with a header line; empty cells are left out."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error:
        raise IngestError("the CSV header line cannot be parsed") from None
    header = [name.strip().lstrip("\ufeff") for name in header]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise IngestError(
            "unknown columns: "
            + ", ".join(_shown_column(name) for name in unknown)
            + "; "
            + columns_help()
        )
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


# ----------------------------------------------------------------------------- rejects


@dataclass(frozen=True, slots=True)
class Reject:
    """One rejected row: line number, reason code, a detail without values."""

    line: int
    reason: RejectReason
    detail: str

    def to_json(self) -> str:
        """The rejects-file line (without newline)."""
        return json.dumps(
            {"line": self.line, "reason": self.reason.value, "detail": self.detail},
            ensure_ascii=True,
        )


def _problem_reason(problem: FieldProblem) -> RejectReason:
    path = problem.path
    if problem.type == "missing":
        return RejectReason.MISSING_FIELD
    if problem.type == "extra_forbidden":
        return RejectReason.UNEXPECTED_FIELD
    if path in _DATE_FIELDS:
        return RejectReason.BAD_DATE
    if path == "agency":
        return RejectReason.UNKNOWN_AGENCY
    if path == "life_experience":
        return RejectReason.UNKNOWN_LIFE_EXPERIENCE
    if path == "service_id":
        return RejectReason.UNKNOWN_SERVICE
    return RejectReason.INVALID_VALUE


def _problems_reject(line: int, problems: Sequence[FieldProblem], default: RejectReason) -> Reject:
    reason = _problem_reason(problems[0]) if problems else default
    if reason is RejectReason.INVALID_VALUE and default is RejectReason.CONTRACT_VIOLATION:
        reason = default
    shown = "; ".join(str(p) for p in problems[:5])
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return Reject(line, reason, (shown + more) or default.value)


def reject_for(line: int, exc: Exception) -> Reject:
    """The reject of a row whose record or event could not be made (value-free)."""
    if isinstance(exc, ValidationError):
        return _problems_reject(line, field_problems(exc), RejectReason.INVALID_VALUE)
    if isinstance(exc, ContractViolation):
        return _problems_reject(line, exc.problems, RejectReason.CONTRACT_VIOLATION)
    if isinstance(exc, PiiLeak):
        return Reject(line, RejectReason.PII_GUARD, str(exc))
    if isinstance(exc, AgencyMismatch):
        return Reject(line, RejectReason.AGENCY_MISMATCH, str(exc))
    if isinstance(exc, TokenInputMissing):
        return Reject(line, RejectReason.TOKEN_INPUT_MISSING, str(exc))
    if isinstance(exc, LinkageKeyMissing):
        return Reject(line, RejectReason.LINKAGE_KEY_MISSING, str(exc))
    if isinstance(exc, DeidentificationError):
        return Reject(line, RejectReason.DEIDENTIFICATION_FAILED, str(exc))
    raise exc


def parse_row(row: Row) -> RawRecord | Reject:
    """The raw record of a row, or its reject."""
    if row.fields is None:
        return Reject(row.line, RejectReason.MALFORMED_ROW, row.problem)
    try:
        return RawRecord.model_validate(row.fields)
    except ValidationError as exc:
        return reject_for(row.line, exc)


class RejectsWriter:
    """Write rejects to a JSONL file (replaced when the writer opens; None: count only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stream: IO[str] | None = None
        self.count = 0

    def __enter__(self) -> RejectsWriter:
        if self.path is not None:
            # Created up front so an old rejects file never outlives a clean run.
            self._stream = open(self.path, "w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, reject: Reject) -> None:
        """Record one reject."""
        self.count += 1
        if self._stream is not None:
            self._stream.write(reject.to_json() + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


# ----------------------------------------------------------------------------- ingestion


@dataclass(slots=True)
class IngestSummary:
    """Counts of one ingestion run."""

    rows: int = 0
    published: int = 0
    spooled: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        """Rows turned into events (sent or spooled)."""
        return self.published + self.spooled


Deliver = Callable[[Sequence[PreparedEvent]], Awaitable[Sequence[DeliveryResult]]]

#: Refusals that reject a row (anything else aborts the ingestion).
_REJECTED: Final = (ContractViolation, DeidentificationError, PiiLeak, LinkageKeyMissing)


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def ingest(
    rows: Iterable[Row],
    preparer: EventPreparer | BatchPreparer,
    deliver: Deliver | None,
    rejects: RejectsWriter,
    *,
    batch_size: int = 500,
    on_batch: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Prepare every row, reject the bad ones and deliver the good ones in batches.

    ``deliver`` (e.g. :meth:`AgencyPublisher.deliver`) returns one result per event with a
    ``status`` of ``"sent"`` or ``"spooled"``; None prepares without publishing (dry run:
    good rows count as published). Rows are taken ``batch_size`` at a time; the good ones of
    a batch are delivered together while the next batch is read and prepared (in this
    process with an :class:`EventPreparer`, or in worker processes with a
    :class:`~producers.parallel.ParallelPreparer`, which then also prepares one batch ahead
    while this process parses the next). A few batches are held at a time, whatever the file
    size.
    """
    summary = IngestSummary()
    batches: BatchPreparer = (
        LocalPreparer(preparer.prepare) if isinstance(preparer, EventPreparer) else preparer
    )
    # A worker pool prepares in the background: keep one batch queued for it.
    ahead_limit = 0 if isinstance(batches, LocalPreparer) else 1

    def reject(item: Reject) -> None:
        rejects.write(item)
        summary.rejected += 1
        summary.reasons[item.reason.value] += 1

    def delivered(results: Sequence[DeliveryResult]) -> None:
        for result in results:
            if result.status is DeliveryStatus.SPOOLED:
                summary.spooled += 1
            else:
                summary.published += 1
        if on_batch is not None:
            on_batch(summary)

    async def finish(
        parsed: list[tuple[int, RawRecord | Reject]],
        outcomes: Awaitable[list[Outcome]],
        pipeline: DeliveryPipeline[Sequence[DeliveryResult]],
    ) -> None:
        prepared = iter(await outcomes)
        batch: list[PreparedEvent] = []
        for line, item in parsed:
            summary.rows += 1
            if isinstance(item, RawRecord):
                outcome = next(prepared)
                if isinstance(outcome, PreparedEvent):
                    batch.append(outcome)
                    continue
                if not isinstance(outcome, _REJECTED):
                    raise outcome
                item = reject_for(line, outcome)
            reject(item)
        if deliver is None or not batch:
            summary.published += len(batch) if deliver is None else 0
            if on_batch is not None:
                on_batch(summary)
        else:
            await pipeline.submit(deliver(batch))

    pending: deque[tuple[list[tuple[int, RawRecord | Reject]], Awaitable[list[Outcome]]]]
    pending = deque()
    async with DeliveryPipeline(delivered) as pipeline:
        try:
            for chunk in _chunks(rows, batch_size):
                parsed: list[tuple[int, RawRecord | Reject]] = []
                async for row in cooperatively(chunk):
                    parsed.append((row.line, parse_row(row)))
                raws = [item for _, item in parsed if isinstance(item, RawRecord)]
                pending.append((parsed, batches.submit(raws)))
                while len(pending) > ahead_limit:
                    await finish(*pending.popleft(), pipeline)
            while pending:
                await finish(*pending.popleft(), pipeline)
        finally:
            for _, outcomes in pending:  # an error left batches unprepared: close them
                if asyncio.iscoroutine(outcomes):
                    outcomes.close()
    return summary


def open_text(path: Path) -> tuple[IO[bytes], IO[str]]:
    """The binary handle (for progress: its position) and a text stream over it."""
    binary = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    return binary, text
