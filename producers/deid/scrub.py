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
from typing import Final

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

# Shapes, with the placeholder each becomes. Boundaries are deliberately loose (a digit
# glued to letters is still found) because missing an identifier is worse than an extra
# placeholder; the final digit-run pattern catches whatever separators defeat the others.
_SHAPES: Final[tuple[tuple[Placeholder, re.Pattern[str]], ...]] = (
    (
        Placeholder.URL,
        re.compile(
            r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+"
            r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}/[^\s<>\"']*",
            re.IGNORECASE,
        ),
    ),
    (
        Placeholder.EMAIL,
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ),
    (Placeholder.IP, re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])")),
    (
        Placeholder.IP,
        re.compile(
            r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
            r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?:%[\w.]+)?(?![\w:])"
        ),
    ),
    (Placeholder.SSN, re.compile(r"(?<![0-9])[0-9]{3}([ .-]?)[0-9]{2}\1[0-9]{4}(?![0-9])")),
    (
        Placeholder.PHONE,
        re.compile(
            r"(?<![0-9])(?:\+?1[ .-]?)?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}"
            r"(?:\s*(?:x|ext\.?|extension)\s*[0-9]{1,6})?(?![0-9])",
            re.IGNORECASE,
        ),
    ),
    (
        Placeholder.DATE,
        re.compile(
            r"(?<![0-9])(?:[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})"
            r"|[0-9]{4}[/.-][0-9]{1,2}[/.-][0-9]{1,2})(?![0-9])"
        ),
    ),
    (
        Placeholder.DATE,
        re.compile(
            rf"\b{_MONTH}(?:\s+[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\s+[0-9]{{4}})?|,?\s+[0-9]{{4}})\b"
            rf"|\b[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+[0-9]{{4}})?\b",
            re.IGNORECASE,
        ),
    ),
    (
        Placeholder.ADDRESS,
        re.compile(
            rf"\b[0-9]{{1,6}}[a-z]?\s+(?:[\w.'-]+\s+){{0,4}}?{_STREET_SUFFIX}\b\.?"
            r"(?:\s*,?\s*(?:apt|apartment|unit|suite|ste|#)\.?\s*[\w-]+)?"
            r"|\bp\.?\s?o\.?\s+box\s+[0-9]+",
            re.IGNORECASE,
        ),
    ),
    (Placeholder.NUMBER, re.compile(r"[0-9](?:[ ./-]?[0-9]){5,}")),
)


@dataclass(frozen=True, slots=True)
class OwnValues:
    """The record's own identifying values that scrubbing looks for, already folded.

    Built from a raw record by :func:`producers.deid.raw.RawRecord.own_values`; holds raw
    identifiers, so it never leaves memory and its repr shows nothing.
    """

    name_parts: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()  # street, street name, city: folded word sequences
    zip5: str | None = None
    email_user: str | None = None
    accounts: tuple[str, ...] = ()

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
    for placeholder, pattern in _SHAPES:
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


_LETTER_BEFORE: Final = r"(?<![^\W\d_])"
_LETTER_AFTER: Final = r"(?![^\W\d_])"


def _own_patterns(own: OwnValues) -> Iterator[tuple[Placeholder, re.Pattern[str]]]:
    """Patterns over the *folded* text for the record's own values."""
    # Single letters (initials) are left alone: replacing every "A" would wreck the text
    # and an initial does not identify anyone.
    parts = sorted((p for p in own.name_parts if len(p) >= 2), key=len, reverse=True)
    if parts:
        words = "|".join(re.escape(p) for p in parts)
        yield Placeholder.NAME, re.compile(rf"{_LETTER_BEFORE}(?:{words}){_LETTER_AFTER}")
    for phrase in own.phrases:
        words = r"[\W_]+".join(re.escape(w) for w in phrase.split())
        yield Placeholder.ADDRESS, re.compile(rf"(?<![^\W_]){words}(?![^\W_])")
    if own.zip5:
        yield Placeholder.ADDRESS, re.compile(rf"(?<![0-9]){own.zip5}(?![0-9])")
    if own.email_user:
        user = re.escape(own.email_user)
        yield Placeholder.EMAIL, re.compile(rf"(?<![\w.+-]){user}(?![\w+-]|\.\w)")
    for account in own.accounts:
        escaped = re.escape(account)
        yield Placeholder.NUMBER, re.compile(rf"(?<![^\W_]){escaped}(?![^\W_])")


def _own_spans(text: str, own: OwnValues) -> Iterator[_Span]:
    patterns = list(_own_patterns(own))
    if not patterns:
        return
    folded, index = _folded_with_index(text)
    for placeholder, pattern in patterns:
        for match in pattern.finditer(folded):
            start, end = match.span()
            if end <= start:
                continue
            if index is None:
                yield _Span(start, end, placeholder)
            else:
                yield _Span(index[start], index[end - 1] + 1, placeholder)


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
                parts.add("".join(words[start:end]))
    phrases: list[str] = []
    if street_address:
        words = name_parts(street_address)
        if words:
            phrases.append(" ".join(words))
        # The street without its house number ("MAPLE AVENUE") identifies too.
        street = [w for w in words if not w.isdigit()]
        if street and street != list(words) and len("".join(street)) >= 5:
            phrases.append(" ".join(street))
    if city:
        words = name_parts(city)
        if words:
            phrases.append(" ".join(words))
    user = email.split("@", 1)[0] if email and "@" in email else None
    accounts = tuple(
        fold(value.strip())
        for value in (account_number, application_id)
        if value and len(value.strip()) >= 4
    )
    return OwnValues(
        name_parts=frozenset(parts),
        phrases=tuple(phrases),
        zip5=zip5,
        email_user=fold(user) if user and len(user) >= 4 else None,
        accounts=accounts,
    )
