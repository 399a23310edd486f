"""PII guard: the last check on the exact bytes that would go to Kafka.

Scrubbing and generalization should already have removed every identifier; the guard
proves it on the serialized record (key, value and every header) before it is signed and
sent, and raises :class:`~producers.errors.PiiLeak` naming the raw field, never the value.

It looks for two things:

* **the record's own identifier values**, each in the spellings a leak would take: as
  written, upper case, title case, without diacritics; SSN, phone and account digits bare
  and in the usual separators; the date of birth in a dozen numeric and textual formats; the
  e-mail address in any case; JSON ``\\u`` escapes of non-ASCII values;
* **generic shapes** any identifier of a kind has: a formatted SSN, an e-mail address, a
  formatted US phone number.

Choices that keep it fast and free of false alarms (it runs on every event):

* Needles are computed once per record (:class:`PiiGuard`) and searched in the record's
  fields joined into one buffer. The needles of one value (a name, a street, a phone
  number, a date of birth) are a pure function of it and kept in small bounded in-memory
  caches, since the same people and places recur from event to event (a journey is several
  events of one person).
* A needle is only searched when its longest letter or digit run occurs in the buffer as a
  whole run (a necessary condition, see ``_Plan``), and the generic shapes only when a cheap
  hint says one may occur: most events settle with one translation of the buffer and a few
  C-level finds, with exactly the verdict of the full scan.
* Words (names, street, city) only match as whole words (no ASCII letter and no non-ASCII
  byte on either side): "Ann" inside "Annual" is not a disclosure of the name Ann. Name
  parts shorter than three letters are not searched at all: "Al", "Li" or "Ng" also spell
  state codes ("AL") and ordinary text; free-text scrubbing still removes them.
* Words are not searched in lower case: the contract's own vocabulary (field names,
  life-experience and service slugs like ``having-a-child``) is lower case, and a person
  named Child or Key must still be able to publish. Scrubbing is case-insensitive, so a
  lower-case name never reaches the guard through free text.
* Short digit values (ZIP, short account numbers) only match between non-alphanumeric
  bytes and not as part of a decimal number, so a ZIP cannot be "found" inside a UUID, a
  token or a ``wait_seconds`` of 20001.0.
* Occurrences inside the caller's *opaque* values (the journey token: a keyed hash, random
  by construction) and inside scrubbing placeholders such as ``[NAME]`` are ignored.
* Streets and cities are searched as whole phrases only: "Main" or "Street" alone
  identifies nobody.

One consequence is deliberate: an event that happens on the person's date of birth (a
newborn's record on the day of birth) carries that date in ``occurred_at`` and is refused,
because publishing it would disclose the birth date.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import Final, Generic, NamedTuple, TypeVar

from producers.deid.normalize import fold, name_parts
from producers.deid.raw import RawRecord
from producers.deid.scrub import PLACEHOLDERS
from producers.errors import PiiLeak

__all__ = ["MIN_WORD_LENGTH", "Needle", "PiiGuard", "guard"]

T = TypeVar("T")

#: Shortest name, city or street word the guard searches for (see the module docstring).
MIN_WORD_LENGTH: Final = 3
#: Digit-only values shorter than this only match between non-alphanumeric bytes.
_SHORT_DIGITS: Final = 7


class _Boundary(StrEnum):
    # A str enum: hashing it (needle de-duplication) is C-level, a plain Enum hashes in Python.
    WORD = "word"  # no letter (ASCII or any non-ASCII byte) on either side
    DIGITS = "digits"  # no digit on either side
    ALNUM = "alnum"  # no letter, digit or non-ASCII byte on either side
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Needle:
    """One byte string to look for, the raw field it comes from, and how it must be bounded.

    The guard itself keeps needles as plain tuples (``_N``); this is their readable form.
    """

    field: str
    value: bytes
    boundary: _Boundary

    def __repr__(self) -> str:
        return f"Needle(field={self.field!r}, <redacted>)"

    __str__ = __repr__


# The guard's needles are plain tuples: (field, value, boundary, key, size), with the
# boundary as a plain str (a _Boundary value), ``key`` the run a buffer must hold for the
# needle to occur in it (see _Plan) and ``size`` = len(value). A tuple of strs, bytes and
# ints is untracked by the garbage collector: the caches of a long-running publisher (tens
# of thousands of needles) then add nothing to its collections, which otherwise scan every
# cached needle again and again as new people arrive.
_N = tuple[str, bytes, str, bytes, int]
# One value's needles in generation order, and their distinct keys: what the per-value caches
# hold (plain tuples again, so untracked by the garbage collector).
_Group = tuple[tuple[_N, ...], tuple[bytes, ...]]


def _group(needles: Iterable[_N]) -> _Group:
    kept = tuple(needles)
    return kept, tuple(dict.fromkeys(needle[3] for needle in kept))


_WORD: Final = "word"
_DIGITS: Final = "digits"
_ALNUM: Final = "alnum"
_NONE: Final = "none"


def _readable(needle: _N) -> Needle:
    return Needle(needle[0], needle[1], _Boundary(needle[2]))


_LETTER: Final = frozenset(range(ord("A"), ord("Z") + 1)) | frozenset(range(ord("a"), ord("z") + 1))
_DIGIT: Final = frozenset(range(ord("0"), ord("9") + 1))
_NON_ASCII: Final = frozenset(range(0x80, 0x100))
_BLOCKING: Final[dict[str, frozenset[int]]] = {
    _Boundary.WORD: _LETTER | _NON_ASCII,
    _Boundary.DIGITS: _DIGIT,
    _Boundary.ALNUM: _LETTER | _DIGIT | _NON_ASCII,
    _Boundary.NONE: frozenset(),
}

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Generic shapes. Regular expressions over every event would dominate the guard's cost, so
# the buffer is reduced to a *shape mask* once (every digit becomes "0", the separators stay,
# every other byte becomes "x") and each shape is one C-speed ``bytes.find`` of a literal.
_SHAPE_MASK: Final = bytes(
    ord("0") if chr(b).isdigit() and b < 0x80 else b if chr(b) in "-. ()" else ord("x")
    for b in range(256)
)
_SEPARATORS: Final = ("-", ".", " ")
_SHAPES: Final[tuple[tuple[str, bytes], ...]] = (
    *(("ssn", f"000{s}00{s}0000".encode()) for s in _SEPARATORS),
    *(("phone", f"000{a}000{b}0000".encode()) for a in _SEPARATORS for b in _SEPARATORS),
    *(("phone", f"(000){a}000{b}0000".encode()) for a in ("", " ") for b in _SEPARATORS),
)
_EMAIL: Final = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Every digit-bounded shape above ends in a 2- or 3-digit group after a separator (or the
# ")" of an area code), a separator and 4 digits not followed by a digit: when the mask has
# no such run, no shape can match and the scan below is skipped (it runs only on a hint).
# (The regular expression starts with the literal 0000, which re searches for at C speed.)
_SHAPE_HINT: Final = re.compile(rb"0000(?:(?<=[-. )]00[-. ]0000)|(?<=[-. )]000[-. ]0000))(?!0)")


def _shape_leaks(buffer: bytes, opaque: _Spans) -> Iterator[tuple[str, int]]:
    """Generic identifier shapes in ``buffer``: (kind, position), outside opaque values."""
    mask = buffer.translate(_SHAPE_MASK)
    for kind, shape in _SHAPES:
        at = mask.find(shape)
        while at >= 0:
            end = at + len(shape)
            digit_bounded = (at == 0 or mask[at - 1] != 0x30) and (
                end == len(mask) or mask[end] != 0x30
            )
            if digit_bounded and not opaque.covers(at, end):
                yield kind, at
            at = mask.find(shape, at + 1)
    if b"@" in buffer:
        for match in _EMAIL.finditer(buffer):
            if not opaque.covers(match.start(), match.end()):
                yield "email", match.start()


class _Identity(NamedTuple):
    """A raw record's identifier values: hashable, so needles can be cached per person."""

    first_name: str | None
    middle_name: str | None
    last_name: str | None
    ssn: str | None
    date_of_birth: date
    street_address: str | None
    city: str | None
    zip: str
    phone: str | None
    email: str | None
    account_number: str | None
    application_id: str | None

    def __repr__(self) -> str:
        return "_Identity(<redacted>)"

    @classmethod
    def of(cls, raw: RawRecord) -> _Identity:
        return cls(
            raw.first_name,
            raw.middle_name,
            raw.last_name,
            raw.ssn,
            raw.date_of_birth,
            raw.street_address,
            raw.city,
            raw.zip,
            raw.phone,
            raw.email,
            raw.account_number,
            raw.application_id,
        )


def _spellings(text: str) -> set[str]:
    """A value as written, upper case, title case, and the same without diacritics."""
    forms = {text, text.upper(), text.title()}
    folded = fold(text)
    forms |= {folded, folded.title()}
    return forms


def _encodings(text: str) -> Iterator[bytes]:
    """UTF-8, and JSON's ``\\u`` escaping when the text is not ASCII."""
    yield text.encode("utf-8")
    if not text.isascii():
        yield json.dumps(text)[1:-1].encode("ascii")


def _n(field: str, value: bytes, boundary: str) -> _N:
    return (field, value, boundary, _needle_key(value, boundary), len(value))


def _form_needles(field: str, candidates: Iterable[str]) -> Iterator[_N]:
    for candidate in candidates:
        if len(fold(candidate)) < MIN_WORD_LENGTH:
            continue
        for form in _spellings(candidate):
            if form.islower() or len(form) < MIN_WORD_LENGTH:
                continue
            for encoded in _encodings(form):
                yield _n(field, encoded, _WORD)


def _name_needles(field: str, name: str) -> Iterator[_N]:
    """A name: each word, the whole name, and its canonical linkage form (``OBRIENNUNEZ``)."""
    words = [w for w in re.split(r"[\W_]+", name) if w]
    # Each word, the whole name as written, with spaces, and glued ("OBrien").
    yield from _form_needles(field, {*words, " ".join(words), "".join(words), name})
    joined = "".join(name_parts(name))
    if len(joined) >= MIN_WORD_LENGTH:
        yield _n(field, joined.encode("utf-8"), _WORD)


def _phrase_needles(field: str, phrase: str) -> Iterator[_N]:
    """A street or city: the whole phrase, and for a street also the part after the number.

    Single words are not searched: "Main", "North" or "Street" identify nobody.
    """
    words = [w for w in re.split(r"[\W_]+", phrase) if w]
    # As written, and without punctuation ("123 Main St." → "123 Main St").
    candidates = {phrase, " ".join(phrase.split()), " ".join(words)}
    if len(words) > 1 and words[0].isdigit():
        candidates.add(" ".join(words[1:]))
    yield from _form_needles(field, candidates)


def _digit_needles(field: str, digits: str, formatted: Iterable[str]) -> Iterator[_N]:
    short = len(digits) < _SHORT_DIGITS
    yield _n(field, digits.encode("ascii"), _ALNUM if short else _DIGITS)
    for text in formatted:
        yield _n(field, text.encode("utf-8"), _DIGITS)


def _dob_formats(dob: date) -> Iterator[str]:
    y, m, d = f"{dob.year:04d}", f"{dob.month:02d}", f"{dob.day:02d}"
    month = _MONTHS[dob.month - 1]
    yield from (
        f"{y}-{m}-{d}",
        f"{m}/{d}/{y}",
        f"{dob.month}/{dob.day}/{y}",
        f"{m}-{d}-{y}",
        f"{y}{m}{d}",
        f"{m}{d}{y}",
        f"{d}/{m}/{y}",
        f"{d}.{m}.{y}",
        f"{y}/{m}/{d}",
        f"{m}/{d}/{y[2:]}",
        f"{month} {dob.day}, {y}",
        f"{month[:3]} {dob.day}, {y}",
        f"{dob.day} {month} {y}",
    )


def _phone_needles(phone: str) -> Iterator[_N]:
    digits = re.sub(r"[^0-9]", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        a, b, c = digits[:3], digits[3:6], digits[6:]
        yield from _digit_needles(
            "phone",
            digits,
            (
                f"{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"{a} {b} {c}",
                f"({a}) {b}-{c}",
                f"({a}){b}-{c}",
                f"1{digits}",
                f"{b}-{c}",
            ),
        )
    elif len(digits) >= _SHORT_DIGITS:
        yield _n("phone", digits.encode("ascii"), _DIGITS)
    if len(phone) >= _SHORT_DIGITS:
        yield _n("phone", phone.encode("utf-8"), _DIGITS)


def _dob_needles(dob: date) -> Iterator[_N]:
    for text in _dob_formats(dob):
        digits_only = text.isdigit()
        boundary = _DIGITS if not digits_only or len(text) >= _SHORT_DIGITS else _ALNUM
        yield _n("date_of_birth", text.encode("ascii"), boundary)


def _needles(raw: _Identity) -> Iterator[Needle]:
    """Every needle of one record, built from scratch (:class:`PiiGuard` uses the caches)."""
    for needle in _raw_needles(raw):
        yield _readable(needle)


def _raw_needles(raw: _Identity) -> Iterator[_N]:
    for field in ("first_name", "middle_name", "last_name"):
        value = getattr(raw, field)
        if value:
            yield from _name_needles(field, value)
    for group in _rest_groups(raw, _FRESH):
        yield from group


def _ssn_needles(s: str) -> tuple[_N, ...]:
    return tuple(
        _digit_needles(
            "ssn",
            s,
            (f"{s[:3]}-{s[3:5]}-{s[5:]}", f"{s[:3]} {s[3:5]} {s[5:]}", f"{s[:3]}.{s[3:5]}.{s[5:]}"),
        )
    )


def _zip_needles(zip5: str) -> tuple[_N, ...]:
    return (_n("zip", zip5.encode("ascii"), _ALNUM),)


def _email_needles(email: str) -> tuple[_N, ...]:
    return tuple(
        _n("email", form.encode("utf-8"), _NONE) for form in {email, email.lower(), email.upper()}
    )


def _number_needles(field: str, value: str) -> tuple[_N, ...]:
    """An account number or application id: as written, upper case, and its digits."""
    needles: list[_N] = []
    if len(value) >= 4:
        needles += (_n(field, form.encode("utf-8"), _ALNUM) for form in {value, value.upper()})
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) >= 6 and digits != value:
        needles.append(_n(field, digits.encode("ascii"), _DIGITS))
    return tuple(needles)


@dataclass(frozen=True)
class _ValueNeedles(Generic[T]):
    """How the needles of each value after the names are made: fresh or from the caches."""

    ssn: Callable[[str], T]
    dob: Callable[[date], T]
    zip: Callable[[str], T]
    phrase: Callable[[str, str], T]
    phone: Callable[[str], T]
    email: Callable[[str], T]
    number: Callable[[str, str], T]


def _rest_groups(raw: _Identity, make: _ValueNeedles[T]) -> list[T]:
    """The needles after the names, per value, in order.

    A person's events from several agencies make several identities (each agency knows other
    fields) with mostly the same values: per-value caches serve all of them.
    """
    groups: list[T] = []
    if raw.ssn:
        groups.append(make.ssn(raw.ssn))
    groups.append(make.dob(raw.date_of_birth))
    groups.append(make.zip(raw.zip))
    if raw.street_address:
        groups.append(make.phrase("street_address", raw.street_address))
    if raw.city:
        groups.append(make.phrase("city", raw.city))
    if raw.phone:
        groups.append(make.phone(raw.phone))
    if raw.email:
        groups.append(make.email(raw.email))
    if raw.account_number is not None:
        groups.append(make.number("account_number", raw.account_number))
    if raw.application_id is not None:
        groups.append(make.number("application_id", raw.application_id))
    return groups


_BY_SIZE: Final = itemgetter(4)


# Bounded: each entry holds one value's needles (a few hundred bytes); the bound keeps a
# long-running publisher's memory flat however many distinct people it sees.
_CACHE_SIZE: Final = 4096


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_name_needles(field: str, name: str) -> _Group:
    return _group(_name_needles(field, name))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_phrase_needles(field: str, phrase: str) -> _Group:
    return _group(_phrase_needles(field, phrase))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_phone_needles(phone: str) -> _Group:
    return _group(_phone_needles(phone))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_dob_needles(dob: date) -> _Group:
    return _group(_dob_needles(dob))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_ssn_needles(ssn: str) -> _Group:
    return _group(_ssn_needles(ssn))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_zip_needles(zip5: str) -> _Group:
    return _group(_zip_needles(zip5))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_email_needles(email: str) -> _Group:
    return _group(_email_needles(email))


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_number_needles(field: str, value: str) -> _Group:
    return _group(_number_needles(field, value))


_FRESH: Final = _ValueNeedles[Iterable[_N]](
    _ssn_needles,
    _dob_needles,
    _zip_needles,
    _phrase_needles,
    _phone_needles,
    _email_needles,
    _number_needles,
)
_CACHED: Final = _ValueNeedles[_Group](
    _cached_ssn_needles,
    _cached_dob_needles,
    _cached_zip_needles,
    _cached_phrase_needles,
    _cached_phone_needles,
    _cached_email_needles,
    _cached_number_needles,
)


def _needle_groups(raw: _Identity) -> tuple[_Group, ...]:
    """The needles of :func:`_needles`, in the same order, per value and from the caches."""
    names = [
        _cached_name_needles(field, value)
        for field in ("first_name", "middle_name", "last_name")
        if (value := getattr(raw, field))
    ]
    return (*names, *_rest_groups(raw, _CACHED))


def _unique_longest_first(groups: Iterable[Iterable[_N]]) -> tuple[_N, ...]:
    """One needle per (value, boundary), the first generated; longest first, else in order."""
    unique: dict[tuple[bytes, str], _N] = {}
    for group in groups:
        for needle in group:
            unique.setdefault((needle[1], needle[2]), needle)
    # Longest first: when two needles overlap the more specific one is reported.
    return tuple(sorted(unique.values(), key=_BY_SIZE, reverse=True))


def _uncached_needles(raw: RawRecord) -> tuple[Needle, ...]:
    """What :class:`PiiGuard` holds, computed from scratch (the reference for the caches)."""
    return tuple(map(_readable, _unique_longest_first([_raw_needles(_Identity.of(raw))])))


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


class _Plan:
    """One person's needles and the runs a buffer must hold for one of them to occur.

    Made for every new person from the per-value caches, so it only gathers the values'
    keys; the needles themselves are ordered (:func:`_unique_longest_first`) only for the
    keys a buffer holds, which for a clean record is none.
    """

    __slots__ = ("_always", "_at", "_digit_runs", "_groups", "_word_runs")

    def __init__(self, groups: tuple[_Group, ...]) -> None:
        self._groups = groups
        keys: set[bytes] = set()
        for _, group_keys in groups:
            keys.update(group_keys)
        self._always = _ALWAYS in keys
        self._at = _AT in keys
        keys -= {_ALWAYS, _AT}
        self._digit_runs = tuple(run for run in keys if run[0] in _DIGIT)
        self._word_runs = tuple(run for run in keys if run[0] not in _DIGIT)

    def __repr__(self) -> str:
        return f"_Plan(<{len(self.needles)} needles>)"

    @property
    def needles(self) -> tuple[_N, ...]:
        """Every needle, de-duplicated, longest first (else in generation order)."""
        return _unique_longest_first(needles for needles, _ in self._groups)

    def needles_for(self, hits: set[bytes]) -> tuple[_N, ...]:
        """The needles whose key is in ``hits``, in the order of :attr:`needles`.

        Filtering before de-duplication keeps that order: a needle's key is a function of
        its (value, boundary), so a duplicate has the key of the needle it duplicates, and
        the stable sort keeps the relative order of what remains.
        """
        return _unique_longest_first(
            [needle for needle in needles if needle[3] in hits] for needles, _ in self._groups
        )

    def hits(self, buffer: bytes) -> set[bytes]:
        """The keys in ``buffer``: only needles with one of them can occur in it."""
        found: set[bytes] = set()
        if self._always:
            found.add(_ALWAYS)
        if self._at and b"@" in buffer:
            found.add(_AT)
        runs = buffer.translate(_RUNS)
        find = runs.find
        size = len(runs)
        for keys, alphabet in ((self._word_runs, _WORD_ALPHABET), (self._digit_runs, _DIGIT)):
            for run in keys:
                at = find(run)
                while at >= 0:
                    end = at + len(run)
                    if (at == 0 or runs[at - 1] not in alphabet) and (
                        end == size or runs[end] not in alphabet
                    ):
                        found.add(run)
                        break
                    at = find(run, at + 1)
        return found


@lru_cache(maxsize=_CACHE_SIZE)
def _record_plan(identity: _Identity) -> _Plan:
    """All needles of one person's identifiers, planned (the same person's events share it)."""
    return _Plan(_needle_groups(identity))


class PiiGuard:
    """The PII guard of one raw record: needles precomputed, :meth:`check` per serialization.

    Holds identifier values in memory; its repr shows only the number of needles.
    """

    __slots__ = ("_plan",)

    def __init__(self, raw: RawRecord) -> None:
        self._plan = _record_plan(_Identity.of(raw))

    def __repr__(self) -> str:
        return f"PiiGuard(<{len(self._plan.needles)} needles>)"

    @property
    def _needles(self) -> tuple[Needle, ...]:
        """The needles in search order, readable (for tests and debugging)."""
        return tuple(map(_readable, self._plan.needles))

    __str__ = __repr__

    def check(
        self,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        *,
        key: bytes | None = None,
        opaque: Iterable[bytes] = (),
    ) -> None:
        """Raise :class:`PiiLeak` if ``key``, ``value`` or any header holds an identifier.

        ``opaque`` lists byte strings known to be non-identifying by construction (the
        journey token): needles found inside them are ignored.
        """
        parts = [value] if key is None else [key, value]
        for name, header_value in headers:
            parts += (name.encode("utf-8", "replace"), header_value)
        # The buffer _join makes; where each field starts is only worked out for a leak.
        buffer = _SEPARATOR.join(parts)
        opaque_spans = _Spans(buffer, tuple(o for o in opaque if o))
        hits = self._plan.hits(buffer)
        # Usually none: then no needle can occur. Otherwise the needles go in their order
        # (longest first), which decides what a leak is reported as.
        for field, needle, boundary, _, _ in self._plan.needles_for(hits) if hits else ():
            at = buffer.find(needle)
            if at >= 0:
                position = _find_at(buffer, needle, boundary, opaque_spans, at)
                if position >= 0:
                    raise PiiLeak(field, _locate(_join(value, headers, key)[1], position))
        if b"@" not in buffer and _SHAPE_HINT.search(buffer.translate(_SHAPE_MASK)) is None:
            return  # no generic shape can occur (see _SHAPE_HINT)
        for kind, position in _shape_leaks(buffer, opaque_spans):
            raise PiiLeak(kind, _locate(_join(value, headers, key)[1], position), pattern=True)


def guard(
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    raw: RawRecord,
    *,
    key: bytes | None = None,
    opaque: Iterable[bytes] = (),
) -> None:
    """Check one serialized record against ``raw`` (see :class:`PiiGuard`)."""
    PiiGuard(raw).check(value, headers, key=key, opaque=opaque)


# Fields are joined with a byte that no needle holds, so nothing matches across two fields.
_SEPARATOR: Final = b"\x00"


def _join(
    value: bytes, headers: Sequence[tuple[str, bytes]], key: bytes | None
) -> tuple[bytes, list[tuple[int, str]]]:
    parts: list[bytes] = [] if key is None else [key]
    names: list[str] = [] if key is None else ["key"]
    parts.append(value)
    names.append("value")
    for name, header_value in headers:
        parts.append(name.encode("utf-8", "replace"))
        names.append("header name")
        parts.append(header_value)
        names.append(f"header {name}" if name.isascii() and name.isprintable() else "header")
    locations: list[tuple[int, str]] = []
    offset = 0
    for part, where in zip(parts, names, strict=True):
        locations.append((offset, where))
        offset += len(part) + len(_SEPARATOR)
    return _SEPARATOR.join(parts), locations


def _locate(locations: list[tuple[int, str]], position: int) -> str:
    where = locations[0][1]
    for start, name in locations:
        if start > position:
            break
        where = name
    return where


class _Spans:
    """Where the opaque values occur in the buffer; computed only once a needle is found."""

    __slots__ = ("_buffer", "_found", "_opaque")

    def __init__(self, buffer: bytes, opaque: tuple[bytes, ...]) -> None:
        self._buffer = buffer
        self._opaque = opaque
        self._found: list[tuple[int, int]] | None = None

    def covers(self, start: int, end: int) -> bool:
        if not self._opaque:
            return False
        if self._found is None:
            self._found = []
            for item in self._opaque:
                at = self._buffer.find(item)
                while at >= 0:
                    self._found.append((at, at + len(item)))
                    at = self._buffer.find(item, at + 1)
        return any(s <= start and end <= e for s, e in self._found)


_PLACEHOLDER_BYTES: Final = frozenset(word.encode("ascii") for word in PLACEHOLDERS)


def _find(buffer: bytes, needle: Needle, opaque: _Spans, start: int | None = None) -> int:
    """Position of the first acceptable occurrence of ``needle`` in ``buffer``, or -1.

    ``start`` is the first occurrence when the caller already found it.
    """
    return _find_at(buffer, needle.value, needle.boundary, opaque, start)


def _find_at(
    buffer: bytes, value: bytes, boundary: str, opaque: _Spans, start: int | None = None
) -> int:
    """:func:`_find` of a needle given as its value and boundary."""
    blocking = _BLOCKING[boundary]
    is_placeholder = value in _PLACEHOLDER_BYTES
    at = buffer.find(value) if start is None else start
    while at >= 0:
        end = at + len(value)
        bounded = (at == 0 or buffer[at - 1] not in blocking) and (
            end == len(buffer) or buffer[end] not in blocking
        )
        if bounded and boundary == _ALNUM:
            # Part of a decimal number ("wait_seconds":20001.0) is not a ZIP either.
            bounded = not (
                (buffer[end : end + 1] == b"." and buffer[end + 1 : end + 2].isdigit())
                or (buffer[at - 1 : at] == b"." and buffer[at - 2 : at - 1].isdigit())
            )
        inside_placeholder = (
            is_placeholder and buffer[at - 1 : at] == b"[" and buffer[end : end + 1] == b"]"
        )
        if bounded and not inside_placeholder and not opaque.covers(at, end):
            return at
        at = buffer.find(value, at + 1)
    return -1
