"""Per-record checks of the joiner: signature first, then the contract, then the topic.

:func:`check_record` returns either the decoded event or a :class:`Rejection` with a
stable reason code and a value-free detail; :func:`deadletter_headers` turns a rejection
into the dead-letter headers. Nothing here raises for a bad record.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from broker.errors import SignatureInvalid
from contracts.envelope import HEADER_KEYID, HEADER_SIG, Decoded, decode
from contracts.errors import DecodeError
from contracts.pii.fields import free_text_findings
from contracts.registry import Registry
from contracts.signing import signing_bytes

__all__ = [
    "DLQ_DETAIL",
    "DLQ_OFFSET",
    "DLQ_PARTITION",
    "DLQ_REASON",
    "DLQ_TOPIC",
    "JOINER_REASONS",
    "PII_DETECTED",
    "Rejection",
    "SignatureVerifier",
    "TimeBounds",
    "check_record",
    "deadletter_headers",
    "deadletter_record",
    "kafka_time",
]

DLQ_REASON: Final = "cx_dlq_reason"
DLQ_DETAIL: Final = "cx_dlq_detail"
DLQ_TOPIC: Final = "cx_dlq_topic"
DLQ_PARTITION: Final = "cx_dlq_partition"
DLQ_OFFSET: Final = "cx_dlq_offset"

#: Reason codes the joiner adds to the contracts' decode reasons and the keyring's.
#: ``unprocessable``: checking the record raised an exception nobody anticipated; the
#: record is dead-lettered (detail names the exception type only) so that one poison
#: pill cannot crash the joiner on every restart. ``time-out-of-range``: ``occurred_at``
#: lies too far after or before the Kafka record's timestamp (see :class:`TimeBounds`).
#: ``pii-detected``: a free-form field (a scrubbed comment) still holds an identifier
#: shape in some spelling (:func:`contracts.pii.fields.free_text_findings`), so one
#: misconfigured agency cannot push identifiers into the joined streams.
JOINER_REASONS: Final = frozenset(
    {
        "unknown-agency-topic",
        "agency-topic-mismatch",
        "missing-signature",
        "bad-signature-encoding",
        "unprocessable",
        "time-out-of-range",
        "pii-detected",
    }
)
#: The reason of a record whose free-form fields hold an identifier shape: its value and
#: original headers are not copied to the dead letters (see :func:`deadletter_record`).
PII_DETECTED: Final = "pii-detected"

_MAX_DETAIL = 400

Headers = Sequence[tuple[str, bytes | None]]


class SignatureVerifier(Protocol):
    """Checks an Ed25519 signature (:class:`broker.keyring.PublicKeyring` is one).

    ``verify_bytes`` raises a :class:`~broker.keyring.SignatureInvalid` (with its stable
    ``reason``: ``bad-signature``, ``unknown-key-id``, ``key-agency-mismatch``,
    ``key-revoked``, ``key-expired``) unless ``key_id`` belongs to ``agency``, was valid
    and not revoked at ``at`` (the record's time), and the signature over ``data`` holds.
    """

    def verify_bytes(
        self, key_id: str, data: bytes, signature: bytes, *, agency: str, at: datetime | None = None
    ) -> None:
        """Verify ``signature`` over ``data`` by ``agency``'s key ``key_id`` at time ``at``."""
        ...


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """How far an event's ``occurred_at`` may lie from its Kafka record's timestamp.

    One event dated centuries ahead would move its partition's stream time with it and
    close every open journey there; one dated a century back is no plausible service
    interaction either. The record timestamp is stored with the record, so the verdict
    is the same on every replay.
    """

    max_ahead: timedelta = timedelta(days=1)
    max_behind: timedelta = timedelta(days=3650)

    def __post_init__(self) -> None:
        if self.max_ahead < timedelta(0) or self.max_behind < timedelta(0):
            raise ValueError("time bounds must not be negative")

    def check(self, occurred_at: datetime, record_time: datetime) -> Rejection | None:
        """A ``time-out-of-range`` rejection, or None when ``occurred_at`` is plausible."""
        if occurred_at - record_time > self.max_ahead:
            return Rejection(
                "time-out-of-range",
                f"occurred_at is more than {_span(self.max_ahead)} after the record's timestamp",
            )
        if record_time - occurred_at > self.max_behind:
            return Rejection(
                "time-out-of-range",
                f"occurred_at is more than {_span(self.max_behind)} before the record's timestamp",
            )
        return None


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Largest millisecond timestamp a datetime holds (9999-12-31): larger ones are clamped.
_MAX_MS: Final = int((datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH).total_seconds()) * 1000


def kafka_time(timestamp_ms: int | None) -> datetime | None:
    """A Kafka record timestamp (ms since the epoch) as a UTC datetime.

    None when the record has none (negative: pre-0.10 message format); absurdly large
    values are clamped to the year 9999, so they fail :class:`TimeBounds` instead of
    raising.
    """
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return _EPOCH + timedelta(milliseconds=min(timestamp_ms, _MAX_MS))


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds and seconds % 86400 == 0:
        return f"{int(seconds // 86400)} d"
    return f"{seconds:g} s"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record goes to the dead-letter topic (code and value-free text)."""

    reason: str
    detail: str


def _header(headers: Headers, name: str) -> bytes | None:
    for header_name, value in headers:
        if header_name == name:
            return value
    return None


def check_record(
    topic_agency: str | None,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    verifier: SignatureVerifier,
    registry: Registry,
    *,
    record_time: datetime | None = None,
    bounds: TimeBounds | None = None,
) -> Decoded | Rejection:
    """Verify, decode and attribute one record of an agency topic.

    Checks the signature first (nothing untrusted is parsed before it holds), then the
    contract (upcasting older minors), then that the event belongs to the topic's agency,
    then (given the Kafka record's timestamp ``record_time``) that ``occurred_at`` lies
    within ``bounds`` (default :class:`TimeBounds`) of it. Never raises for a bad record:
    an unexpected exception while checking it becomes an ``unprocessable`` rejection
    naming only the exception type (its text could quote the input).
    """
    try:
        outcome = _check(topic_agency, key, value, headers, verifier, registry, record_time)
        if isinstance(outcome, Decoded) and record_time is not None:
            late_or_early = (bounds or TimeBounds()).check(outcome.event.occurred_at, record_time)
            if late_or_early is not None:
                return late_or_early
        return outcome
    except Exception as exc:  # one record must never stop the joiner
        return Rejection("unprocessable", f"checking the record raised {type(exc).__name__}")


def _check(
    topic_agency: str | None,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    verifier: SignatureVerifier,
    registry: Registry,
    record_time: datetime | None = None,
) -> Decoded | Rejection:
    if topic_agency is None:
        return Rejection("unknown-agency-topic", "the topic is not an agency topic of the catalog")
    raw_key_id = _header(headers, HEADER_KEYID)
    raw_sig = _header(headers, HEADER_SIG)
    if raw_key_id is None or raw_sig is None:
        return Rejection("missing-signature", "ce_cxkeyid or ce_cxsig is missing")
    try:
        key_id = raw_key_id.decode("ascii")
        signature = base64.b64decode(raw_sig, validate=True)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        return Rejection("bad-signature-encoding", "ce_cxkeyid or ce_cxsig is not ASCII/base64")
    if any(v is None for _, v in headers):
        return Rejection("bad-header-encoding", "a header has a null value")
    try:
        # No header value is None here (checked above).
        message = signing_bytes(key or b"", value or b"", headers)  # type: ignore[arg-type]
    except DecodeError as exc:
        return Rejection(exc.reason, _short(str(exc)))
    try:
        # The topic's agency, not the record's claim: a key of agency A cannot vouch for
        # a record on agency B's topic.
        # At the record's Kafka time: a key revoked later still vouches for what it
        # signed before, so a replay gives the same verdict.
        verifier.verify_bytes(key_id, message, signature, agency=topic_agency, at=record_time)
    except SignatureInvalid as exc:
        return Rejection(exc.reason, _short(str(exc)))
    try:
        decoded = decode(key, value, headers, registry=registry)
    except DecodeError as exc:
        return Rejection(exc.reason, _short(str(exc)))
    if decoded.event.agency != topic_agency:
        return Rejection("agency-topic-mismatch", "the event's agency does not own this topic")
    findings = free_text_findings(decoded.event)
    if findings:
        field, kinds = findings[0]
        return Rejection(
            PII_DETECTED,
            f"field {field} holds a value shaped like an identifier ({', '.join(kinds)})",
        )
    return decoded


def deadletter_record(
    value: bytes | None,
    headers: Headers,
    rejection: Rejection,
    topic: str,
    partition: int,
    offset: int,
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The dead letter's value and headers: the original ones, except for a record with an
    identifier (``pii-detected``), whose value and headers are left out so the dead-letter
    topic does not hold the identifier either (the agency still has the record)."""
    if rejection.reason == PII_DETECTED:
        return None, deadletter_headers((), rejection, topic, partition, offset)
    return value, deadletter_headers(headers, rejection, topic, partition, offset)


def deadletter_headers(
    headers: Headers, rejection: Rejection, topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """The original headers followed by the reason and the source coordinates."""
    kept = [(name, v) for name, v in headers if v is not None]
    return [
        *kept,
        (DLQ_REASON, rejection.reason.encode("ascii", "replace")),
        (DLQ_DETAIL, rejection.detail.encode("utf-8")),
        (DLQ_TOPIC, topic.encode("utf-8")),
        (DLQ_PARTITION, str(partition).encode("ascii")),
        (DLQ_OFFSET, str(offset).encode("ascii")),
    ]


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
