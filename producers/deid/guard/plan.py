"""One person's needles, cached and planned: which of them a buffer can hold at all.

A journey is several events of one person, so the per-value needles and the per-person
plan are kept in small bounded caches; the plan's pre-check on the buffer's runs settles
most events without searching a single needle.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Final

from producers.deid.guard.boundary import _DIGIT
from producers.deid.guard.needles import (
    _N,
    _dob_needles,
    _email_needles,
    _Group,
    _group,
    _Identity,
    _name_needles,
    _number_needles,
    _phone_needles,
    _phrase_needles,
    _rest_groups,
    _ssn_needles,
    _unique_longest_first,
    _ValueNeedles,
    _zip_needles,
)
from producers.deid.guard.runs import _ALWAYS, _AT, _RUNS, _WORD_ALPHABET

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
    """The needles of :func:`~producers.deid.guard.needles._needles`, in the same order,
    per value and from the caches."""
    names = [
        _cached_name_needles(field, value)
        for field in ("first_name", "middle_name", "last_name")
        if (value := getattr(raw, field))
    ]
    return (*names, *_rest_groups(raw, _CACHED))


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
