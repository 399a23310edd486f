"""Free-text scrubbing: identifiers in a customer's comment become placeholders.

Two kinds of finding are replaced:

* **shapes** any identifier of that kind has: SSNs, phone numbers, e-mail addresses, URLs,
  IP addresses (v4 and v6), dates, street addresses, and runs of six or more digits (a
  safety net for account, card and record numbers in any format);
* **the record's own values**: name parts, street, city, ZIP, e-mail user name and account
  number, matched case- and diacritics-insensitively as whole words.

All findings are collected as spans of the original text first and replaced in one pass, so
a placeholder is never itself scanned and overlapping findings never leave a fragment.
Over-scrubbing is the safe direction: "Mobile" is replaced when the customer lives in Mobile.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NamedTuple

from contracts.privacy import SCRUBBED_TEXT_MAX_LENGTH
from producers.deid.normalize import fold, name_parts

__all__ = [
    "PLACEHOLDERS",
    "OwnValues",
    "Placeholder",
    "TextPolicy",
    "own_values",
    "scrub_text",
]


class TextPolicy(StrEnum):
    """What happens to a record's free text: scrubbed into the event, or dropped entirely."""

    SCRUB = "scrub"
    DROP = "drop"


class Placeholder(StrEnum):
    """What replaces each kind of identifier in scrubbed text."""

    URL = "[URL]"
    EMAIL = "[EMAIL]"
    IP = "[IP]"
    SSN = "[SSN]"
    PHONE = "[PHONE]"
    DATE = "[DATE]"
    ADDRESS = "[ADDRESS]"
    NUMBER = "[NUMBER]"
    NAME = "[NAME]"


#: The words inside the placeholders ("URL", "EMAIL", ...): the PII guard knows them.
PLACEHOLDERS: Final[frozenset[str]] = frozenset(p.value[1:-1] for p in Placeholder)

# When two findings overlap, the merged span takes the placeholder listed first here:
# a phone number is also a digit run, but "[PHONE]" says more than "[NUMBER]".
_PRIORITY: Final[dict[Placeholder, int]] = {p: rank for rank, p in enumerate(Placeholder)}

_MONTH: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_STREET_SUFFIX: Final = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|way|place|pl"
    r"|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl|loop|row)"
)
_TRAILING_PUNCTUATION: Final = ".,;:!?)]}'\""


class _Shape(NamedTuple):
    placeholder: Placeholder
    pattern: re.Pattern[str]
    #: A substring the text must contain for the pattern to match at all ("0": any digit).
    #: Checking it first skips most regular expressions for most comments.
    needs: str


# Shapes, with the placeholder each becomes. Boundaries are deliberately loose (a digit
# glued to letters is still found) because missing an identifier is worse than an extra
# placeholder; the final digit-run pattern catches whatever separators defeat the others.
_ANY_DIGIT: Final = "0"
_SHAPES: Final[tuple[_Shape, ...]] = (
    _Shape(
        Placeholder.URL,
        re.compile(r"\b(?:https?|ftp)://[^\s<>\"']+", re.IGNORECASE),
        "://",
    ),
    _Shape(Placeholder.URL, re.compile(r"\bwww\.[^\s<>\"']+", re.IGNORECASE), "www."),
    _Shape(
        Placeholder.URL,
        re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}/[^\s<>\"']*", re.IGNORECASE),
        "/",
    ),
    _Shape(
        Placeholder.EMAIL,
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        "@",
    ),
    _Shape(
        Placeholder.IP,
        re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])"),
        _ANY_DIGIT,
    ),
    _Shape(
        Placeholder.IP,
        re.compile(
            r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
            r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?:%[\w.]+)?(?![\w:])"
        ),
        ":",
    ),
    _Shape(
        Placeholder.SSN,
        re.compile(r"(?<![0-9])[0-9]{3}([ .-]?)[0-9]{2}\1[0-9]{4}(?![0-9])"),
        _ANY_DIGIT,
    ),
    _Shape(
        Placeholder.PHONE,
        re.compile(
            r"(?<![0-9])(?:\+?1[ .-]?)?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}"
            r"(?:\s*(?:x|ext\.?|extension)\s*[0-9]{1,6})?(?![0-9])",
            re.IGNORECASE,
        ),
        _ANY_DIGIT,
    ),
    _Shape(
        Placeholder.DATE,
        re.compile(
            r"(?<![0-9])(?:[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})"
            r"|[0-9]{4}[/.-][0-9]{1,2}[/.-][0-9]{1,2})(?![0-9])"
        ),
        _ANY_DIGIT,
    ),
    _Shape(
        Placeholder.DATE,
        re.compile(
            rf"\b{_MONTH}(?:\s+[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\s+[0-9]{{4}})?|,?\s+[0-9]{{4}})\b"
            rf"|\b[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+[0-9]{{4}})?\b",
            re.IGNORECASE,
        ),
        _ANY_DIGIT,
    ),
    _Shape(
        Placeholder.ADDRESS,
        re.compile(
            rf"\b[0-9]{{1,6}}[a-z]?\s+(?:[\w.'-]+\s+){{0,4}}?{_STREET_SUFFIX}\b\.?"
            r"(?:\s*,?\s*(?:apt|apartment|unit|suite|ste|#)\.?\s*[\w-]+)?"
            r"|\bp\.?\s?o\.?\s+box\s+[0-9]+",
            re.IGNORECASE,
        ),
        _ANY_DIGIT,
    ),
    _Shape(Placeholder.NUMBER, re.compile(r"[0-9](?:[ ./-]?[0-9]){5,}"), _ANY_DIGIT),
)
_HAS_DIGIT: Final = re.compile(r"[0-9]")


@dataclass(frozen=True, slots=True)
class OwnValues:
    """The record's own identifying values that scrubbing looks for, already folded.

    Built by :func:`own_values`; holds raw identifiers, so it never leaves memory and its
    repr shows nothing. Matching uses no per-record regular expression (compiling one per
    record would cost more than the rest of the scrubbing): the folded text is split into
    words once and the words are compared.
    """

    name_parts: frozenset[str] = frozenset()
    #: Word sequences (street, street name, city, e-mail user, account) and their placeholder.
    phrases: tuple[tuple[tuple[str, ...], Placeholder], ...] = ()
    zip5: str | None = None

    def __repr__(self) -> str:
        return "OwnValues(<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, order=True)
class _Span:
    start: int
    end: int
    placeholder: Placeholder


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _shape_spans(text: str) -> Iterator[_Span]:
    has_digit = _HAS_DIGIT.search(text) is not None
    for placeholder, pattern, needs in _SHAPES:
        if not (has_digit if needs == _ANY_DIGIT else needs in text):
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if placeholder is Placeholder.URL:
                end = start + len(match.group().rstrip(_TRAILING_PUNCTUATION))
            elif placeholder is Placeholder.IP and not _is_ip(match.group()):
                continue  # "10:30:15" is a time, "1.2.3.400" a version string
            if end > start:
                yield _Span(start, end, placeholder)


def _folded_with_index(text: str) -> tuple[str, list[int] | None]:
    """``fold(text)`` and, for each folded character, the index of its source character.

    The index is None when folding kept every position (ASCII text: upper case only).
    """
    if text.isascii():
        return text.upper(), None
    pieces: list[str] = []
    index: list[int] = []
    cache: dict[str, str] = {}
    for position, char in enumerate(text):
        folded = cache.get(char)
        if folded is None:
            folded = cache[char] = char.upper() if char.isascii() else fold(char)
        pieces.append(folded)
        index.extend([position] * len(folded))
    return "".join(pieces), index


_LETTER_RUN: Final = re.compile(r"[^\W\d_]+")
_ALNUM_RUN: Final = re.compile(r"[^\W_]+")
_DIGIT_RUN: Final = re.compile(r"[0-9]+")


def _own_spans(text: str, own: OwnValues) -> Iterator[_Span]:
    """Spans of the record's own values, found as whole words of the *folded* text."""
    if not (own.name_parts or own.phrases or own.zip5):
        return
    folded, index = _folded_with_index(text)

    def span(start: int, end: int, placeholder: Placeholder) -> _Span:
        if index is None:
            return _Span(start, end, placeholder)
        return _Span(index[start], index[end - 1] + 1, placeholder)

    if own.name_parts:
        # Letter runs: "Garcia84" still yields GARCIA; "Annual" is not ANN.
        for match in _LETTER_RUN.finditer(folded):
            if match.group() in own.name_parts:
                yield span(match.start(), match.end(), Placeholder.NAME)
    if own.phrases:
        # Separators between the words do not matter: "4821  larkspur-crescent" matches.
        matches = list(_ALNUM_RUN.finditer(folded))
        words_only = [m.group() for m in matches]
        by_first: dict[str, list[tuple[tuple[str, ...], Placeholder]]] = {}
        for phrase in own.phrases:
            by_first.setdefault(phrase[0][0], []).append(phrase)
        for i, word in enumerate(words_only):
            for words, placeholder in by_first.get(word, ()):
                end = i + len(words)
                if tuple(words_only[i:end]) == words:
                    yield span(matches[i].start(), matches[end - 1].end(), placeholder)
    if own.zip5:
        for match in _DIGIT_RUN.finditer(folded):
            if match.group() == own.zip5:
                yield span(match.start(), match.end(), Placeholder.ADDRESS)


def _merge(spans: Iterable[_Span]) -> list[_Span]:
    """Union overlapping or touching spans; a merged span keeps the most specific placeholder."""
    merged: list[_Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            best = min(last.placeholder, span.placeholder, key=_PRIORITY.__getitem__)
            merged[-1] = _Span(last.start, max(last.end, span.end), best)
        else:
            merged.append(span)
    return merged


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Cut at a space so no half placeholder or half word is left at the end.
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut) + "…"


def scrub_text(text: str, own: OwnValues | None = None) -> str:
    """``text`` with every identifier shape and every own value replaced by a placeholder.

    The result is NFC-normalized and at most ``SCRUBBED_TEXT_MAX_LENGTH`` characters, so it
    is a valid :data:`contracts.privacy.ScrubbedText`.
    """
    text = unicodedata.normalize("NFC", text)
    spans = list(_shape_spans(text))
    if own is not None:
        spans.extend(_own_spans(text, own))
    pieces: list[str] = []
    position = 0
    for span in _merge(spans):
        pieces.append(text[position : span.start])
        pieces.append(span.placeholder.value)
        position = span.end
    pieces.append(text[position:])
    return _truncate("".join(pieces), SCRUBBED_TEXT_MAX_LENGTH)


def own_values(
    *,
    names: Iterable[str | None],
    street_address: str | None = None,
    city: str | None = None,
    zip5: str | None = None,
    email: str | None = None,
    account_number: str | None = None,
    application_id: str | None = None,
) -> OwnValues:
    """Fold a record's identifying values into the form :func:`scrub_text` searches for."""
    parts: set[str] = set()
    for name in names:
        words = name_parts(name) if name else ()
        # Every run of consecutive words, joined: "O'Brien" is also written "OBrien".
        for start in range(len(words)):
            for end in range(start + 1, len(words) + 1):
                part = "".join(words[start:end])
                # Single letters (initials) are left alone: replacing every "A" would wreck
                # the text, and an initial does not identify anyone.
                if len(part) >= 2:
                    parts.add(part)
    phrases: list[tuple[tuple[str, ...], Placeholder]] = []
    if street_address:
        words = name_parts(street_address)
        if words:
            phrases.append((words, Placeholder.ADDRESS))
        # The street without its house number ("MAPLE AVENUE") identifies too.
        street = tuple(w for w in words if not w.isdigit())
        if street and street != words and len("".join(street)) >= 5:
            phrases.append((street, Placeholder.ADDRESS))
    if city and name_parts(city):
        phrases.append((name_parts(city), Placeholder.ADDRESS))
    user = email.split("@", 1)[0] if email and "@" in email else ""
    if len(user) >= 4 and name_parts(user):
        phrases.append((name_parts(user), Placeholder.EMAIL))
    for account in (account_number, application_id):
        if account and len(account.strip()) >= 4 and name_parts(account):
            phrases.append((name_parts(account), Placeholder.NUMBER))
    return OwnValues(name_parts=frozenset(parts), phrases=tuple(phrases), zip5=zip5)
