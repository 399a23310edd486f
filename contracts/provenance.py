"""CloudEvents for the records the project itself writes: joined snapshots and insights.

Records on ``cx.joined.<le>`` and ``cx.insights.<le>`` are CloudEvents 1.0 in Kafka binary
mode, like agency events (:mod:`contracts.envelope`), with the same header set and the same
signature (``contracts/SIGNING.md``); only the producer differs:

=================  ==================================================================
``ce_specversion`` ``1.0``
``ce_id``          deterministic: a UUID (v5) of what the record is a version of and
                   that version, so a re-delivered record carries the same id
``ce_source``      the producing deployment: ``urn:cx:joiner:<name>`` (snapshots) or
                   ``urn:cx:insights:<name>`` (cells and release manifests)
``ce_type``        ``gov.cx.<contract name>.v<major>``
``ce_time``        snapshot: the journey's ``last_event_at``; manifest: its
                   ``published_at``; cell: its period's first day, 00:00 UTC (RFC 3339)
``ce_dataschema``  ``urn:cx:contract:<contract name>:<semver>``
``ce_cxlifeexp``   the life experience
``content-type``   ``application/json``
``ce_cxkeyid``     id of the deployment's signing key
``ce_cxsig``       standard base64 Ed25519 signature over the CX-SIG-V1 signing input
=================  ==================================================================

``ce_id`` per record: snapshot ``uuid5(NS, "journey-snapshot|<le>|<token>|<version>")``;
k-protected snapshot (2.0.0 on ``cx.protected.<le>``, ``ce_time`` the first day of its
``start`` period) ``uuid5(NS, "journey-snapshot-2|<le>|<token>|<snapshot_version>")``;
cell ``uuid5(NS, "insight-cell|<cell key>|<release>")``; manifest
``uuid5(NS, "insight-release|<manifest key>|<release>")``, ``NS`` = :data:`CE_ID_NAMESPACE`.

:func:`check_headers` is strict like :func:`contracts.envelope.decode` and its errors are
:class:`~contracts.errors.DecodeError` subclasses whose messages never quote a value.
Signatures are made and verified in ``broker.keyring.deployment``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from contracts.envelope import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_DATASCHEMA,
    HEADER_ID,
    HEADER_KEYID,
    HEADER_LIFEEXP,
    HEADER_SIG,
    HEADER_SOURCE,
    HEADER_SPECVERSION,
    HEADER_TIME,
    HEADER_TYPE,
    RECORD_HEADERS,
    SPECVERSION,
    ce_type,
    format_time,
)
from contracts.errors import (
    BadContentType,
    BadHeaderEncoding,
    BadSpecVersion,
    DuplicateHeader,
    HeaderMismatch,
    MissingHeader,
    UnexpectedHeader,
)
from contracts.events import ContractModel

__all__ = [
    "CE_ID_NAMESPACE",
    "DEPLOYMENT_SOURCE_PATTERN",
    "DeploymentKind",
    "ProvenanceHeaders",
    "cell_id",
    "check_headers",
    "deployment_source",
    "manifest_id",
    "protected_id",
    "protected_time",
    "record_headers",
    "snapshot_id",
]

DeploymentKind = Literal["joiner", "insights"]

#: Namespace of the deterministic ``ce_id`` UUIDs (fixed forever: changing it changes ids).
CE_ID_NAMESPACE: Final = uuid.UUID("5b0c7f0e-2a4d-5c3e-9b61-0c5e8a7d4f12")
#: ``ce_source`` of a deployment: ``urn:cx:<joiner|insights>:<name>``, name an id slug.
DEPLOYMENT_SOURCE_PATTERN: Final = r"^urn:cx:(joiner|insights):[a-z][a-z0-9-]{0,30}[a-z0-9]$"
_SOURCE: Final = re.compile(DEPLOYMENT_SOURCE_PATTERN)
_SPEC: Final = SPECVERSION.encode("ascii")
_CT: Final = CONTENT_TYPE.encode("ascii")


def deployment_source(kind: DeploymentKind, name: str) -> str:
    """``urn:cx:<kind>:<name>``; raises ValueError for a name that is not an id slug."""
    source = f"urn:cx:{kind}:{name}"
    if not _SOURCE.match(source):
        raise ValueError("a deployment name is a lowercase slug of 2 to 32 characters")
    return source


def snapshot_id(life_experience: str, journey_token: str, version: int) -> str:
    """The ``ce_id`` of version ``version`` of a journey's snapshot."""
    return str(
        uuid.uuid5(CE_ID_NAMESPACE, f"journey-snapshot|{life_experience}|{journey_token}|{version}")
    )


def protected_id(life_experience: str, journey_token: str, version: int) -> str:
    """The ``ce_id`` of a journey's k-protected record (2.0.0, released once, made from
    fine version ``version``): distinct from every 1.0.0 ``ce_id`` of the same journey."""
    return str(
        uuid.uuid5(
            CE_ID_NAMESPACE, f"journey-snapshot-2|{life_experience}|{journey_token}|{version}"
        )
    )


def protected_time(start: str) -> datetime:
    """``ce_time`` of a k-protected record: the first day of its ``start`` period (ISO week
    ``2026-W14``, month ``2026-04`` or quarter ``2026-Q2``), 00:00 UTC, never a finer time."""
    year, _, rest = start.partition("-")
    if rest.startswith("W"):
        return datetime.fromisocalendar(int(year), int(rest[1:]), 1).replace(tzinfo=UTC)
    month = (int(rest[1:]) - 1) * 3 + 1 if rest.startswith("Q") else int(rest)
    return datetime(int(year), month, 1, tzinfo=UTC)


def cell_id(cell_key: str, release: str | None) -> str:
    """The ``ce_id`` of an insight cell of a release."""
    return str(uuid.uuid5(CE_ID_NAMESPACE, f"insight-cell|{cell_key}|{release or ''}"))


def manifest_id(manifest_key: str, release: str) -> str:
    """The ``ce_id`` of a release manifest."""
    return str(uuid.uuid5(CE_ID_NAMESPACE, f"insight-release|{manifest_key}|{release}"))


def record_headers(
    model: type[ContractModel],
    *,
    ce_id: str,
    source: str,
    time: datetime,
    life_experience: str,
) -> list[tuple[str, bytes]]:
    """The unsigned CloudEvents headers of a record of ``model`` (no key id, no signature)."""
    return [
        (HEADER_SPECVERSION, _SPEC),
        (HEADER_ID, ce_id.encode("ascii")),
        (HEADER_SOURCE, source.encode("ascii")),
        (HEADER_TYPE, ce_type(model.contract_name, model.contract_major()).encode("ascii")),
        (HEADER_TIME, format_time(time).encode("ascii")),
        (HEADER_DATASCHEMA, model.contract_urn().encode("ascii")),
        (HEADER_LIFEEXP, life_experience.encode("ascii")),
        (HEADER_CONTENT_TYPE, _CT),
    ]


@dataclass(frozen=True, slots=True)
class ProvenanceHeaders:
    """The CloudEvents headers of a project record, checked for shape (not signature)."""

    ce_id: str
    source: str
    kind: DeploymentKind
    ce_type: str
    time: str
    dataschema: str
    life_experience: str
    key_id: str

    @property
    def contract_name(self) -> str:
        """The contract name ``ce_dataschema`` names."""
        return self.dataschema.split(":")[3]


def check_headers(
    headers: Iterable[tuple[str, bytes | None]],
    *,
    expected: Iterable[type[ContractModel]],
) -> ProvenanceHeaders:
    """Check the header set of a joined or insights record; return its headers.

    Every header of :data:`~contracts.envelope.RECORD_HEADERS` exactly once, ASCII;
    spec version 1.0; JSON content; ``ce_source`` a deployment; ``ce_type`` and
    ``ce_dataschema`` those of one of the ``expected`` contract versions.
    """
    found: dict[str, str] = {}
    known = set(RECORD_HEADERS)
    for name, raw in headers:
        if name not in known:
            if name.lower().startswith("ce_"):
                raise UnexpectedHeader("a ce_ header outside the contract's header set is present")
            continue
        if name in found:
            raise DuplicateHeader(f"header {name} occurs more than once")
        if raw is None:
            raise BadHeaderEncoding(f"header {name} has a null value")
        try:
            found[name] = raw.decode("ascii")
        except UnicodeDecodeError:
            raise BadHeaderEncoding(f"header {name} is not ASCII bytes") from None
    for name in RECORD_HEADERS:
        if name not in found:
            raise MissingHeader(f"header {name} is missing")
    if found[HEADER_SPECVERSION] != SPECVERSION:
        raise BadSpecVersion("ce_specversion must be 1.0")
    if found[HEADER_CONTENT_TYPE] != CONTENT_TYPE:
        raise BadContentType("content-type must be application/json")
    source_match = _SOURCE.match(found[HEADER_SOURCE])
    if source_match is None:
        raise HeaderMismatch("ce_source does not name a joiner or insights deployment")
    pairs = {(m.contract_urn(), ce_type(m.contract_name, m.contract_major())) for m in expected}
    if (found[HEADER_DATASCHEMA], found[HEADER_TYPE]) not in pairs:
        raise HeaderMismatch("ce_type / ce_dataschema do not name a contract of this topic")
    kind: DeploymentKind = "joiner" if source_match.group(1) == "joiner" else "insights"
    return ProvenanceHeaders(
        ce_id=found[HEADER_ID],
        source=found[HEADER_SOURCE],
        kind=kind,
        ce_type=found[HEADER_TYPE],
        time=found[HEADER_TIME],
        dataschema=found[HEADER_DATASCHEMA],
        life_experience=found[HEADER_LIFEEXP],
        key_id=found[HEADER_KEYID] if HEADER_SIG in found else "",
    )
