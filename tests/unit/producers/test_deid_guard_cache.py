"""The guard's caches and its find-first check change nothing: same needles, same verdicts.

The needles :class:`PiiGuard` holds (taken from per-person and per-value caches) must equal
those built from scratch, in the same order (the order decides which field a leak names), and
:meth:`PiiGuard.check` must reach the same verdict as a needle-by-needle reference scan.
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers import PiiGuard, PiiLeak, RawRecord
from producers.deid.guard import Needle
from tests.support.people import raw_records
from tests.support.raw_records import raw

# ``producers.deid.guard`` the name is shadowed by the ``guard`` function in the package.
_guard = importlib.import_module("producers.deid.guard.needles")
_search = importlib.import_module("producers.deid.guard.search")


def _reference_verdict(
    needles: tuple[Needle, ...], value: bytes, opaque: tuple[bytes, ...]
) -> tuple[str, str, bool] | None:
    """The scan as it was before the find-first shortcut: every needle through ``_find``."""
    buffer, locations = _search._join(value, (), None)
    spans = _search._Spans(buffer, opaque)
    for needle in needles:
        position = _search._find(buffer, needle, spans)
        if position >= 0:
            return needle.field, _search._locate(locations, position), False
    for kind, position in _search._shape_leaks(buffer, spans):
        return kind, _search._locate(locations, position), True
    return None


def _verdict(
    guard: PiiGuard, value: bytes, opaque: tuple[bytes, ...]
) -> tuple[str, str, bool] | None:
    try:
        guard.check(value, (), opaque=opaque)
    except PiiLeak as leak:
        return leak.field, leak.location, leak.pattern
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=raw_records())
def test_cached_needles_equal_needles_built_from_scratch(case: tuple[RawRecord, object]) -> None:
    record, _ = case
    # De-duplicated and ordered here, independently of the guard: first of each (value,
    # boundary) in generation order, then longest first (a stable sort keeps ties in order).
    unique: dict[tuple[bytes, object], Needle] = {}
    for needle in _guard._needles(_guard._Identity.of(record)):
        unique.setdefault((needle.value, needle.boundary), needle)
    fresh = tuple(sorted(unique.values(), key=lambda n: -len(n.value)))
    assert _guard._uncached_needles(record) == fresh
    assert PiiGuard(record)._needles == fresh
    assert PiiGuard(record)._needles == fresh  # and again, now from the per-person cache
    assert len(fresh) > 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=raw_records(),
    picks=st.lists(st.integers(0, 10_000), max_size=4),
    fillers=st.lists(
        st.sampled_from([b"", b" ", b"x", b"7", b".", b"[", b"]", b"\xc3\xa9", b'"', b"1."]),
        min_size=10,
        max_size=10,
    ),
    opaque_pick=st.booleans(),
)
def test_check_reaches_the_reference_verdict(
    case: tuple[RawRecord, object], picks: list[int], fillers: list[bytes], opaque_pick: bool
) -> None:
    record, _ = case
    guard = PiiGuard(record)
    needles = guard._needles
    # A buffer of needle values glued to bytes that do or do not bound them.
    value = b'{"a":"' + fillers[0]
    for i, pick in enumerate(picks):
        value += needles[pick % len(needles)].value + fillers[1 + i] + b" ok " + fillers[5 + i]
    value += b'"}'
    opaque = (needles[picks[0] % len(needles)].value,) if picks and opaque_pick else ()
    assert _verdict(guard, value, opaque) == _reference_verdict(needles, value, opaque)


def test_a_fixed_leak_is_still_found_after_the_cache_is_warm() -> None:
    record = raw()
    PiiGuard(record)
    with pytest.raises(PiiLeak) as caught:
        PiiGuard(record).check(b'{"x":"Quintanilla"}', ())
    assert caught.value.field == "last_name"
