"""Value-independent identifier detectors over canonical text.

:func:`canonical` is :func:`~contracts.pii.normalize.normalize` plus the de-obfuscation of
defanged and encoded forms (``[at]``, ``(dot)``, ``[.]``, ``hxxp``, ``%40``, ``&#64;``);
:func:`find_identifiers` returns the spans of every identifier *shape* in it, whoever the
text is about: e-mail addresses (also written with "at"/"dot" words, spaces around ``@``,
non-ASCII domains), URLs and query strings, IP addresses, dates in numeric, textual and CJK
forms, any run of five or more digits whatever separates them (SSN, phone, ZIP, account),
spelled-out digit runs, telephone numbers (``phonenumbers``), street, box and unit forms,
alphanumeric reference numbers (claim, case, plate), and base64 or hex encodings of any of
these. A detector only ever returns kinds and positions, never the matched text.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Iterator
from typing import Final
from urllib.parse import unquote

import phonenumbers

from contracts.pii.encoded import decoded_candidates
from contracts.pii.finding import Finding
from contracts.pii.normalize import DIGIT_WORDS, normalize, spelled_digits
from contracts.pii.places import address_spans

__all__ = [
    "Finding",
    "canonical",
    "digit_runs",
    "find_identifiers",
    "identifier_kinds",
    "number_word_runs",
]


_DEFANG: Final = (
    (re.compile(r"\s*[\[({<]\s*(?:at|@|arroba)\s*[\])}>]\s*", re.IGNORECASE), "@"),
    (re.compile(r"\s*[\[({<]\s*(?:dot|\.|punto)\s*[\])}>]\s*", re.IGNORECASE), "."),
    (re.compile(r"\s*[\[({<]\s*:\s*[\])}>]\s*"), ":"),
    (re.compile(r"\bh(?:xx|\*\*|XX)p(s?)\b"), r"http\1"),
    (re.compile(r"\s+@\s*|@\s+"), "@"),
)
# One search that any of the patterns above needs to match: most texts skip the five subs.
_DEFANG_HINT: Final = re.compile(
    r"[\[({<]\s*(?:at|@|arroba|dot|\.|punto|:)\s*[\])}>]|h(?:xx|\*\*|XX)ps?\b|\s@|@\s",
    re.IGNORECASE,
)
_HAS_ESCAPE: Final = re.compile(r"%[0-9A-Fa-f]{2}|&#?\w+;")


def canonical(text: str) -> str:
    """``text`` normalized (NFKC, digits, confusables, invisibles) and de-obfuscated."""
    text = normalize(text)
    for _ in range(2):  # an escape inside an escape ("%2540") takes two rounds
        if not _HAS_ESCAPE.search(text):
            break
        text = normalize(html.unescape(unquote(text)))
    if _DEFANG_HINT.search(text):
        for pattern, replacement in _DEFANG:
            text = pattern.sub(replacement, text)
    return text


_TLDS: Final = (
    "com|org|net|gov|edu|mil|us|io|co|info|biz|me|app|dev|email|online|site|xyz|mx|es|uk|ca|"
    "de|fr|cn|vn|in|ru|br|jp|kr|eg|sa|ae|ph|pr"
)
# Atomic: a label never gives back characters, so "a-a-a-...-a at x" (labels that could
# be split at every hyphen) is matched in linear time, not by trying every split.
_LABEL: Final = r"(?>[^\W_](?:[\w-]{0,62}[^\W_])?)"
_DOT: Final = r"(?:\s?\.\s?|\s+(?:dot|punto)\s+)"
_EMAIL_AT: Final = re.compile(
    rf"(?<![\w.%+'-])[\w.%+'-]*[^\W_]@{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[^\W\d_]{{2,24}}",
    re.IGNORECASE,
)
_EMAIL_WORDS: Final = re.compile(
    rf"\b{_LABEL}(?:(?:\s*[._+-]\s*|\s+(?:dot|punto)\s+){_LABEL}){{0,3}}"
    rf"\s+(?:at|arroba)\s+{_LABEL}(?:(?:\s*\.\s*|\s+(?:dot|punto)\s+){_LABEL}){{0,3}}"
    rf"(?:\s*\.\s*|\s+(?:dot|punto)\s+)(?:{_TLDS})\b",
    re.IGNORECASE,
)
# "user at gmail" (a known mail provider, no top-level domain) and "user at web.de" (any
# top-level domain when the dots are written as dots, without spaces).
_PROVIDERS: Final = (
    "gmail|googlemail|yahoo|ymail|hotmail|outlook|msn|icloud|aol|proton|protonmail|gmx"
    "|zoho|yandex|comcast|sbcglobal|verizon|earthlink|qq"
)
_EMAIL_PROVIDER: Final = re.compile(
    rf"\b{_LABEL}(?:[._+-]{_LABEL}){{0,3}}\s*(?:\bat\b|\barroba\b|@)\s*"
    rf"(?:(?:{_PROVIDERS})\b|{_LABEL}(?:\.{_LABEL})*\.[^\W\d_]{{2,24}}\b)",
    re.IGNORECASE,
)
# Social-media handles: "@river_sky", and words glued with underscores or dots and no
# space ("river_sky", "sunshine.mama"; a capital after the dot is a missing space).
_HANDLE: Final = re.compile(
    r"(?<![\w@.])@[^\W_][\w.]{1,40}"
    r"|(?<![\w.])[^\W\d_]+(?:_+[^\W_]+)+"
    r"|(?<![\w.])[^\W\d_]{2,}(?:\.(?![A-Z])[^\W\d_]{2,})+(?![\w.])"
)
# A web address read out in words: "facebook dot com slash river dot sky".
_URL_WORDS: Final = re.compile(
    rf"\b{_LABEL}(?:{_DOT}{_LABEL}){{0,3}}{_DOT}(?:{_TLDS})\b"
    rf"(?:\s*(?:/|\bslash\b|\bbarra\b)\s*[\w%-]+(?:{_DOT}[\w-]+){{0,3}})+",
    re.IGNORECASE,
)
_URL: Final = re.compile(
    r"\b(?:https?|ftp)\s*:\s*//\S+|\bwww\s*\.\s*\S+"
    rf"|\b{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,24}}(?:/|\?)\S*"
    r"|[?&][\w.%-]+=[^\s&]+",
    re.IGNORECASE,
)
_IPV4: Final = re.compile(r"(?<![\d.])\d{1,3}(?:\s?\.\s?\d{1,3}){3}(?![\d])")
_IPV6: Final = re.compile(
    r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]+)?(?![\w:])"
)
_TRAILING_PUNCTUATION: Final = ".,;:!?)]}'\""

_MONTH: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)\.?"
)
_ORDINAL_WORDS: Final = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
    r"|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth"
    r"|twenty[- ]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth"
    r"|thirty[- ]?first)"
)
_DAY: Final = rf"(?:\d{{1,2}}\s?(?:st|nd|rd|th)?|{_ORDINAL_WORDS})"
# A day written as a cardinal word ("fourteen july", "julio catorce"); "may" is left out of
# these forms ("the two may differ" is no date).
_CARDINAL_DAY: Final = (
    r"(?:(?:twenty|thirty)[- ]?(?:one|two|three|four|five|six|seven|eight|nine)|one|two|three"
    r"|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|thirty|uno|dos|tres|cuatro|cinco|seis|siete|ocho"
    r"|nueve|diez|once|doce|trece|catorce|quince|dieci\w+|veinte|veinti\w+|treinta(?: y uno)?)"
)
_MONTH_NOT_MAY: Final = rf"(?!may\b|mayo\b){_MONTH}"
_DATE: Final = re.compile(
    r"(?<!\d)\d{1,4}\s?[/.-]\s?\d{1,2}(?:\s?[/.-]\s?\d{2,4})?(?!\d)"
    rf"|(?<![^\W\d_])\d{{1,2}}\s?[-/.]?\s?{_MONTH}\s?[-/.,]?\s?\d{{2,4}}(?!\d)"
    rf"|\b{_MONTH}\s?(?:the\s)?{_DAY}\b(?:\s?,?\s?(?:of\s)?\d{{2,4}})?"
    rf"|\b{_DAY}\s(?:of\s|de\s)?{_MONTH}(?:\s?,?\s?(?:de\s|of\s)?\d{{2,4}})?"
    rf"|\b{_MONTH}\s?,?\s?\d{{4}}\b"
    rf"|\b{_MONTH_NOT_MAY}\s?(?:the\s)?{_CARDINAL_DAY}\b"
    rf"|\b{_CARDINAL_DAY}\s(?:of\s|de\s)?{_MONTH_NOT_MAY}(?![^\W\d_])"
    r"|\d{2,4}\s?年\s?\d{1,2}\s?月(?:\s?\d{1,2}\s?[日号])?|\d{1,2}\s?月\s?\d{1,2}\s?[日号]"
    r"|ngày\s?\d{1,2}|tháng\s?\d{1,2}",
    re.IGNORECASE,
)
# A run of digits and number words (also of other languages, see DIGIT_WORDS) with any
# separators between them: up to five characters that are neither letters nor digits
# ("2 -- 1", "two; one", "two · one"), or a joining word ("and", "then", "y", "e").
_NUMBER_WORD: Final = (
    r"(?:" + "|".join(DIGIT_WORDS) + r"|oh|o|twenty|thirty|forty|fifty|sixty|seventy|eighty"
    r"|ninety|double|triple|hundred|thousand|million|cien|ciento|mil)"
)
# Scale words keep a spelled number together ("two hundred nineteen") but add no digit.
_SCALE: Final = frozenset({"hundred", "thousand", "million", "cien", "ciento", "mil"})
_RUN_ITEM: Final = rf"(?:\d+|\b{_NUMBER_WORD}\b)"
_RUN: Final = re.compile(
    rf"{_RUN_ITEM}(?:[\W_]{{0,5}}(?:(?:and|then|y|e)[\W_]{{1,3}})?{_RUN_ITEM})*", re.IGNORECASE
)
_RUN_PART: Final = re.compile(rf"\d+|\b{_NUMBER_WORD}\b", re.IGNORECASE)
_NUMBER_WORDS: Final = frozenset(_NUMBER_WORD[3:-1].split("|"))
_LOWER_WORD: Final = re.compile(r"[a-z]+")
# Reference numbers written with letters: A1234567, CLM-2024-0098, 7ABC123.
_ALNUM_ID: Final = re.compile(r"\b(?=[\w-]*\d[\w-]*\d)(?=[\w-]*[^\W\d_])[\w]+(?:-[\w]+)*\b")
_ID_KEYWORD: Final = re.compile(
    r"\b(?:acct|account|claim|case|record|member|policy|ticket|confirmation|reference|ref"
    r"|plate|tag|licen[cs]e|dl|id|no|number|num|folio|expediente|n[uú]mero)\b[\s.:#-]{0,3}"
    r"(?:(?:is|was|number|no|num|#)[\s.:#-]{0,3})?([\w-]*\d[\w-]*)",
    re.IGNORECASE,
)
# Licence plates and similar codes: capitals and digits in two groups ("ABC 1234", "123-XYZ").
_PLATE: Final = re.compile(
    r"\b(?!(?:SSN|DOB|ZIP|PIN|ID|NO|APT|EXT|PO|BOX|FAX|TEL|PH|NUM|REF|ACCT|AM|PM)\b)"
    r"[A-Z]{1,3}[\s-]?\d{3,4}\b|\b\d{3,4}[\s-]?(?!(?:AM|PM)\b)[A-Z]{2,3}\b"
)
_DIGIT: Final = re.compile(r"\d")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _digit_kind(digits: str) -> str:
    return {5: "zip", 9: "ssn", 10: "phone"}.get(len(digits), "number")


def _spelled(words: list[str]) -> str:
    if not words:
        return ""
    whole = spelled_digits(words)
    return whole if whole is not None else "".join(spelled_digits([w]) or "" for w in words)


def digit_runs(text: str) -> Iterator[tuple[int, int, str, int]]:
    """(start, end, digits, number words) of every run of digits and spelled-out digits in
    canonical ``text``, whatever separates them: "219 09_9999", "four five six"."""
    for match in _RUN.finditer(text):
        digits: list[str] = []
        words: list[str] = []
        count = 0
        for part in _RUN_PART.findall(match.group()):
            if part.isdigit():
                digits.append(_spelled(words))
                words = []
                digits.append(part)
            elif part.lower() in _SCALE:
                digits.append(_spelled(words))
                words = []
                count += 1
            else:
                words.append(part)
                count += 1
        digits.append(_spelled(words))
        yield match.start(), match.end(), "".join(digits), count


def _runs(text: str) -> Iterator[Finding]:
    for start, end, digits, words in digit_runs(text):
        if words and words < 3 and len(digits) == words:
            continue  # "one or two", "oh": not a spelled number
        if len(digits) >= 5:
            yield Finding(_digit_kind(digits), start, end)


def number_word_runs(text: str) -> Iterator[tuple[int, int]]:
    """Spans of two or more spelled-out numbers in a row ("four four one two"): the
    scrubber replaces them as it replaces any digit."""
    for start, end, _, words in digit_runs(text):
        if words >= 2:
            yield start, end


def _phones(text: str) -> Iterator[Finding]:
    for match in phonenumbers.PhoneNumberMatcher(text, "US", phonenumbers.Leniency.POSSIBLE):
        yield Finding("phone", match.start, match.end)


def _shapes(text: str, depth: int) -> Iterator[Finding]:
    has_digit = _DIGIT.search(text) is not None
    if "@" in text:
        yield from (Finding("email", *m.span()) for m in _EMAIL_AT.finditer(text))
    lower = text.lower()
    if " at " in lower or " arroba " in lower or "@" in text:
        yield from (Finding("email", *m.span()) for m in _EMAIL_WORDS.finditer(text))
        yield from (Finding("email", *m.span()) for m in _EMAIL_PROVIDER.finditer(text))
    if "_" in text or "@" in text or "." in text:
        yield from (Finding("handle", *m.span()) for m in _HANDLE.finditer(text))
    if "slash" in lower or "barra" in lower or "/" in text:
        yield from (Finding("url", *m.span()) for m in _URL_WORDS.finditer(text))
    if "/" in text or "www" in text.lower() or "=" in text:
        for match in _URL.finditer(text):
            end = match.start() + len(match.group().rstrip(_TRAILING_PUNCTUATION))
            yield Finding("url", match.start(), end)
    if has_digit:
        yield from (Finding("ip", *m.span()) for m in _IPV4.finditer(text))
        yield from (Finding("date", *m.span()) for m in _DATE.finditer(text))
        yield from _runs(text)
        yield from (Finding("number", *m.span()) for m in _ALNUM_ID.finditer(text))
        yield from (Finding("number", *m.span(1)) for m in _ID_KEYWORD.finditer(text))
        yield from (Finding("number", *m.span()) for m in _PLATE.finditer(text))
        if len(_DIGIT.findall(text)) >= 7:
            yield from _phones(text)
        yield from address_spans(text)
    else:
        if not _NUMBER_WORDS.isdisjoint(_LOWER_WORD.findall(text.lower())):
            yield from _runs(text)
        # Dates in words only ("catorce de julio", "july the fourteenth").
        yield from (Finding("date", *m.span()) for m in _DATE.finditer(text))
    if text.count(":") >= 2:
        for match in _IPV6.finditer(text):
            address = match.group().split("%", 1)[0]
            # "::" alone or "::1" says nothing about a person: four hex digits at least.
            if sum(c in _HEX_DIGITS for c in address) >= 4 and _is_ip(address):
                yield Finding("ip", *match.span())
    if depth < 2:
        for start, end, decoded in decoded_candidates(text):
            if any(True for _ in _shapes(canonical(decoded), depth + 1)):
                yield Finding("encoded", start, end)


def find_identifiers(text: str) -> list[Finding]:
    """Every identifier shape in ``text`` (canonical: see :func:`canonical`), sorted."""
    return sorted(set(_shapes(text, 0)), key=lambda f: (f.start, -f.end))


def identifier_kinds(text: str) -> tuple[str, ...]:
    """The kinds of identifier shape in any spelling of ``text`` (empty: none found).

    Kinds only, never the matched text, so callers may log or raise with them.
    """
    return tuple(sorted({finding.kind for finding in _shapes(canonical(text), 0)}))
