"""Errors raised by the contracts package.

:class:`DecodeError` subclasses carry a stable :attr:`~DecodeError.reason` code that the
joiner puts into dead-letter headers; :data:`DECODE_REASONS` lists every code. Codes are
part of the public interface: add new ones, never rename or reuse them.

No message built here contains a value taken from a payload or a header: only field
paths, error types and the expected shape. Use :func:`describe_validation_error` to turn
a pydantic :class:`~pydantic.ValidationError` (whose ``str()`` echoes input values) into
such a message.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from pydantic import ValidationError

__all__ = [
    "DECODE_REASONS",
    "BadContentType",
    "BadHeaderEncoding",
    "BadSignatureEncoding",
    "BadSpecVersion",
    "CatalogError",
    "ContractError",
    "ContractViolation",
    "CxError",
    "DecodeError",
    "DuplicateHeader",
    "FieldProblem",
    "HeaderMismatch",
    "KeyMismatch",
    "MalformedHeader",
    "MalformedJson",
    "MissingHeader",
    "UnexpectedHeader",
    "UnknownContract",
    "UnknownContractVersion",
    "UnknownEntry",
    "UnknownMajorVersion",
    "describe_validation_error",
    "field_problems",
]


class CxError(Exception):
    """Base of every error a user can act on, in every cx-broker package.

    Its message says what went wrong and what to do, and never holds a payload value or
    a secret. Each package's ``errors`` module derives its own hierarchy from it; the
    ``cxbroker`` CLI prints it as one line with the exit code of its kind.
    """


class ContractError(CxError):
    """Base of every error raised by :mod:`contracts`."""


class CatalogError(ContractError):
    """The packaged catalog data is inconsistent (a bug in the data, not in a payload)."""


class UnknownEntry(ContractError, LookupError):
    """A catalog or registry lookup found nothing under the given id."""


class DecodeError(ContractError):
    """A Kafka record could not be turned into a valid contract event.

    ``reason`` is a stable, documented code (see :data:`DECODE_REASONS`).
    """

    reason: ClassVar[str] = "undecodable"


class MalformedJson(DecodeError):
    """The value is not a JSON document this reader can parse.

    Also raised for a repeated object key, NaN/Infinity, an integer beyond Python's digit
    limit and nesting deeper than the parser's recursion limit.
    """

    reason = "malformed-json"


class MissingHeader(DecodeError):
    """A required header (CloudEvents attribute, content type or signature) is absent."""

    reason = "missing-header"


class DuplicateHeader(DecodeError):
    """A CloudEvents or content-type header occurs more than once."""

    reason = "duplicate-header"


class UnexpectedHeader(DecodeError):
    """A ``ce_`` header that is not part of the fixed header set is present."""

    reason = "unexpected-header"


class BadHeaderEncoding(DecodeError):
    """A header value is null or not UTF-8."""

    reason = "bad-header-encoding"


class BadSpecVersion(DecodeError):
    """``ce_specversion`` is not ``1.0``."""

    reason = "bad-specversion"


class BadContentType(DecodeError):
    """``content-type`` is not ``application/json``."""

    reason = "bad-content-type"


class MalformedHeader(DecodeError):
    """A header does not have its documented shape (``ce_type``, ``ce_dataschema``, ...)."""

    reason = "malformed-header"


class UnknownContract(DecodeError):
    """The record names a contract this registry does not know."""

    reason = "unknown-contract"


class UnknownMajorVersion(DecodeError):
    """The record's major version of a known contract is not registered here."""

    reason = "unknown-major-version"


class UnknownContractVersion(DecodeError):
    """A minor/patch version unknown here, whose payload the newest known minor cannot read."""

    reason = "unknown-version"


class ContractViolation(DecodeError, ValueError):
    """The payload does not satisfy its contract. ``problems`` lists field paths and types."""

    reason = "contract-violation"

    def __init__(self, message: str, problems: tuple[FieldProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class HeaderMismatch(DecodeError):
    """Headers and payload disagree (id, source, type, time or life experience)."""

    reason = "header-mismatch"


class KeyMismatch(DecodeError):
    """The Kafka key is not the payload's journey token."""

    reason = "key-mismatch"


class BadSignatureEncoding(DecodeError):
    """``ce_cxsig`` is not standard base64 of a 64-byte Ed25519 signature."""

    reason = "bad-signature-encoding"


def _all_reasons() -> frozenset[str]:
    pending: list[type[DecodeError]] = list(DecodeError.__subclasses__())
    found: set[str] = set()
    while pending:
        cls = pending.pop()
        found.add(cls.reason)
        pending.extend(cls.__subclasses__())
    return frozenset(found)


#: Every reason code a raised :class:`DecodeError` carries.
DECODE_REASONS: Final[frozenset[str]] = _all_reasons()


class FieldProblem:
    """One validation problem: a field path and an error type, never the offending value."""

    __slots__ = ("message", "path", "type")

    def __init__(self, path: str, type_: str, message: str) -> None:
        self.path = path
        self.type = type_
        self.message = message

    def __repr__(self) -> str:
        return f"FieldProblem({self.path!r}, {self.type!r})"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# Path parts that are not plain field names may be payload content (e.g. an unknown key
# that is itself an identifier), so they are masked.
_SAFE_PATH_PART: Final = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
# Messages of these error types can quote pieces of the input; show the type only.
_VALUE_ECHOING_TYPES: Final = ("parsing", "json", "unicode", "bytes")
# Types whose pydantic message renders the input or a piece of it.
_INPUT_QUOTING_TYPES: Final = frozenset(
    ("union_tag_invalid", "datetime_object_invalid", "get_attribute_error", "assertion_error")
)


def _path(loc: tuple[int | str, ...], error_type: str) -> str:
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
            continue
        last = index == len(loc) - 1
        if (last and error_type == "extra_forbidden") or not _SAFE_PATH_PART.match(part):
            shown = "<unexpected field>" if error_type == "extra_forbidden" else "<key>"
        else:
            shown = part
        parts.append(shown if not parts else f".{shown}")
    return "".join(parts) or "<root>"


def _echoes(message: str, value: object) -> bool:
    """True when ``message`` quotes ``value`` (or a piece of it) in any usual rendering."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str | bytes | int | float):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        text = text.strip()
        # Short values ("1", "x") occur in every message by chance. Of a longer value, the
        # whole and each identifier-like word (4+ characters with a digit or an @) count: a
        # message may quote a piece of its input.
        pieces = [text] if len(text) >= 3 else []
        pieces += [
            w for w in text.split() if len(w) >= 4 and any(c.isdigit() or c == "@" for c in w)
        ]
        folded = message.casefold()
        return any(p.casefold() in folded for p in pieces)
    if isinstance(value, dict | list | tuple):
        items = value.values() if isinstance(value, dict) else value
        return any(_echoes(message, item) for item in items)
    return False


def field_problems(exc: ValidationError) -> tuple[FieldProblem, ...]:
    """The problems of a pydantic validation error, without input values.

    pydantic's own ``str()`` shows every ``input_value``; here each problem is its path,
    type and message only, and a message that quotes its input (a custom validator's, or
    a pydantic type that renders the input) is replaced by the error type.
    """
    problems: list[FieldProblem] = []
    for error in exc.errors(include_url=False, include_input=True, include_context=False):
        error_type = error["type"]
        if any(marker in error_type for marker in _VALUE_ECHOING_TYPES):
            message = error_type.replace("_", " ")
        elif error_type == "extra_forbidden":
            message = "field not allowed by the contract"
        elif error_type in _INPUT_QUOTING_TYPES or _echoes(error["msg"], error.get("input")):
            message = error_type.replace("_", " ")
        else:
            message = error["msg"]
        problems.append(FieldProblem(_path(error["loc"], error_type), error_type, message))
    return tuple(problems)


def describe_validation_error(exc: ValidationError, subject: str) -> ContractViolation:
    """Turn a pydantic error into a :class:`ContractViolation` whose text holds no values."""
    problems = field_problems(exc)
    shown = "; ".join(str(problem) for problem in problems[:10])
    more = f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""
    return ContractViolation(f"{subject} violates its contract: {shown}{more}", problems)
