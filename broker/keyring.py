"""Keyring: agency signing keys (Ed25519) and life-experience linkage keys (HMAC secrets).

Stub of stage 1; completed in stage 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from broker.errors import CxError

__all__ = ["LinkageKey", "LinkageKeyMissing"]


class LinkageKeyMissing(CxError):
    """No linkage key exists for a life experience (or for a key id)."""


@dataclass(frozen=True, slots=True)
class LinkageKey:
    """A life experience's HMAC secret for journey tokens, with its key id.

    The secret never leaves the agency: its repr and str are redacted.
    """

    key_id: str
    life_experience: str
    secret: bytes = field(repr=False)
    created_at: datetime
    current: bool = True

    def __repr__(self) -> str:
        return (
            f"LinkageKey(key_id={self.key_id!r}, life_experience={self.life_experience!r}, "
            "secret=<redacted>)"
        )

    __str__ = __repr__
