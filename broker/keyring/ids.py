"""Key ids and the agency source URN, shared by signing, verification and the key store.

Key ids are ``<agency>-sig-<YYYYMMDD>-<n>`` and ``lk-<life experience>-<YYYYMMDD>-<n>``
(``n`` counts the owner's keys). A key id read from a record header is untrusted: it is
only ever shown in a message after it matched the key id pattern.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from contracts.privacy import KEY_ID_PATTERN

__all__ = ["KEY_ID", "SOURCE_PREFIX", "new_key_id", "shown_key_id"]

KEY_ID: Final = re.compile(KEY_ID_PATTERN)
# ce_source of an agency's records is this prefix followed by the agency id.
SOURCE_PREFIX: Final = b"urn:cx:agency:"


def shown_key_id(raw: bytes | None) -> str:
    """A key id from an untrusted header, for messages: itself if well-formed, else a mark."""
    try:
        text = raw.decode("ascii") if raw is not None else ""
    except UnicodeDecodeError:
        return "<malformed key id>"
    return text if KEY_ID.match(text) else "<malformed key id>"


def new_key_id(prefix: str, owner: str, marker: str, when: datetime, sequence: int) -> str:
    """The id of ``owner``'s ``sequence``-th key, created at ``when``."""
    tail = f"-{when.astimezone(UTC):%Y%m%d}-{sequence}"
    head = f"{prefix}{owner}{marker}" if prefix else f"{owner}{marker}"
    # Key ids are at most 64 characters; a long owner id is shortened (the file says whose).
    head = head[: 64 - len(tail)].rstrip("-.")
    key_id = head + tail
    assert KEY_ID.match(key_id), "generated key id must match the key id pattern"
    return key_id
