"""The attacker's system of linear constraints over every release of a unit.

Each suppressed or hidden cell of each release is an unknown (a non-negative integer for a
count, a non-negative real for a sum of answers); every published value is a constant.
Releases of the same unit are linked only through targets (changes between versions) and
``monotone`` keys: the same cell in two versions is two unknowns.

Before any solve, :class:`System` substitutes the constants, solves equations left with
one unknown, turns one-unknown inequalities into bounds (rounded for integers) and repeats;
what is left falls apart into connected :class:`Component` s, and each target is solved on
its own component only. That presolve is what keeps the audit of a demo week at a fraction
of a second.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from consumers.errors import InconsistentRelease
from consumers.insights.audit.model import (
    SUPPRESSED,
    TOLERANCE,
    Key,
    Marker,
    Release,
    Sense,
    VarKind,
)

__all__ = ["CAP", "Component", "Ref", "System", "consecutive"]

Ref = tuple[str, Key]  # (release id, cell key)
FloatArray = npt.NDArray[np.float64]

#: A count above this is "unbounded" for the report (no week holds a million journeys).
CAP: Final = 1_000_000


@dataclass
class _Row:
    coefficients: dict[int, float]
    low: float
    high: float


class Component:
    """One connected group of unknowns with its constraints, in column-wise sparse form
    (what HiGHS takes)."""

    def __init__(self, variables: list[int], rows: list[_Row], system: System):
        self.variables = variables
        self.local = {v: i for i, v in enumerate(variables)}
        self.lower: FloatArray = np.array([system.lower[v] for v in variables], dtype=np.float64)
        self.upper: FloatArray = np.array([system.upper[v] for v in variables], dtype=np.float64)
        self.integral = np.array([system.integral[v] for v in variables], dtype=bool)
        self.row_lower: FloatArray = np.array([row.low for row in rows], dtype=np.float64)
        self.row_upper: FloatArray = np.array([row.high for row in rows], dtype=np.float64)
        columns: list[list[tuple[int, float]]] = [[] for _ in variables]
        for r, row in enumerate(rows):
            for v, c in row.coefficients.items():
                columns[self.local[v]].append((r, c))
        self.start = np.zeros(len(variables) + 1, dtype=np.int32)
        index: list[int] = []
        value: list[float] = []
        for j, column in enumerate(columns):
            for r, c in sorted(column):
                index.append(r)
                value.append(c)
            self.start[j + 1] = len(index)
        self.index = np.array(index, dtype=np.int32)
        self.value: FloatArray = np.array(value, dtype=np.float64)

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return len(self.variables)

    @property
    def rows(self) -> int:
        """Number of constraints."""
        return len(self.row_lower)


def consecutive(releases: Sequence[Release]) -> list[tuple[Release, Release]]:
    """(older, newer) for every two consecutive versions of the same unit."""
    by_unit: dict[str, list[Release]] = {}
    for release in releases:
        by_unit.setdefault(release.unit, []).append(release)
    pairs: list[tuple[Release, Release]] = []
    for versions in by_unit.values():
        versions.sort(key=lambda r: r.version)
        pairs += list(itertools.pairwise(versions))
    return pairs


class System:
    """Unknowns of every release, constants substituted, presolved, split in components."""

    def __init__(self, releases: Sequence[Release]):
        self.releases = {r.release_id: r for r in releases}
        if len(self.releases) != len(releases):
            raise ValueError("release ids must be unique")
        self.constant: dict[Ref, float] = {}
        self.index: dict[Ref, int] = {}
        self.refs: list[Ref] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integral: list[bool] = []
        for release in releases:
            sums = {spec.sum_key for spec in release.means.values()}
            for key, shown in release.cells.items():
                if key in release.means:
                    continue  # a mean's information enters through its sum and count
                ref = (release.release_id, key)
                if isinstance(shown, Marker):
                    floor = 1.0 if shown is SUPPRESSED else 0.0
                    kind = VarKind.SUM if key in sums else release.kind(key)
                    self._variable(ref, kind, floor)
                else:
                    self.constant[ref] = float(shown)
            for spec in release.means.values():
                ref = (release.release_id, spec.sum_key)
                if ref not in self.index and ref not in self.constant:
                    self._variable(ref, VarKind.SUM, 0.0)
        rows = [row for release in releases for row in self._release_rows(release)]
        rows += self._version_rows(releases)
        self.fixed: dict[int, float] = {}
        self.rows = self._presolve(rows)
        self.components, self.component_of = self._split()

    def _variable(self, ref: Ref, kind: VarKind, floor: float) -> None:
        self.index[ref] = len(self.refs)
        self.refs.append(ref)
        self.lower.append(floor)
        self.upper.append(float(CAP) * (1 if kind is VarKind.COUNT else 10))
        self.integral.append(kind is VarKind.COUNT)

    def _row(self, terms: Iterable[tuple[Ref, float]], low: float, high: float) -> _Row:
        coefficients: dict[int, float] = {}
        shift = 0.0
        for ref, c in terms:
            if ref in self.constant:
                shift += c * self.constant[ref]
            elif ref in self.index:
                v = self.index[ref]
                coefficients[v] = coefficients.get(v, 0.0) + c
            else:
                raise ValueError(f"a relation of release {ref[0]} names a cell it does not list")
        return _Row({v: c for v, c in coefficients.items() if c != 0.0}, low - shift, high - shift)

    def _release_rows(self, release: Release) -> list[_Row]:
        rid = release.release_id
        rows: list[_Row] = []
        for relation in release.relations:
            low = relation.rhs if relation.sense is not Sense.LE else -math.inf
            high = relation.rhs if relation.sense is not Sense.GE else math.inf
            rows.append(self._row((((rid, k), c) for k, c in relation.terms), low, high))
        for mean_key, spec in release.means.items():
            shown = release.cells.get(mean_key, SUPPRESSED)
            if isinstance(shown, Marker):
                low_c, high_c = spec.low, spec.high
            else:
                half = 0.5 * 10.0 ** (-spec.decimals)
                low_c, high_c = float(shown) - half, float(shown) + half
            sum_ref, count_ref = (rid, spec.sum_key), (rid, spec.count_key)
            # low_c * n <= S <= high_c * n
            rows.append(self._row(((sum_ref, 1.0), (count_ref, -low_c)), 0.0, math.inf))
            rows.append(self._row(((sum_ref, 1.0), (count_ref, -high_c)), -math.inf, 0.0))
        return rows

    def _version_rows(self, releases: Sequence[Release]) -> list[_Row]:
        rows: list[_Row] = []
        for older, newer in consecutive(releases):
            for key in newer.monotone:
                if key in older.cells and key in newer.cells:
                    terms = [((newer.release_id, key), 1.0), ((older.release_id, key), -1.0)]
                    rows.append(self._row(terms, 0.0, math.inf))
        return rows

    def _presolve(self, rows: list[_Row]) -> list[_Row]:
        """Solve one-unknown equations, turn one-unknown inequalities into bounds, repeat."""
        rows_of: dict[int, list[int]] = {}
        for r, row in enumerate(rows):
            for v in row.coefficients:
                rows_of.setdefault(v, []).append(r)
        queue = [r for r, row in enumerate(rows) if len(row.coefficients) <= 1]
        alive = [True] * len(rows)
        while queue:
            r = queue.pop()
            row = rows[r]
            if not alive[r] or len(row.coefficients) > 1:
                continue
            alive[r] = False
            if not row.coefficients:
                if row.low > TOLERANCE or row.high < -TOLERANCE:
                    raise InconsistentRelease("the published values do not satisfy a relation")
                continue
            ((v, c),) = row.coefficients.items()
            low, high = (row.low / c, row.high / c) if c > 0 else (row.high / c, row.low / c)
            if self.integral[v]:
                low = math.ceil(low - TOLERANCE) if low != -math.inf else low
                high = math.floor(high + TOLERANCE) if high != math.inf else high
            self.lower[v] = max(self.lower[v], low)
            self.upper[v] = min(self.upper[v], high)
            if self.lower[v] > self.upper[v] + TOLERANCE:
                raise InconsistentRelease("the published values admit no solution")
            if self.upper[v] - self.lower[v] <= TOLERANCE and v not in self.fixed:
                value = self.lower[v]
                self.fixed[v] = value
                for other in rows_of[v]:
                    if alive[other] and v in rows[other].coefficients:
                        coefficient = rows[other].coefficients.pop(v)
                        rows[other].low -= coefficient * value
                        rows[other].high -= coefficient * value
                        if len(rows[other].coefficients) <= 1:
                            queue.append(other)
        for v, value in self.fixed.items():
            self.constant[self.refs[v]] = value
        return [row for r, row in enumerate(rows) if alive[r]]

    def _split(self) -> tuple[list[Component], dict[int, int]]:
        parent = list(range(len(self.refs)))

        def find(v: int) -> int:
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        for row in self.rows:
            first, *rest = row.coefficients
            for v in rest:
                a, b = find(first), find(v)
                if a != b:
                    parent[b] = a
        groups: dict[int, list[int]] = {}
        for v in range(len(self.refs)):
            if v not in self.fixed:
                groups.setdefault(find(v), []).append(v)
        rows_by_root: dict[int, list[_Row]] = {}
        for row in self.rows:
            rows_by_root.setdefault(find(next(iter(row.coefficients))), []).append(row)
        components: list[Component] = []
        component_of: dict[int, int] = {}
        for root, variables in groups.items():
            for v in variables:
                component_of[v] = len(components)
            components.append(Component(variables, rows_by_root.get(root, []), self))
        return components, component_of

    @property
    def unknowns(self) -> int:
        """Unknowns left after the presolve."""
        return len(self.refs) - len(self.fixed)

    def expression(
        self, terms: Iterable[tuple[Ref, float]]
    ) -> tuple[dict[int, dict[int, float]], float]:
        """A linear expression over refs as per-component local coefficients plus a
        constant."""
        parts: dict[int, dict[int, float]] = {}
        constant = 0.0
        for ref, c in terms:
            if ref in self.constant:
                constant += c * self.constant[ref]
                continue
            v = self.index[ref]
            comp = self.component_of[v]
            local = self.components[comp].local[v]
            objective = parts.setdefault(comp, {})
            objective[local] = objective.get(local, 0.0) + c
        return parts, constant
