"""The audit's intervals equal brute-force enumeration of every integer solution.

Small tables (a grid with row, column and grand totals, every count capped by a public
bound so that enumeration is finite), some counts suppressed (>= 1), some hidden (>= 0),
one or two versions of the same unit: for every target the solver's exact interval must be
the minimum and maximum over all integer points that fit what is published.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.insights.audit import (
    HIDDEN,
    SUPPRESSED,
    Marker,
    Relation,
    Release,
    Sense,
    TargetKind,
    audit,
)

BOUND = 8  # a public cap on every count, so that brute force is finite
Key = tuple[object, object]
Values = dict[Hashable, float]


def grid(rows: int, cols: int) -> tuple[list[Key], list[Relation]]:
    keys: list[Key] = [(i, j) for i in [*range(rows), "*"] for j in [*range(cols), "*"]]
    relations = [Relation.total((i, "*"), [(i, j) for j in range(cols)]) for i in range(rows)]
    relations += [Relation.total(("*", j), [(i, j) for i in range(rows)]) for j in range(cols)]
    relations.append(Relation.total(("*", "*"), [(i, "*") for i in range(rows)]))
    relations += [Relation(((k, 1.0),), Sense.LE, float(BOUND)) for k in keys]
    return keys, relations


def values_of(inner: Sequence[Sequence[int]]) -> Values:
    rows, cols = len(inner), len(inner[0])
    values: Values = {(i, j): float(inner[i][j]) for i in range(rows) for j in range(cols)}
    for i in range(rows):
        values[(i, "*")] = float(sum(inner[i]))
    for j in range(cols):
        values[("*", j)] = float(sum(row[j] for row in inner))
    values[("*", "*")] = float(sum(map(sum, inner)))
    return values


def _fits(relation: Relation, total: float) -> bool:
    if relation.sense is Sense.EQ:
        return total == relation.rhs
    return total <= relation.rhs if relation.sense is Sense.LE else total >= relation.rhs


def solutions(releases: Sequence[Release]) -> list[dict[tuple[str, object], float]]:
    """Every integer point that fits the releases (unknowns in [floor, BOUND])."""
    unknown: list[tuple[tuple[str, object], int]] = []
    constant: dict[tuple[str, object], float] = {}
    for release in releases:
        for key, shown in release.cells.items():
            ref = (release.release_id, key)
            if isinstance(shown, Marker):
                unknown.append((ref, 1 if shown is SUPPRESSED else 0))
            else:
                constant[ref] = float(shown)
    rows = [
        (relation, [((r.release_id, k), c) for k, c in relation.terms])
        for r in releases
        for relation in r.relations
    ]
    found = []
    for point in itertools.product(*(range(floor, BOUND + 1) for _, floor in unknown)):
        values = dict(constant)
        values.update({ref: float(v) for (ref, _), v in zip(unknown, point, strict=True)})
        if all(_fits(rel, sum(c * values[ref] for ref, c in terms)) for rel, terms in rows):
            found.append(values)
    return found


tables = st.lists(st.lists(st.integers(0, 2), min_size=2, max_size=2), min_size=2, max_size=2)


@st.composite
def one_release(draw: st.DrawFn) -> tuple[Release, Values]:
    inner = draw(tables)
    values = values_of(inner)
    keys, relations = grid(2, 2)
    cells: dict[object, float | Marker] = {}
    for key in keys:
        choice = draw(st.sampled_from(["shown", "suppressed", "hidden"]))
        if choice == "hidden":
            cells[key] = HIDDEN
        elif choice == "suppressed" and values[key] > 0:
            cells[key] = SUPPRESSED
        else:
            cells[key] = values[key]
    for key in [k for k in keys if isinstance(cells[k], Marker)][4:]:
        cells[key] = values[key]  # at most 4 unknowns: the enumeration stays small
    return Release("r1", "u", 1, cells, relations), values


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_release())
def test_cell_intervals_equal_brute_force(case: tuple[Release, Values]) -> None:
    release, values = case
    points = solutions([release])
    report = audit([release], {"r1": values}, mode="exact")
    for finding in report.findings:
        assert finding.target.kind is TargetKind.CELL and finding.interval is not None
        ref = ("r1", finding.target.key)
        seen = [p[ref] for p in points]
        assert (finding.interval.low, finding.interval.high) == (min(seen), max(seen))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_release(), one_release())
def test_change_intervals_between_two_versions_equal_brute_force(
    first: tuple[Release, Values], second: tuple[Release, Values]
) -> None:
    old, old_values = first
    new_release, new_values = second
    new = Release("r2", "u", 2, new_release.cells, new_release.relations)
    unknowns = sum(isinstance(v, Marker) for r in (old, new) for v in r.cells.values())
    if unknowns > 5:
        return  # too many to enumerate quickly
    points = solutions([old, new])
    report = audit([old, new], {"r1": old_values, "r2": new_values}, mode="exact")
    for finding in report.findings:
        if finding.target.kind is not TargetKind.DELTA:
            continue
        assert finding.interval is not None
        key = finding.target.key
        seen = [p[("r2", key)] - p[("r1", key)] for p in points]
        assert (finding.interval.low, finding.interval.high) == (min(seen), max(seen))
