"""The guard's run pre-filter and shape hint change nothing: same verdict as the full scan.

:meth:`PiiGuard.check` only searches the needles whose key run occurs in the buffer, and
only scans for generic shapes when a cheap hint matches. The reference here is the scan as
it was before those shortcuts: every needle through ``_find`` over the ``_join`` buffer,
then every shape. Both must name the same field at the same location (or both pass), on
records made by the simulator and by Hypothesis, with identifiers and identifier-shaped
text injected into the key, the value and the headers.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.catalog import load_catalog
from contracts.envelope import Record, encode_unsigned
from producers import DEFAULT_TOKEN_RULES, DeidPolicy, PiiGuard, PiiLeak, RawRecord, deidentify
from producers.deid import opaque_values
from producers.simulator.engine import Simulation
from producers.simulator.policy import policy_for
from tests.support.people import LINKAGE_KEYS, raw_records
from tests.support.raw_records import keys

# ``producers.deid.guard`` the name is shadowed by the ``guard`` function in the package.
_guard = importlib.import_module("producers.deid.guard.search")
_needles = importlib.import_module("producers.deid.guard.needles")

Verdict = tuple[str, str, bool] | None
Headers = tuple[tuple[str, bytes], ...]


def _reference_verdict(
    raw: RawRecord, value: bytes, headers: Headers, key: bytes | None, opaque: Sequence[bytes]
) -> Verdict:
    """The full scan: every needle of the person, longest first, then every shape."""
    buffer, locations = _guard._join(value, headers, key)
    spans = _guard._Spans(buffer, tuple(o for o in opaque if o))
    for needle in _needles._uncached_needles(raw):
        position = _guard._find(buffer, needle, spans)
        if position >= 0:
            return needle.field, _guard._locate(locations, position), False
    for kind, position in _guard._shape_leaks(buffer, spans):
        return kind, _guard._locate(locations, position), True
    return None


def _verdict(
    raw: RawRecord, value: bytes, headers: Headers, key: bytes | None, opaque: Sequence[bytes]
) -> Verdict:
    try:
        PiiGuard(raw).check(value, headers, key=key, opaque=opaque)
    except PiiLeak as leak:
        return leak.field, leak.location, leak.pattern
    return None


# Bytes around an injected value: some bound it (space, quote, separator), some extend it
# (a letter, a digit, a non-ASCII letter, a decimal point), some are placeholder brackets.
FILLERS = (b"", b" ", b"x", b"7", b".", b"[", b"]", b"\xc3\xa9", b'"', b"1.", b"-", b"A")
# Identifier-shaped text that is nobody's own value.
SHAPES = (
    b"123-45-6789",
    b"123 45 6789",
    b"123.45.6789",
    b"202-555-0143",
    b"(202) 555-0143",
    b"(202)555.0143",
    b"202 555 0143",
    b"2025550143",
    b"someone@example.org",
    b"12-3456",
    b"1234-5678",
)


def _inject(record: Record, where: int, text: bytes, before: bytes, after: bytes) -> Record:
    """``record`` with ``before + text + after`` put into the value, the key or a header."""
    piece = before + text + after
    spot = where % (len(record.headers) + 2)
    if spot == 0:
        return Record(record.key, record.value[:-1] + b',"x":"' + piece + b'"}', record.headers)
    if spot == 1:
        return Record(record.key + piece, record.value, record.headers)
    index = spot - 2
    name, header_value = record.headers[index]
    headers = (*record.headers[:index], (name, header_value + piece), *record.headers[index + 1 :])
    return Record(record.key, record.value, headers)


def _simulated(count: int) -> list[RawRecord]:
    simulation = Simulation(count // 3 + 10, seed=11)
    return [d.record for d in islice(simulation.deliveries(), count)]


def test_simulated_records_reach_the_reference_verdict_clean_and_with_injections() -> None:
    catalog = load_catalog()
    linkage = keys(*(le.id for le in catalog.life_experiences))
    checked = leaks = 0
    for n, raw in enumerate(_simulated(240)):
        event = deidentify(raw, linkage, policy_for(raw.agency, raw.life_experience))
        record = encode_unsigned(event)
        opaque = opaque_values(event)
        variants = [record]
        needles = _needles._uncached_needles(raw)
        for i, needle in enumerate(needles):
            before, after = FILLERS[(n + i) % len(FILLERS)], FILLERS[(n + 3 * i) % len(FILLERS)]
            variants.append(_inject(record, n + i, needle.value, before, after))
        for i, shape in enumerate(SHAPES):
            variants.append(_inject(record, n + i, shape, FILLERS[(n + i) % 4], FILLERS[i % 4]))
        for variant in variants:
            args = (raw, variant.value, variant.headers, variant.key, opaque)
            expected = _reference_verdict(*args)
            assert _verdict(*args) == expected
            checked += 1
            leaks += expected is not None
    # The corpus exercises both outcomes plenty (the injected values are mostly leaks).
    assert checked > 5000
    assert 0.5 * checked < leaks < checked


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=raw_records(),
    picks=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 20)), max_size=3),
    fillers=st.lists(st.sampled_from(FILLERS), min_size=6, max_size=6),
    shape=st.none() | st.sampled_from(SHAPES),
    opaque_pick=st.booleans(),
)
def test_generated_records_reach_the_reference_verdict(
    case: tuple[RawRecord, object],
    picks: list[tuple[int, int]],
    fillers: list[bytes],
    shape: bytes | None,
    opaque_pick: bool,
) -> None:
    raw, _ = case
    event = deidentify(raw, LINKAGE_KEYS, DeidPolicy(token_rules=DEFAULT_TOKEN_RULES))
    record = encode_unsigned(event)
    needles = _needles._uncached_needles(raw)
    opaque = list(opaque_values(event))
    for i, (pick, where) in enumerate(picks):
        needle = needles[pick % len(needles)].value
        record = _inject(record, where, needle, fillers[2 * i], fillers[2 * i + 1])
        if opaque_pick and i == 0:
            opaque.append(needle)
    if shape is not None:
        record = _inject(record, len(picks), shape, fillers[0], fillers[-1])
    args = (raw, record.value, record.headers, record.key, opaque)
    assert _verdict(*args) == _reference_verdict(*args)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="0123456789-. ()x@a", max_size=40))
def test_the_shape_hint_matches_whenever_a_shape_occurs(text: str) -> None:
    buffer = text.encode("ascii")
    leaks = list(_guard._shape_leaks(buffer, _guard._Spans(buffer, ())))
    hinted = b"@" in buffer or _guard._SHAPE_HINT.search(buffer.translate(_guard._SHAPE_MASK))
    assert hinted or not leaks


@pytest.mark.parametrize("shape", SHAPES[:7])
def test_the_shape_hint_matches_each_formatted_number(shape: bytes) -> None:
    mask = (b"id " + shape + b" end").translate(_guard._SHAPE_MASK)
    assert _guard._SHAPE_HINT.search(mask) is not None
