"""The wire format: CloudEvents 1.0, Kafka protocol binding, binary content mode.

A record is ``key`` = the journey token (ASCII), ``value`` = the compact JSON payload,
and exactly these headers (DESIGN.md §3), in this order:

=================  ==================================================================
``ce_specversion`` ``1.0``
``ce_id``          the payload's ``event_id``
``ce_source``      ``urn:cx:agency:<agency>``
``ce_type``        ``gov.cx.<contract name>.v<major>``
``ce_time``        ``occurred_at`` in RFC 3339, UTC (``Z``)
``ce_dataschema``  ``urn:cx:contract:<contract name>:<semver>``
``ce_cxlifeexp``   the payload's ``life_experience``
``content-type``   ``application/json``
``ce_cxkeyid``     id of the agency's signing key (added by :func:`with_signature`)
``ce_cxsig``       standard base64 of the Ed25519 signature over
                   :func:`contracts.signing.signing_input`
=================  ==================================================================

:func:`decode` is strict: every violation raises a :class:`~contracts.errors.DecodeError`
subclass with a stable ``reason`` code (listed in :data:`~contracts.errors.DECODE_REASONS`)
and a message that never quotes payload or header values.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError

from contracts.errors import (
    BadContentType,
    BadHeaderEncoding,
    BadSignatureEncoding,
    BadSpecVersion,
    DuplicateHeader,
    HeaderMismatch,
    KeyMismatch,
    MalformedHeader,
    MalformedJson,
    MissingHeader,
    UnexpectedHeader,
    UnknownContract,
    UnknownContractVersion,
    UnknownEntry,
    UnknownMajorVersion,
    describe_validation_error,
)
from contracts.events import CxEvent
from contracts.privacy import KEY_ID_PATTERN
from contracts.registry import Registry, load_registry, parse_semver

__all__ = [
    "CONTENT_TYPE",
    "ED25519_SIGNATURE_LENGTH",
    "HEADER_CONTENT_TYPE",
    "HEADER_DATASCHEMA",
    "HEADER_ID",
    "HEADER_KEYID",
    "HEADER_LIFEEXP",
    "HEADER_SIG",
    "HEADER_SOURCE",
    "HEADER_SPECVERSION",
    "HEADER_TIME",
    "HEADER_TYPE",
    "RECORD_HEADERS",
    "SPECVERSION",
    "Decoded",
    "Record",
    "ce_source",
    "ce_type",
    "decode",
    "encode_unsigned",
    "format_time",
    "with_key_id",
    "with_signature",
]

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
ED25519_SIGNATURE_LENGTH: Final = 64

HEADER_SPECVERSION: Final = "ce_specversion"
HEADER_ID: Final = "ce_id"
HEADER_SOURCE: Final = "ce_source"
HEADER_TYPE: Final = "ce_type"
HEADER_TIME: Final = "ce_time"
HEADER_DATASCHEMA: Final = "ce_dataschema"
HEADER_LIFEEXP: Final = "ce_cxlifeexp"
HEADER_KEYID: Final = "ce_cxkeyid"
HEADER_SIG: Final = "ce_cxsig"
HEADER_CONTENT_TYPE: Final = "content-type"

#: The complete header set of a signed record, in the order :func:`with_signature` leaves it.
RECORD_HEADERS: Final[tuple[str, ...]] = (
    HEADER_SPECVERSION,
    HEADER_ID,
    HEADER_SOURCE,
    HEADER_TYPE,
    HEADER_TIME,
    HEADER_DATASCHEMA,
    HEADER_LIFEEXP,
    HEADER_CONTENT_TYPE,
    HEADER_KEYID,
    HEADER_SIG,
)

_SOURCE_PREFIX: Final = "urn:cx:agency:"
_TYPE_PATTERN: Final = re.compile(
    r"^gov\.cx\.([a-z][a-z0-9-]{0,62}[a-z0-9])\.v(0|[1-9][0-9]{0,5})$"
)
_DATASCHEMA_PATTERN: Final = re.compile(
    r"^urn:cx:contract:([a-z][a-z0-9-]{0,62}[a-z0-9]):([0-9.]{5,20})$"
)
_KEY_ID: Final = re.compile(KEY_ID_PATTERN)
# RFC 3339 date-time with a mandatory offset; fromisoformat alone accepts more.
_RFC3339: Final = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass(frozen=True, slots=True)
class Record:
    """A Kafka record as bytes: what a producer sends and a consumer receives."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> bytes | None:
        """The value of the first header called ``name``, or None."""
        for header_name, value in self.headers:
            if header_name == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded, validated record.

    ``event`` is always an instance of the newest model of the record's major version;
    ``contract_version`` is the version the record was written with.
    """

    event: CxEvent
    key_id: str
    signature: bytes
    contract_name: str
    contract_version: str
    record: Record

    @property
    def upcast(self) -> bool:
        """True when the record was written with an older minor version than ``event``."""
        return self.contract_version != type(self.event).contract_version


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (microseconds only when non-zero)."""
    utc = moment.astimezone(UTC)
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def ce_source(agency: str) -> str:
    """``urn:cx:agency:<agency>``."""
    return _SOURCE_PREFIX + agency


def ce_type(contract_name: str, major: int) -> str:
    """``gov.cx.<contract name>.v<major>``."""
    return f"gov.cx.{contract_name}.v{major}"


def encode_unsigned(event: CxEvent) -> Record:
    """Map an event to a record with every header except ``ce_cxkeyid`` and ``ce_cxsig``."""
    model = type(event)
    # Runs once per published event: the header bytes are built directly, and the value is
    # the serializer's UTF-8 JSON as is (model_dump_json() would decode it to a str first).
    return Record(
        key=event.journey_token.encode("ascii"),
        value=model.__pydantic_serializer__.to_json(event),
        headers=(
            (HEADER_SPECVERSION, SPECVERSION.encode("ascii")),
            (HEADER_ID, str(event.event_id).encode("ascii")),
            (HEADER_SOURCE, ce_source(event.agency).encode("ascii")),
            (HEADER_TYPE, ce_type(model.contract_name, model.contract_major()).encode("ascii")),
            (HEADER_TIME, format_time(event.occurred_at).encode("ascii")),
            (HEADER_DATASCHEMA, model.contract_urn().encode("ascii")),
            (HEADER_LIFEEXP, event.life_experience.encode("ascii")),
            (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode("ascii")),
        ),
    )


def _check_key_id(key_id: str) -> bytes:
    if not _KEY_ID.match(key_id):
        raise ValueError("key id must match " + KEY_ID_PATTERN)
    return key_id.encode("ascii")


def with_key_id(record: Record, key_id: str) -> Record:
    """``record`` with ``ce_cxkeyid`` set (and any signature removed): what gets signed."""
    kept = tuple(h for h in record.headers if h[0] not in (HEADER_KEYID, HEADER_SIG))
    return Record(record.key, record.value, (*kept, (HEADER_KEYID, _check_key_id(key_id))))


def with_signature(record: Record, key_id: str, signature: bytes) -> Record:
    """``record`` with ``ce_cxkeyid`` and ``ce_cxsig`` (standard base64) set.

    ``signature`` must be the Ed25519 signature of
    ``signing_input(with_key_id(record, key_id))``.
    """
    if len(signature) != ED25519_SIGNATURE_LENGTH:
        raise ValueError(f"an Ed25519 signature has {ED25519_SIGNATURE_LENGTH} bytes")
    keyed = with_key_id(record, key_id)
    encoded = base64.b64encode(signature)
    return Record(keyed.key, keyed.value, (*keyed.headers, (HEADER_SIG, encoded)))


def _collect_headers(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    found: dict[str, str] = {}
    known = set(RECORD_HEADERS)
    for name, raw in headers:
        if name not in known:
            if name.lower().startswith("ce_"):
                raise UnexpectedHeader("a ce_ header outside the contract's header set is present")
            continue  # other headers (tracing, ...) are neither signed nor read
        if name in found:
            raise DuplicateHeader(f"header {name} occurs more than once")
        if raw is None:
            raise BadHeaderEncoding(f"header {name} has a null value")
        try:
            value = raw.decode("ascii")
        except (UnicodeDecodeError, AttributeError):
            raise BadHeaderEncoding(f"header {name} is not ASCII bytes") from None
        found[name] = value
    for name in RECORD_HEADERS:
        if name not in found:
            raise MissingHeader(f"header {name} is missing")
    return found


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise MalformedJson("the JSON payload repeats an object key")
    return result


def _reject_constant(_: str) -> Any:
    raise MalformedJson("the JSON payload holds NaN or Infinity")


def _parse_json(value: bytes | None) -> None:
    if value is None:
        raise MalformedJson("the record has no value")
    try:
        json.loads(
            value.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise MalformedJson("the JSON payload nests too deeply to parse") from None
    except ValueError:
        # JSONDecodeError, UnicodeDecodeError and the int digit limit (an integer of more
        # than sys.get_int_max_str_digits() digits) are all ValueErrors: a payload that
        # cannot be parsed is malformed, never a crash of the reader.
        raise MalformedJson("the value is not UTF-8 JSON this reader can parse") from None


def decode(
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes | None]],
    *,
    registry: Registry | None = None,
) -> Decoded:
    """Validate a signed record and return its event (upcast to the newest minor).

    Checks, in order: header set (missing, duplicated, unexpected, encoding), spec
    version, content type, ``ce_type``/``ce_dataschema`` shape and agreement, contract
    and version, signature and key id encoding, JSON, the contract itself, the Kafka key,
    and that ``ce_id``/``ce_source``/``ce_time``/``ce_cxlifeexp`` agree with the payload.
    The signature itself is verified elsewhere (``broker.keyring``).
    """
    registry = registry or load_registry()
    header_list = tuple(headers)
    found = _collect_headers(header_list)

    if found[HEADER_SPECVERSION] != SPECVERSION:
        raise BadSpecVersion("ce_specversion must be 1.0")
    if found[HEADER_CONTENT_TYPE] != CONTENT_TYPE:
        raise BadContentType("content-type must be application/json")

    type_match = _TYPE_PATTERN.match(found[HEADER_TYPE])
    schema_match = _DATASCHEMA_PATTERN.match(found[HEADER_DATASCHEMA])
    if type_match is None:
        raise MalformedHeader("ce_type is not gov.cx.<contract>.v<major>")
    if schema_match is None:
        raise MalformedHeader("ce_dataschema is not urn:cx:contract:<contract>:<semver>")
    name, version = schema_match.groups()
    try:
        major = parse_semver(version)[0]
    except ValueError:
        raise MalformedHeader("ce_dataschema version is not MAJOR.MINOR.PATCH") from None
    if type_match.group(1) != name or int(type_match.group(2)) != major:
        raise HeaderMismatch("ce_type and ce_dataschema name different contracts or majors")

    if not registry.versions(name):
        raise UnknownContract("ce_dataschema names a contract this registry does not know")
    if major not in registry.majors(name):
        raise UnknownMajorVersion(
            f"contract {name} has no major version {major} here (known: "
            + ", ".join(str(m) for m in sorted(registry.majors(name)))
            + "); upgrade the consumer"
        )

    if not _RFC3339.match(found[HEADER_TIME]):
        raise MalformedHeader("ce_time is not an RFC 3339 timestamp with offset")
    key_id = found[HEADER_KEYID]
    if not _KEY_ID.match(key_id):
        raise MalformedHeader("ce_cxkeyid is not a key id")
    try:
        signature = base64.b64decode(found[HEADER_SIG], validate=True)
    except (binascii.Error, ValueError):
        raise BadSignatureEncoding("ce_cxsig is not standard base64") from None
    if len(signature) != ED25519_SIGNATURE_LENGTH:
        raise BadSignatureEncoding("ce_cxsig does not hold a 64-byte Ed25519 signature")

    _parse_json(value)
    assert value is not None  # checked by _parse_json; narrows for mypy
    try:
        entry = registry.get(name, version)
        exact = True
    except UnknownEntry:
        # A version we do not know inside a major we do: the newest known minor may still
        # read it (minor versions only add optional fields).
        entry = registry.latest(name, major)
        exact = False
    if not issubclass(entry.model, CxEvent):
        raise UnknownContract("ce_dataschema names a contract that is not an agency event")
    try:
        parsed = entry.model.model_validate_json(value, strict=True)
    except ValidationError as exc:
        if not exact:
            raise UnknownContractVersion(
                f"contract {name} version {version} is unknown here and its payload does not "
                f"fit {entry.version}; upgrade the consumer"
            ) from None
        raise describe_validation_error(exc, f"{name} {version} payload") from None
    event = registry.upcast(parsed)
    assert isinstance(event, CxEvent)

    if key is None or key != event.journey_token.encode("ascii"):
        raise KeyMismatch("the record key is not the payload's journey_token")
    if found[HEADER_ID] != str(event.event_id):
        raise HeaderMismatch("ce_id differs from the payload's event_id")
    if found[HEADER_SOURCE] != ce_source(event.agency):
        raise HeaderMismatch("ce_source differs from the payload's agency")
    if found[HEADER_LIFEEXP] != event.life_experience:
        raise HeaderMismatch("ce_cxlifeexp differs from the payload's life_experience")
    if datetime.fromisoformat(found[HEADER_TIME]) != event.occurred_at:
        raise HeaderMismatch("ce_time differs from the payload's occurred_at")

    record = Record(
        key,
        value,
        tuple((n, v) for n, v in header_list if v is not None and n in RECORD_HEADERS),
    )
    return Decoded(
        event=event,
        key_id=key_id,
        signature=signature,
        contract_name=name,
        contract_version=version,
        record=record,
    )
