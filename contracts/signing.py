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
from collections.abc import Iterable
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

__all__ = ["SIGNED_HEADERS", "SIGNING_DOMAIN", "signing_bytes", "signing_input"]

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
_U32: Final = struct.Struct(">I")
# u32be(len(name)) || name of every signed header, computed once.
_NAME_FIELDS: Final[dict[str, bytes]] = {
    name: _U32.pack(len(name)) + name.encode("ascii") for name in SIGNED_HEADERS
}


def _length(data: bytes) -> bytes:
    size = len(data)
    if size > _U32_MAX:
        raise ValueError("a signed field is longer than 2**32 - 1 bytes")
    return _U32.pack(size)


def signing_bytes(key: bytes, value: bytes, headers: Iterable[tuple[str, bytes]]) -> bytes:
    """The signing input of a record given as key, value and headers (see module doc).

    A signed header that is missing or occurs twice raises
    :class:`~contracts.errors.MissingHeader` / :class:`~contracts.errors.DuplicateHeader`.
    """
    values: dict[str, bytes] = {}
    for name, header_value in headers:
        if name in _NAME_FIELDS:
            if name in values:
                raise DuplicateHeader(f"signed header {name} occurs more than once")
            values[name] = header_value
    if len(values) != len(SIGNED_HEADERS):
        missing = next(name for name in SIGNED_HEADERS if name not in values)
        raise MissingHeader(f"signed header {missing} is missing")
    parts = [SIGNING_DOMAIN]
    for name in SIGNED_HEADERS:
        header_value = values[name]
        parts += (_NAME_FIELDS[name], _length(header_value), header_value)
    parts += (_length(key), key, _length(value), value)
    return b"".join(parts)


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
    return signing_bytes(record.key, record.value, record.headers)
