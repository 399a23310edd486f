"""Linkage keys: a life experience's HMAC secret for journey tokens, as agencies hold it.

Apart from the key store because the pure token functions of ``producers/deid`` take this
object and never the store: where the key came from is not their concern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["LinkageKey"]


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
    #: On a rotated key: until then tokens are made under the previous key as well.
    overlap_until: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"LinkageKey(key_id={self.key_id!r}, life_experience={self.life_experience!r}, "
            f"current={self.current}, secret=<redacted>)"
        )

    __str__ = __repr__
