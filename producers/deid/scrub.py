"""Free-text scrubbing, allow-list first: only words known to be safe are kept.

A comment is put in canonical form first (:func:`contracts.pii.canonical`: NFKC, digits of
every script, look-alike letters, invisible characters, defanged forms), then:

1. every identifier **shape** (:func:`contracts.pii.find_identifiers`: e-mail, URL, IP,
   dates, digit runs, spelled-out digits, phone numbers, addresses, reference numbers,
   encoded values) and every **own value** of the record in any spelling
   (:class:`~producers.deid.ownmatch.OwnMatcher`) becomes a placeholder;
2. the word after a relation or employer word ("my son ...", "I work at ...") becomes
   ``[NAME]`` unless it is a function word, and a word before a street suffix ("maple
   street") becomes ``[ADDRESS]``;
3. of what is left, a word is kept only when it is in the allow-list
   (:func:`~producers.deid.words.safe_words`) and is not capitalised mid-sentence; every
   other word becomes ``[NAME]`` (capitalised) or ``[WORD]``, every digit ``[NUMBER]``.

Consecutive equal placeholders are merged. Over-scrubbing is the safe direction (PRIVACY.md
invariant 3: recall beats readability); ``python -m bench.privacy`` measures what it costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Final

from contracts.pii import Finding, canonical, find_identifiers, number_word_runs, spelled_digits
from contracts.privacy import SCRUBBED_TEXT_MAX_LENGTH
from producers.deid.employers import employer_spans
from producers.deid.ownmatch import OwnMatcher
from producers.deid.spelled import spelled_letter_spans
from producers.deid.words import (
    CALLED_AFTER,
    COMMON_NAME_WORDS,
    CONTEXT_PREPOSITIONS,
    CX_WORDS,
    EMPLOYER_NOUNS,
    FUNCTION_WORDS,
    LIST_WORDS,
    NAME_INTRO_WORDS,
    PLACE_VERBS,
    RELATION_WORDS,
    WORK_VERBS,
    safe_words,
    split_words,
)

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
    """What replaces each kind of identifier (or unknown word) in scrubbed text."""

    URL = "[URL]"
    EMAIL = "[EMAIL]"
    IP = "[IP]"
    SSN = "[SSN]"
    PHONE = "[PHONE]"
    DATE = "[DATE]"
    ADDRESS = "[ADDRESS]"
    NUMBER = "[NUMBER]"
    NAME = "[NAME]"
    WORD = "[WORD]"


#: The words inside the placeholders ("URL", "EMAIL", ...): the PII guard knows them.
PLACEHOLDERS: Final[frozenset[str]] = frozenset(p.value[1:-1] for p in Placeholder)
_PRIORITY: Final[dict[Placeholder, int]] = {p: rank for rank, p in enumerate(Placeholder)}
_KIND: Final[dict[str, Placeholder]] = {
    "url": Placeholder.URL,
    "email": Placeholder.EMAIL,
    "ip": Placeholder.IP,
    "ssn": Placeholder.SSN,
    "phone": Placeholder.PHONE,
    "date": Placeholder.DATE,
    "address": Placeholder.ADDRESS,
    "name": Placeholder.NAME,
    "handle": Placeholder.NAME,
}

#: The record's own values as the scrubber looks for them (an :class:`OwnMatcher`).
OwnValues = OwnMatcher

_TOKEN: Final = re.compile(r"[^\W_]+(?:'[^\W\d_]+)?")
_STREET_WORDS: Final = frozenset(
    split_words(
        "street avenue road boulevard drive lane court place terrace circle highway parkway "
        "square trail crescent alley calle avenida camino"
    )
)
#: Words before a unit, box or lot number: a single spelled number after them ("apartment
#: twelve B", "lot seventeen") is part of an address, as a digit would be.
_UNIT_WORDS: Final = frozenset(
    split_words("apartment apt unit suite ste room rm lot box bldg building floor space trailer")
)
_SENTENCE_END: Final = frozenset(".!?:;\"'(")
_MAX_INPUT: Final = 8 * SCRUBBED_TEXT_MAX_LENGTH


_POSSESSIVES: Final = frozenset(split_words("my our his her their mi su nuestra nuestro"))
#: Words that open a sentence before "my son" and name nobody ("Yesterday, my son ...").
_DISCOURSE: Final = frozenset(
    split_words(
        "today yesterday tomorrow also then now so well anyway however but plus finally first "
        "recently later again sadly unfortunately luckily honestly basically meanwhile hi hello "
        "thanks please ok okay yes yeah ayer hoy luego pero entonces"
    )
)


def _appositive(text: str, tokens: list[re.Match[str]], lowers: list[str], i: int) -> int | None:
    """The index of the name before "my <relation>" at ``i``: "River, my daughter",
    "me and River (my son)", "River is my granddaughter"; None when there is none."""
    if i < 2 or lowers[i - 1] not in _POSSESSIVES:
        return None
    j = i - 2
    linked = lowers[j] in ("is", "was", "es")
    if linked:
        j -= 1
    elif not re.search(r"[,(:\-]", text[tokens[j].end() : tokens[i - 1].start()]):
        return None  # "brought my son": a verb, no apposition
    if j < 0:
        return None
    word = lowers[j].removesuffix("'s")
    if word in FUNCTION_WORDS | _NOT_NAMES | _DISCOURSE | RELATION_WORDS | _POSSESSIVES:
        return None
    return j


def _context_spans(text: str, tokens: list[re.Match[str]]) -> Iterable[Finding]:
    """Names after relation words and name introductions and before "my <relation>",
    employers after "work at", places after "live in", street names before a street suffix."""
    lowers = [token.group().lower() for token in tokens]
    for i, lower in enumerate(lowers):
        if lower in RELATION_WORDS:
            yield from _named_list(tokens, lowers, i + 1)
            named = _appositive(text, tokens, lowers, i)
            if named is not None:
                yield Finding("name", *tokens[named].span())
        elif lower in EMPLOYER_NOUNS:
            j = i + 1
            while j < len(tokens) and lowers[j] in CONTEXT_PREPOSITIONS | {"is", "was", "s"}:
                j += 1
            yield from _named_list(tokens, lowers, j)
        elif (
            lower in NAME_INTRO_WORDS
            or (lower == "called" and i > 0 and lowers[i - 1] in CALLED_AFTER)
            or (
                lower in PLACE_VERBS | WORK_VERBS
                and i + 1 < len(lowers)
                and lowers[i + 1] in CONTEXT_PREPOSITIONS
            )
        ):
            # "my name is X", "called X", "I work at X", "we live in X": skip the
            # preposition and articles, then up to three words until a function word.
            j = i + 1
            while j < len(tokens) and lowers[j] in CONTEXT_PREPOSITIONS | {"is", "was", "s"}:
                j += 1
            for follower in tokens[j : j + 3]:
                if follower.group().lower() in FUNCTION_WORDS:
                    break
                yield Finding("name" if lower not in PLACE_VERBS else "address", *follower.span())
        elif lower in _UNIT_WORDS:
            j = i + 1
            while j < min(i + 4, len(tokens)) and (
                spelled_digits([lowers[j]]) or (len(lowers[j]) == 1 and lowers[j] not in "ai")
            ):
                j += 1
            if j > i + 1:
                yield Finding("address", tokens[i].start(), tokens[j - 1].end())
        elif lower in _STREET_WORDS and i > 0:
            before = tokens[i - 1]
            if before.group().lower() not in FUNCTION_WORDS:
                yield Finding("address", before.start(), token_end(tokens[i]))


_MAX_LISTED: Final = 6
#: Words that end the names after a relation word: function words, list words and the CX
#: vocabulary ("my baby's SSN", "my son benefits" name nobody).
_NOT_NAMES: Final = FUNCTION_WORDS | LIST_WORDS | CX_WORDS


def _named_list(tokens: list[re.Match[str]], lowers: list[str], start: int) -> Iterable[Finding]:
    """The names from ``start``: up to two words (given name and surname) until a function
    word, then more names joined by "and", "y", "or" ("my kids X and Y"), at most six."""
    j = start
    for _ in range(_MAX_LISTED):
        taken = 0
        while j < len(tokens) and taken < 2 and lowers[j] not in _NOT_NAMES:
            yield Finding("name", *tokens[j].span())
            j += 1
            taken += 1
        if taken == 0 or j + 1 >= len(tokens) or lowers[j] not in LIST_WORDS:
            return
        if lowers[j + 1] in FUNCTION_WORDS | RELATION_WORDS:
            return
        j += 1


# Single letters separated by at most two separators: "J a n e", "J.A.N.E", "j-a-n-e".
_SPACED: Final = re.compile(r"(?<![^\W_])[^\W\d_](?:[\s.\-_*/|]{1,2}[^\W\d_]){2,}(?![^\W_])")


_SPELLED_MIN: Final = 4


def _spaced_words(text: str) -> Iterable[Finding]:
    """A word spelled letter by letter is a name unless it is a short allow-listed word
    ("U S A"): four letters or more spelled out are something spelled for a reader (a name,
    an e-mail address "m a i l b o x . o r g", a plate), so removed even when they are a word.
    """
    for match in _SPACED.finditer(text):
        word = re.sub(r"[\W_]", "", match.group()).lower()
        if len(word) >= _SPELLED_MIN or word not in safe_words():
            yield Finding("name", *match.span())


def token_end(token: re.Match[str]) -> int:
    """Where ``token`` ends (for readability of the span arithmetic above)."""
    return token.end()


def _merge(findings: Iterable[Finding]) -> list[tuple[int, int, Placeholder]]:
    merged: list[tuple[int, int, Placeholder]] = []
    for kind, start, end in sorted(findings, key=lambda f: (f.start, f.end)):
        placeholder = _KIND.get(kind, Placeholder.NUMBER)
        if merged and start <= merged[-1][1]:
            last_start, last_end, last = merged[-1]
            best = min(last, placeholder, key=_PRIORITY.__getitem__)
            merged[-1] = (last_start, max(last_end, end), best)
        else:
            merged.append((start, end, placeholder))
    return merged


def _sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in _SENTENCE_END or before.endswith("]")


def _word(text: str, token: re.Match[str], safe: frozenset[str]) -> str:
    word = token.group()
    if any(ch.isdigit() for ch in word):
        return Placeholder.NUMBER.value
    lower = word.lower()
    if lower not in safe:
        return (Placeholder.NAME if word[0].isupper() else Placeholder.WORD).value
    if word[0].isupper() and lower in COMMON_NAME_WORDS:
        return Placeholder.NAME.value  # "Hope called me": a name even at a sentence start
    capitalised = (word[0].isupper() and not word.isupper()) or (word.isupper() and len(word) == 1)
    if capitalised and word != "I" and not _sentence_start(text, token.start()):
        return Placeholder.NAME.value
    return word


def _collapse(text: str) -> str:
    """Merge runs of the same placeholder ("[WORD] [WORD]" -> "[WORD]"), tidy spaces."""
    text = re.sub(r"(\[[A-Z]+\])(?:[\s\-.,/]*\1)+", r"\1", text)
    return re.sub(r"[ ]{2,}", " ", text).strip()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut) + "…"


def scrub_text(text: str, own: OwnMatcher | None = None) -> str:
    """``text`` with only allow-listed words kept and every identifier a placeholder.

    The result has no digit and at most ``SCRUBBED_TEXT_MAX_LENGTH`` characters, so it is a
    valid :data:`contracts.privacy.ScrubbedText`.
    """
    text = canonical(text[:_MAX_INPUT])
    tokens = list(_TOKEN.finditer(text))
    findings = [*find_identifiers(text), *_context_spans(text, tokens)]
    findings.extend(Finding("number", start, end) for start, end in number_word_runs(text))
    findings.extend(_spaced_words(text))
    findings.extend(employer_spans(text, tokens))
    findings.extend(Finding("name", start, end) for start, end in spelled_letter_spans(text))
    if own is not None:
        findings.extend(own.findings(text))
    safe = safe_words()
    pieces: list[str] = []
    position = 0
    spans = _merge(findings)
    span_index = 0
    for token in tokens:
        if token.start() < position:
            continue
        while span_index < len(spans) and spans[span_index][1] <= token.start():
            start, end, placeholder = spans[span_index]
            if start >= position:
                pieces.append(_gap(text[position:start]))
                pieces.append(placeholder.value)
                position = end
            span_index += 1
        if span_index < len(spans) and spans[span_index][0] <= token.start():
            start, end, placeholder = spans[span_index]
            pieces.append(_gap(text[position:start]))
            pieces.append(placeholder.value)
            position = end
            span_index += 1
            continue
        pieces.append(_gap(text[position : token.start()]))
        pieces.append(_word(text, token, safe))
        position = token.end()
    for start, end, placeholder in spans[span_index:]:
        if start >= position:
            pieces.append(_gap(text[position:start]))
            pieces.append(placeholder.value)
            position = end
    pieces.append(_gap(text[position:]))
    return _truncate(_collapse("".join(pieces)), SCRUBBED_TEXT_MAX_LENGTH)


_GAP_KEEP: Final = re.compile(r"[^ .,;:!?'\"()\-/&%$+]")


def _gap(text: str) -> str:
    """What is kept between words: spaces and plain punctuation only (no stray symbol)."""
    return _GAP_KEEP.sub(" ", text)


def own_values(
    *,
    names: Iterable[str | None],
    street_address: str | None = None,
    city: str | None = None,
    zip5: str | None = None,
    email: str | None = None,
    account_number: str | None = None,
    application_id: str | None = None,
    ssn: str | None = None,
    phone: str | None = None,
    date_of_birth: date | None = None,
) -> OwnMatcher:
    """A record's identifying values in the form :func:`scrub_text` searches for."""
    return OwnMatcher.of(
        names=tuple(names),
        street_address=street_address,
        city=city,
        zip5=zip5,
        ssn=ssn,
        phone=phone,
        email=email,
        account_number=account_number,
        application_id=application_id,
        date_of_birth=date_of_birth,
    )
