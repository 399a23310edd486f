"""How an occurrence of a needle must be bounded to count as a leak.

A boundary names the bytes that may not touch an occurrence on either side: "Ann" inside
"Annual" or a ZIP inside a longer number is not a disclosure. The needles carry their
boundary, the search applies it, and the run pre-check reads the same byte classes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class _Boundary(StrEnum):
    # A str enum: hashing it (needle de-duplication) is C-level, a plain Enum hashes in Python.
    WORD = "word"  # no letter (ASCII or any non-ASCII byte) on either side
    DIGITS = "digits"  # no digit on either side
    ALNUM = "alnum"  # no letter, digit or non-ASCII byte on either side
    NONE = "none"


_WORD: Final = "word"
_DIGITS: Final = "digits"
_ALNUM: Final = "alnum"
_NONE: Final = "none"


_LETTER: Final = frozenset(range(ord("A"), ord("Z") + 1)) | frozenset(range(ord("a"), ord("z") + 1))
_DIGIT: Final = frozenset(range(ord("0"), ord("9") + 1))
_NON_ASCII: Final = frozenset(range(0x80, 0x100))
_BLOCKING: Final[dict[str, frozenset[int]]] = {
    _Boundary.WORD: _LETTER | _NON_ASCII,
    _Boundary.DIGITS: _DIGIT,
    _Boundary.ALNUM: _LETTER | _DIGIT | _NON_ASCII,
    _Boundary.NONE: frozenset(),
}
