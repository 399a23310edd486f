"""The exact bytes an agency signs (specified for other languages in ``SIGNING.md``).

``signing_input(record)`` = ``b"CX-SIG-V1\\n"``, then for each header of
:data:`SIGNED_HEADERS` in that order ``u32be(len(name)) || name || u32be(len(value)) ||
value``, then ``u32be(len(key)) || key || u32be(len(value)) || value`` of the record.
Lengths are big-endian unsigned 32-bit byte counts; names are ASCII; values are the raw
header bytes as they travel. ``ce_cxsig`` is not signed; any other header is ignored.
Ed25519 signing and verification live in ``broker.keyring``.
"""

from __future__ import annotations

import struct
from typing import Final

from contracts.envelope import (
    HEADER_CONTENT_TYPE,
    HEADER_DATASCHEMA,
    HEADER_ID,
    HEADER_KEYID,
    HEADER_LIFEEXP,
    HEADER_SOURCE,
    HEADER_SPECVERSION,
    HEADER_TIME,
    HEADER_TYPE,
    Record,
    with_key_id,
)
from contracts.errors import DuplicateHeader, MissingHeader

__all__ = ["SIGNED_HEADERS", "SIGNING_DOMAIN", "signing_input"]

#: Domain separation tag and format version of the signing input.
SIGNING_DOMAIN: Final = b"CX-SIG-V1\n"

#: Headers covered by the signature, in signing order.
SIGNED_HEADERS: Final[tuple[str, ...]] = (
    HEADER_SPECVERSION,
    HEADER_ID,
    HEADER_SOURCE,
    HEADER_TYPE,
    HEADER_TIME,
    HEADER_DATASCHEMA,
    HEADER_LIFEEXP,
    HEADER_KEYID,
    HEADER_CONTENT_TYPE,
)

_U32_MAX: Final = 0xFFFFFFFF


def _field(data: bytes) -> bytes:
    if len(data) > _U32_MAX:
        raise ValueError("a signed field is longer than 2**32 - 1 bytes")
    return struct.pack(">I", len(data)) + data


def signing_input(record: Record, *, key_id: str | None = None) -> bytes:
    """The bytes to sign or verify for ``record``.

    Pass ``key_id`` to compute the input of an unsigned record (one without
    ``ce_cxkeyid``) as it will be signed under that key. A signed header that is missing
    or occurs twice raises :class:`~contracts.errors.MissingHeader` /
    :class:`~contracts.errors.DuplicateHeader`.
    """
    if key_id is not None:
        present = record.header(HEADER_KEYID)
        if present is not None and present != key_id.encode("ascii"):
            raise ValueError("the record is already keyed with a different key id")
        record = with_key_id(record, key_id)
    values: dict[str, bytes] = {}
    for name, value in record.headers:
        if name in SIGNED_HEADERS:
            if name in values:
                raise DuplicateHeader(f"signed header {name} occurs more than once")
            values[name] = value
    parts = [SIGNING_DOMAIN]
    for name in SIGNED_HEADERS:
        if name not in values:
            raise MissingHeader(f"signed header {name} is missing")
        parts.append(_field(name.encode("ascii")))
        parts.append(_field(values[name]))
    parts.append(_field(record.key))
    parts.append(_field(record.value))
    return b"".join(parts)
