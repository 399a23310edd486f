"""The spellings of one identifier value that count as a leak, made into needles.

Each needle is a pure function of one value (a name, a street, a phone number, a date of
birth), so :mod:`~producers.deid.guard.plan` can cache them per value; the functions that
build a record's needles from scratch stay here as the reference for those caches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Final, Generic, NamedTuple, TypeVar

from producers.deid.guard.boundary import _ALNUM, _DIGITS, _NONE, _WORD, _Boundary
from producers.deid.guard.runs import _needle_key
from producers.deid.normalize import fold, name_parts
from producers.deid.raw import RawRecord

__all__ = ["MIN_WORD_LENGTH", "Needle"]

T = TypeVar("T")

#: Shortest name, city or street word the guard searches for (see the package docstring).
MIN_WORD_LENGTH: Final = 3
#: Digit-only values shorter than this only match between non-alphanumeric bytes.
_SHORT_DIGITS: Final = 7


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


def _readable(needle: _N) -> Needle:
    return Needle(needle[0], needle[1], _Boundary(needle[2]))


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


_FRESH: Final = _ValueNeedles[Iterable[_N]](
    _ssn_needles,
    _dob_needles,
    _zip_needles,
    _phrase_needles,
    _phone_needles,
    _email_needles,
    _number_needles,
)


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
