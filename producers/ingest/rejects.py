"""Rejecting a row: the reason codes, the value-free detail, and the rejects file.

A reject names the line, a reason code and the fields and rules involved, never a value
from the row: the rejects file can be shared with whoever fixes the input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from pydantic import ValidationError

from broker.errors import LinkageKeyMissing
from contracts.errors import ContractViolation, FieldProblem, field_problems
from producers.errors import AgencyMismatch, DeidentificationError, PiiLeak, TokenInputMissing

__all__ = ["Reject", "RejectReason", "RejectsWriter", "reject_for"]

_DATE_FIELDS: Final = frozenset(("date_of_birth", "occurred_at", "started_at", "ended_at"))


class RejectReason(StrEnum):
    """Why a row was not published (the ``reason`` of a rejects-file line)."""

    MALFORMED_ROW = "malformed-row"
    MISSING_FIELD = "missing-field"
    UNEXPECTED_FIELD = "unexpected-field"
    BAD_DATE = "bad-date"
    UNKNOWN_AGENCY = "unknown-agency"
    UNKNOWN_LIFE_EXPERIENCE = "unknown-life-experience"
    UNKNOWN_SERVICE = "unknown-service"
    UNKNOWN_REASON_CODE = "unknown-reason-code"
    INVALID_VALUE = "invalid-value"
    AGENCY_MISMATCH = "agency-mismatch"
    CONTRACT_VIOLATION = "contract-violation"
    TOKEN_INPUT_MISSING = "token-input-missing"  # noqa: S105 - a reason code
    LINKAGE_KEY_MISSING = "linkage-key-missing"
    DEIDENTIFICATION_FAILED = "deidentification-failed"
    PII_GUARD = "pii-guard"


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
    if path == "reason_code":
        return RejectReason.UNKNOWN_REASON_CODE
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
