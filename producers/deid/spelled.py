"""Words spelled letter by letter with a spelling alphabet, found for the scrubber.

A name, plate or e-mail address read out for a clerk is often spelled with the words of a
spelling alphabet ("quebec uniform india november tango ...", "Z as in zebra, O as in
ocean"). Each of those words is an ordinary word of the allow-list, so the scrubber would
keep them all and with them the spelled value. :func:`spelled_letter_spans` yields the
spans of such spellings:

* runs of three or more words of the ICAO/NATO alphabet or the APCO/LAPD alphabet, whatever
  separates them ("TANGO-ALPHA-NOVEMBER");
* a single letter followed by "as in", "like", "for", "de", "como" and a word that begins
  with that letter ("Z as in zebra", "q de queso").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from producers.deid.words import split_words

__all__ = ["spelled_letter_spans"]

_ALPHABET_WORDS: Final = frozenset(
    # ICAO/NATO (with the common variant spellings) and APCO/LAPD spelling alphabets.
    split_words(
        "alpha alfa bravo charlie delta echo foxtrot golf hotel india juliet juliett kilo "
        "lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
        "whisky xray x-ray yankee zulu adam boy charles david edward frank george henry ida "
        "john king lincoln mary nora ocean paul queen robert sam tom union william young zebra"
    )
)
_WORD: Final = re.compile(r"[^\W\d_]+(?:-ray)?")
_MIN_RUN: Final = 3
_AS_IN: Final = re.compile(
    r"(?<![^\W_])([^\W\d_])\s*[,:=-]?\s*(?:as\s+in|like|for|de|como(?:\s+en)?|wie)\s+"
    r"([^\W\d_]+)",
    re.IGNORECASE,
)
# Between two alphabet words of one spelling: separators only, no other word.
_GAP: Final = re.compile(r"[\W_]{0,4}")


def spelled_letter_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` (canonical) that spell letters out (see the module docstring)."""
    run: list[re.Match[str]] = []
    for match in _WORD.finditer(text):
        in_alphabet = match.group().lower() in _ALPHABET_WORDS
        joined = bool(run) and _GAP.fullmatch(text, run[-1].end(), match.start()) is not None
        if in_alphabet and (not run or joined):
            run.append(match)
            continue
        if len(run) >= _MIN_RUN:
            yield run[0].start(), run[-1].end()
        run = [match] if in_alphabet else []
    if len(run) >= _MIN_RUN:
        yield run[0].start(), run[-1].end()
    for match in _AS_IN.finditer(text):
        if match.group(1).lower() == match.group(2)[0].lower():
            yield match.span()
