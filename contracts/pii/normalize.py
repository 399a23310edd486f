"""The normalized form every identifier detector reads (PRIVACY.md, invariant 2).

:func:`normalize` turns any spelling of a text into one canonical form:

* Unicode compatibility normalization (NFKC): fullwidth forms, mathematical alphanumerics,
  superscripts and subscripts, circled digits, ligatures and the fullwidth commercial at (U+FF20);
* every character with a Unicode decimal or digit value (Arabic-Indic, Devanagari, Thai,
  ...) becomes its ASCII digit;
* look-alike letters (Cyrillic a U+0430, Greek omicron U+03BF, letterlike symbols) are folded to
  the ASCII letter or digit they are confusable with, from Unicode's confusables data as
  shipped by the ``confusable_homoglyphs`` package (see :data:`_CONFUSABLES`);
* combining marks are dropped (``José`` → ``Jose``);
* invisible characters (format characters such as zero-width spaces and joiners, soft
  hyphens, bidi marks, BOM) and control characters are removed; tabs and line breaks
  become spaces;
* every dash, hyphen and minus sign becomes ``-``, every space character a space.

Case is kept (the scrubber needs it); :func:`skeleton` is the case- and leetspeak-folded
letter form used to compare names. Pure functions, no I/O after import.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Final

__all__ = ["DIGIT_WORDS", "normalize", "skeleton", "spelled_digits"]


def _confusables() -> dict[str, str]:
    """Non-ASCII characters that Unicode lists as confusable with one ASCII letter or digit.

    The data is Unicode's confusables.txt (UTS #39) as JSON, shipped and kept current by the
    ``confusable_homoglyphs`` package; only its data file is read (its API answers per
    string and is too slow to run on every character of every comment).
    """
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    table: dict[str, str] = {}
    for char, homoglyphs in json.loads(raw).items():
        if len(char) != 1 or char.isascii() or unicodedata.decimal(char, None) is not None:
            continue
        for homoglyph in homoglyphs:
            target = homoglyph["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[char] = target
                break
    return table


#: Look-alike character -> ASCII letter or digit (about 1,300 entries).
_CONFUSABLES: Final = _confusables()
_DASHES: Final = frozenset(
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d\u058a\u05be\u1806\u2043"
)


@lru_cache(maxsize=65536)
def _char(char: str) -> str:
    """The normalized form of one character (after NFKC of the whole text)."""
    if char.isascii():
        if char in "\t\n\r\x0b\x0c":
            return " "
        return "" if ord(char) < 0x20 or char == "\x7f" else char
    category = unicodedata.category(char)
    if category in ("Cf", "Cc", "Cs", "Co", "Cn", "Mn", "Me"):
        return ""  # invisible, control, unassigned or a combining mark
    value = unicodedata.decimal(char, None)
    if value is None:
        value = unicodedata.digit(char, None)
    if value is not None:
        return str(value)
    if char in _DASHES or category == "Pd":
        return "-"
    if category in ("Zs", "Zl", "Zp"):
        return " "
    if char in _CONFUSABLES:
        return _CONFUSABLES[char]
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if stripped != char and stripped:
        return "".join(_CONFUSABLES.get(c, c) for c in stripped)
    return char


def normalize(text: str) -> str:
    """``text`` in the canonical form detectors search (see the module docstring)."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to fold
    text = unicodedata.normalize("NFKC", text)
    return "".join(map(_char, text))


# Leetspeak and look-alike punctuation folded for name comparison; "l" and "1" both fold
# to "I" because either is written for the other.
_LEET: Final = str.maketrans({"0": "O", "1": "I", "L": "I", "3": "E", "4": "A", "5": "S",
                              "7": "T", "8": "B", "@": "A", "$": "S", "|": "I", "!": "I",
                              "+": "T"})  # fmt: skip


def skeleton(text: str) -> str:
    """Upper-case, leetspeak-folded form of normalized text, for comparing names:
    ``j4n3 d0e`` and ``JANE DOE`` have the same skeleton. Not for display."""
    return text.upper().translate(_LEET)


_NUMBER_WORDS: Final[dict[str, str]] = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
    "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
    "cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5",
    "seis": "6", "siete": "7", "ocho": "8", "nueve": "9",
    **{word: str(digit) for words in (
        # Digits spelled in the other languages agency users write (ASCII-folded, as
        # canonical text has them): Portuguese, Italian, French, German, Vietnamese, Tagalog.
        "zero um dois tres quatro cinco seis sete oito nove",
        "zero uno due tre quattro cinque sei sette otto nove",
        "zero un deux trois quatre cinq six sept huit neuf",
        "null eins zwei drei vier funf sechs sieben acht neun",
        "khong mot hai ba bon nam sau bay tam chin",
        "sero isa dalawa tatlo apat lima anim pito walo siyam",
    ) for digit, word in enumerate(words.split())},
}  # fmt: skip
#: Every number word of :data:`_NUMBER_WORDS`, longest first (for the detectors' patterns).
DIGIT_WORDS: Final = tuple(sorted(_NUMBER_WORDS, key=len, reverse=True))
_TENS: Final[dict[str, str]] = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
    "eighty": "8", "ninety": "9",
}  # fmt: skip


def spelled_digits(words: list[str]) -> str | None:
    """The digits spelled by ``words`` ("four five six" → "456", "nineteen eighty-eight"
    → "1988", "double seven" → "77"), or None when a word is not a number word."""
    digits: list[str] = []
    repeat = 1
    pending_ten: str | None = None
    for word in words:
        lower = word.lower()
        if lower in ("double", "triple"):
            repeat = 2 if lower == "double" else 3
            continue
        if lower in _TENS:
            if pending_ten is not None:
                digits.append(pending_ten + "0")
            pending_ten = _TENS[lower]
            continue
        value = _NUMBER_WORDS.get(lower)
        if value is None:
            return None
        if pending_ten is not None:
            if len(value) == 1 and value != "0":
                digits.append(pending_ten + value)
                pending_ten = None
                continue
            digits.append(pending_ten + "0")
            pending_ten = None
        digits.append(value * repeat)
        repeat = 1
    if pending_ten is not None:
        digits.append(pending_ten + "0")
    return "".join(digits)
