"""A needle's key run: the necessary condition that spares most searches.

Computed once per needle when it is made (:mod:`~producers.deid.guard.needles`) and
checked once per buffer by the plan (:mod:`~producers.deid.guard.plan`).
"""

from __future__ import annotations

from typing import Final

from producers.deid.guard.boundary import _DIGIT, _DIGITS, _LETTER, _NON_ASCII, _NONE, _WORD

# Which needles can occur at all is settled per check on the buffer's *runs*: maximal
# sequences of letters (a non-ASCII byte counts as a letter, as for the WORD boundary) and
# maximal sequences of ASCII digits. A needle's boundary blocks the alphabet of such runs on
# both sides, so each of the needle's own runs of that alphabet is a maximal run of the
# buffer wherever the needle occurs acceptably (inside the needle a run ends at one of the
# needle's own bytes, at its ends the boundary forbids the alphabet). A needle whose longest
# such run is not a run of the buffer cannot occur acceptably and is not searched at all:
# one translation of the buffer (letters upper-cased, digits kept, every other byte a space)
# and one find per distinct run replace a find per needle (a person's forms share runs:
# "Maria", "MARIA" and "Maria Lopez" all need the run MARIA).
_RUNS: Final = bytes(
    b - 32
    if 0x61 <= b <= 0x7A
    else b
    if 0x41 <= b <= 0x5A or 0x30 <= b <= 0x39 or b >= 0x80
    else 0x20
    for b in range(256)
)
_WORD_ALPHABET: Final = (_LETTER - frozenset(range(ord("a"), ord("z") + 1))) | _NON_ASCII
_WORD_RUNS: Final = bytes(b if b in _WORD_ALPHABET else 0x20 for b in _RUNS)
_DIGIT_RUNS: Final = bytes(b if b in _DIGIT else 0x20 for b in _RUNS)


#: Needle keys that are not runs: search the needle always, or when the buffer has an "@".
_ALWAYS: Final = b""
_AT: Final = b"@"


def _needle_key(value: bytes, boundary: str) -> bytes:
    """The run of a needle to look for: its longest (the last of equal length: "87" says
    more than "02" in 02/18/87), or ``_ALWAYS`` when it has none. A digit run is all digits,
    a word run has no digit. Without a boundary (e-mail addresses) there is no run to require:
    the key is ``_AT`` for a value with an "@" (the buffer must hold one), else ``_ALWAYS``."""
    if boundary == _NONE:
        return _AT if b"@" in value else _ALWAYS
    # Fast paths (most needles are one word or one number): the needle is its only run.
    if value.isdigit():
        return _ALWAYS if boundary == _WORD else value
    if value.isalpha():
        return _ALWAYS if boundary == _DIGITS else value.upper()
    best = _ALWAYS
    if boundary != _DIGITS:
        for run in value.translate(_WORD_RUNS).split():
            if len(run) >= len(best):
                best = run
    if boundary != _WORD:
        for run in value.translate(_DIGIT_RUNS).split():
            if len(run) >= len(best):
                best = run
    return best
