"""Record-id keys: an agency's HMAC secret from which the ids of its published events are made.

An event's wire id (``event_id``/``ce_id``) is never a value the agency's system supplied:
it is a keyed hash (HMAC-SHA256) under this secret, of the caller's own id when the record
has one and of the record's canonical content when it has none. The same input gives the
same id on every run (a re-sent record is a duplicate the joiner drops), and without the
secret nobody can test a guessed caller id or guessed record content against a published
id. The secret stays with the agency (repr redacted); there is no rotation, since a new
secret would give every re-sent record a new id.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from uuid import UUID

__all__ = ["RECORD_ID_DOMAIN", "RecordIdKey"]

#: Domain-separation prefix of every record-id HMAC input (version 1 of the derivation).
RECORD_ID_DOMAIN: Final = b"cx-broker/event-id/v1\x00"


@dataclass(frozen=True, slots=True)
class RecordIdKey:
    """An agency's secret for event ids, with its key id (secret redacted in repr/str)."""

    key_id: str
    agency: str
    secret: bytes = field(repr=False)
    created_at: datetime

    def __repr__(self) -> str:
        return f"RecordIdKey(key_id={self.key_id!r}, agency={self.agency!r}, secret=<redacted>)"

    __str__ = __repr__

    def event_id(self, source: str, value: bytes) -> UUID:
        """The event id made from ``value``; ``source`` says what it is (``caller-id`` or
        ``content``), so a caller id can never collide with some record's content.

        The first 16 bytes of HMAC-SHA256(secret, domain | agency | source | value), laid
        out as an RFC 9562 version-8 (custom) UUID, so a derived id is told apart from a
        random version-4 one.
        """
        message = b"\x00".join(
            (RECORD_ID_DOMAIN, self.agency.encode("ascii"), source.encode("ascii"), value)
        )
        digest = bytearray(hmac.new(self.secret, message, hashlib.sha256).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
        digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122/9562 variant
        return UUID(bytes=bytes(digest))
