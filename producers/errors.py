"""Errors of the agency-side SDK. Messages name fields and rules, never identifier values."""

from __future__ import annotations

from collections.abc import Callable

from broker.errors import CxError

__all__ = [
    "AgencyMismatch",
    "DeidentificationError",
    "IngestError",
    "PiiLeak",
    "PreparationFailed",
    "SpoolCorrupt",
    "SpoolError",
    "SpoolFull",
    "SpoolLocked",
    "SpoolUnavailable",
    "TokenInputMissing",
]


class DeidentificationError(CxError):
    """A raw record cannot be turned into an event (its message names fields, not values)."""


class TokenInputMissing(DeidentificationError):
    """None of the configured token rules has all its inputs in the record."""


class PiiLeak(CxError):
    """A serialized record still holds an identifier; it must not be published.

    ``field`` names the raw field whose value was found (``"ssn"``, ``"email"``...) or, for
    a generic pattern, the kind of identifier; ``location`` says where in the record
    (``"value"``, ``"key"``, ``"header ce_source"``). The value itself is never kept.
    """

    def __init__(self, field: str, location: str, *, pattern: bool = False) -> None:
        self.field = field
        self.location = location
        self.pattern = pattern
        what = (
            f"a value shaped like an identifier ({field})"
            if pattern
            else f"the record's own {field}"
        )
        super().__init__(
            f"refusing to publish: the {location} of the record holds {what}; "
            "the de-identification missed it, so the event was not sent"
        )

    def __reduce__(self) -> tuple[Callable[[str, str, bool], PiiLeak], tuple[str, str, bool]]:
        # Pickled by its fields (a worker process sends it back to the publisher).
        return (_pii_leak, (self.field, self.location, self.pattern))


def _pii_leak(field: str, location: str, pattern: bool) -> PiiLeak:
    return PiiLeak(field, location, pattern=pattern)


class AgencyMismatch(DeidentificationError):
    """A raw record of another agency was given to this agency's publisher."""


class SpoolError(CxError):
    """The spool cannot keep records safe; nothing was accepted by the failing call."""


class SpoolUnavailable(SpoolError):
    """The spool directory or its files cannot be created, written or synced."""


class SpoolFull(SpoolError):
    """Appending would exceed the spool's size limit."""


class SpoolCorrupt(SpoolError):
    """A frame in the middle of the spool fails its checksum."""


class SpoolLocked(SpoolError):
    """Another process holds this spool (two publishers of one agency on one state dir)."""


class IngestError(CxError):
    """The file as a whole cannot be ingested (unknown format or columns)."""


class PreparationFailed(CxError):
    """A worker could not prepare a record for a reason other than a domain error.

    Only the error's class is kept: its message might hold a raw value.
    """
