"""Small-cell suppression: primary, complementary, and the outsider's arithmetic."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consumers.errors import InconsistentTable
from consumers.insights.suppression import Margin, derivable_cells, is_small, suppress

Key = tuple[object, object]
K = TypeVar("K")


def grid(values: Sequence[Sequence[int]]) -> tuple[dict[Key, int], list[Margin[Key]]]:
    """A table with row totals ``(i, '*')``, column totals ``('*', j)`` and the grand total."""
    counts: dict[Key, int] = {}
    margins: list[Margin[Key]] = []
    rows, cols = len(values), len(values[0])
    for i in range(rows):
        for j in range(cols):
            counts[(i, j)] = values[i][j]
    for i in range(rows):
        counts[(i, "*")] = sum(values[i])
        margins.append(((i, "*"), [(i, j) for j in range(cols)]))
    for j in range(cols):
        counts[("*", j)] = sum(values[i][j] for i in range(rows))
        margins.append((("*", j), [(i, j) for i in range(rows)]))
    counts[("*", "*")] = sum(map(sum, values))
    margins.append((("*", "*"), [(i, "*") for i in range(rows)]))
    margins.append((("*", "*"), [("*", j) for j in range(cols)]))
    return counts, margins


def small_leaks(
    counts: Mapping[K, int], published: Mapping[K, int | None], margins: list[Margin[K]]
) -> dict[K, int]:
    """Small values the outsider recovers from the published view."""
    return {k: v for k, v in derivable_cells(published, margins).items() if is_small(counts[k])}


def test_a_single_suppressed_cell_in_a_row_is_derivable_from_its_total() -> None:
    counts, margins = grid([[5, 50, 60], [20, 30, 40]])
    primary_only = {k: (None if is_small(v) else v) for k, v in counts.items()}
    assert derivable_cells(primary_only, margins) == {(0, 0): 5}


def test_a_row_with_one_small_cell_gets_a_complementary_suppression() -> None:
    counts, margins = grid([[5, 50, 60], [20, 30, 40]])
    result = suppress(counts, margins)
    assert result.primary == {(0, 0)}
    # The classic four-cell pattern: the smallest neighbours in the row and the column.
    assert result.complementary == {(0, 1), (1, 0), (1, 1)}
    assert small_leaks(counts, result.published, margins) == {}
    assert result.published[(0, 2)] == 60 and result.published[(0, "*")] == 115


def test_zeros_are_published_and_never_suppressed() -> None:
    counts, margins = grid([[0, 40, 0], [0, 25, 3]])
    result = suppress(counts, margins)
    assert all(result.published[k] == 0 for k, v in counts.items() if v == 0)
    assert (1, 2) in result.suppressed
    assert small_leaks(counts, result.published, margins) == {}


def test_no_count_of_one_to_ten_is_published() -> None:
    counts, margins = grid([[1, 2, 3], [10, 11, 12], [0, 9, 30]])
    result = suppress(counts, margins)
    shown = [v for v in result.published.values() if v is not None]
    assert not any(is_small(v) for v in shown)
    assert result.primary == {k for k, v in counts.items() if is_small(v)}


def test_suppressed_cells_known_to_be_at_least_one_can_give_each_other_away() -> None:
    # Row [*, *, 50] with total 52: both suppressed cells must be 1.
    table = {"a": None, "b": None, "c": 50, "t": 52}
    assert derivable_cells(table, [("t", ["a", "b", "c"])]) == {"a": 1, "b": 1}
    counts = {"a": 1, "b": 1, "c": 50, "t": 52}
    result = suppress(counts, [("t", ["a", "b", "c"])])
    assert small_leaks(counts, result.published, [("t", ["a", "b", "c"])]) == {}
    assert result.published["c"] is None


def test_hidden_cells_are_protected_too() -> None:
    # started = completed + active; "active" is never published, but is 4 here.
    counts = {"started": 40, "completed": 36, "active": 4}
    margins: list[Margin[str]] = [("started", ["completed", "active"])]
    assert derivable_cells({"started": 40, "completed": 36}, margins) == {"active": 4}
    result = suppress(counts, margins, hidden=["active"])
    assert "active" not in result.published
    assert derivable_cells(result.published, margins) == {}


def test_linear_combinations_across_rows_and_columns_are_found() -> None:
    # No row or column has a single unknown, yet a + b = 12, b + c = 13, a + c = 11 fix all.
    table = {"a": None, "b": None, "c": None, "ab": 12, "bc": 13, "ac": 11}
    margins: list[Margin[str]] = [("ab", ["a", "b"]), ("bc", ["b", "c"]), ("ac", ["a", "c"])]
    assert derivable_cells(table, margins) == {"a": 5, "b": 7, "c": 6}


def test_a_total_that_is_not_the_sum_of_its_parts_is_refused() -> None:
    with pytest.raises(InconsistentTable):
        suppress({"t": 30, "a": 12, "b": 12}, [("t", ["a", "b"])])


def test_suppression_is_deterministic() -> None:
    counts, margins = grid([[3, 14, 15, 0], [12, 4, 30, 22], [11, 13, 2, 40]])
    assert suppress(counts, margins) == suppress(dict(counts), list(margins))


cell_values = st.one_of(st.just(0), st.integers(1, 10), st.integers(11, 45))
tables = st.integers(1, 4).flatmap(
    lambda rows: st.integers(1, 4).flatmap(
        lambda cols: st.lists(
            st.lists(cell_values, min_size=cols, max_size=cols), min_size=rows, max_size=rows
        )
    )
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_after_suppression_no_small_cell_is_derivable(values: list[list[int]]) -> None:
    counts, margins = grid(values)
    result = suppress(counts, margins)
    assert not any(v is not None and is_small(v) for v in result.published.values())
    assert small_leaks(counts, result.published, margins) == {}


@settings(max_examples=100, deadline=None)
@given(tables, st.data())
def test_hidden_layers_stay_protected(values: list[list[int]], data: st.DataObject) -> None:
    # Two published layers and a hidden one, like started = completed + active.
    completed = [[data.draw(st.integers(0, v)) for v in row] for row in values]
    counts: dict[tuple[object, ...], int] = {}
    margins: list[Margin[tuple[object, ...]]] = []
    for layer, table in (("started", values), ("completed", completed)):
        part, part_margins = grid(table)
        counts.update({(layer, *k): v for k, v in part.items()})
        margins += [((layer, *t), [(layer, *p) for p in ps]) for t, ps in part_margins]
    active = [
        [s - c for s, c in zip(r1, r2, strict=True)]
        for r1, r2 in zip(values, completed, strict=True)
    ]
    part, part_margins = grid(active)
    counts.update({("active", *k): v for k, v in part.items()})
    margins += [(("active", *t), [("active", *p) for p in ps]) for t, ps in part_margins]
    for key in part:
        margins.append((("started", *key), [("completed", *key), ("active", *key)]))
    hidden = [("active", *k) for k in part]
    result = suppress(counts, margins, hidden=hidden)
    leaks = derivable_cells(result.published, margins)
    assert not any(is_small(counts[k]) for k in leaks)


@settings(max_examples=200, deadline=None)
@given(tables, st.data())
def test_the_checker_only_recovers_true_values(
    values: list[list[int]], data: st.DataObject
) -> None:
    counts, margins = grid(values)
    hide = data.draw(st.sets(st.sampled_from(sorted(counts, key=repr))))
    published = {k: (None if k in hide and v > 0 else v) for k, v in counts.items()}
    for key, value in derivable_cells(published, margins).items():
        assert counts[key] == value


SEARCH_BUDGET = 30_000


def integer_solutions(
    values: list[list[int]], published: Mapping[Key, int | None]
) -> dict[Key, set[int]] | None:
    """Brute force, independent of the checker: every value each suppressed inner cell takes
    in some non-negative integer table that matches the published view (suppressed >= 1).
    None when the search space exceeds :data:`SEARCH_BUDGET`."""
    rows, cols = len(values), len(values[0])
    unknown = [(i, j) for i in range(rows) for j in range(cols) if published[(i, j)] is None]
    # The last unknown of a row with a published total follows from the others.
    dependent: dict[Key, int] = {}
    for i in range(rows):
        in_row = [k for k in unknown if k[0] == i]
        if in_row and published[(i, "*")] is not None:
            dependent[in_row[-1]] = i
    free = [k for k in unknown if k not in dependent]
    # A cell is at most any published total it is part of (or a generous bound if none is).
    fallback = 3 * sum(map(sum, values)) + 3
    caps = [
        min(
            (t for t in (published[(i, "*")], published[("*", j)], published[("*", "*")]) if t),
            default=fallback,
        )
        for i, j in free
    ]
    if math.prod(caps) > SEARCH_BUDGET:
        return None
    seen: dict[Key, set[int]] = {k: set() for k in unknown}
    for combo in itertools.product(*(range(1, cap + 1) for cap in caps)):
        cell: dict[Key, int | None] = {
            (i, j): published[(i, j)] for i in range(rows) for j in range(cols)
        }
        cell.update(zip(free, combo, strict=True))
        for key, row in dependent.items():
            total = published[(row, "*")]
            assert total is not None
            cell[key] = total - sum(v or 0 for k, v in cell.items() if k[0] == row and k != key)
        if any((cell[k] or 0) < 1 for k in dependent):
            continue
        full = {k: int(v or 0) for k, v in cell.items()}
        sums: dict[Key, int] = {
            (i, "*"): sum(full[(i, j)] for j in range(cols)) for i in range(rows)
        }
        sums.update({("*", j): sum(full[(i, j)] for i in range(rows)) for j in range(cols)})
        sums[("*", "*")] = sum(full.values())
        if all(
            (published[k] == v) if published[k] is not None else v >= 1 for k, v in sums.items()
        ):
            for key in unknown:
                seen[key].add(full[key])
    return seen


small_tables = st.sampled_from([(2, 2), (2, 3), (3, 2)]).flatmap(
    lambda shape: st.lists(
        st.lists(
            st.one_of(st.just(0), st.integers(1, 10), st.integers(11, 14)),
            min_size=shape[1],
            max_size=shape[1],
        ),
        min_size=shape[0],
        max_size=shape[0],
    )
)


@settings(max_examples=150, deadline=None)
@given(small_tables)
def test_an_exhaustive_integer_attacker_pins_no_small_cell(values: list[list[int]]) -> None:
    counts, margins = grid(values)
    result = suppress(counts, margins)
    solutions = integer_solutions(values, result.published)
    event("searched" if solutions is not None else "search space too large")
    for key, possible in (solutions or {}).items():
        assert counts[key] in possible  # the brute force is right about the truth
        if is_small(counts[key]):
            assert len(possible) > 1, f"{key} is pinned to {possible}"
