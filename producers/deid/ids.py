"""The wire id of an event: a keyed hash, never the id the agency's system supplied.

:func:`wire_event_id` derives ``event_id``/``ce_id`` with the agency's
:class:`~broker.keyring.RecordIdKey` from the caller's own id when the record has one, and
from the record's canonical content when it has none. Both are stable: re-publishing the
same file gives the same ids, so the joiner drops what it already has. The canonical
content is every field of the record after validation (identifiers included: they tell
two people's identical events apart), datetimes in UTC, in a fixed JSON layout; it only
ever enters the HMAC and is never stored or shown.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Final
from uuid import UUID

from broker.keyring import RecordIdKey
from producers.deid.raw import RawRecord

__all__ = ["CALLER_ID_SOURCE", "CONTENT_SOURCE", "canonical_content", "wire_event_id"]

#: What the HMAC input of an event id is: the caller's id, or the record's content.
CALLER_ID_SOURCE: Final = "caller-id"
CONTENT_SOURCE: Final = "content"


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return repr(value)
    return value


def canonical_content(raw: RawRecord) -> bytes:
    """The record's fields except ``event_id``, as canonical JSON bytes (for the HMAC only)."""
    names = (name for name in RawRecord.model_fields if name != "event_id")
    fields = {name: _canonical(getattr(raw, name)) for name in names}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def wire_event_id(raw: RawRecord, key: RecordIdKey) -> UUID:
    """The event id that goes on the wire for ``raw`` (a version-8 UUID, keyed hash)."""
    if raw.agency != key.agency:
        raise ValueError("the record-id secret belongs to another agency")
    if raw.event_id is not None:
        return key.event_id(CALLER_ID_SOURCE, raw.event_id.encode("utf-8"))
    return key.event_id(CONTENT_SOURCE, canonical_content(raw))
