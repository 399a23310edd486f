"""The checker: what an outsider can recover from a published table.

:func:`derivable_cells` plays the outsider. From the published view alone it recovers every
value it can by

* **elimination**: an equation with a single unknown gives it away;
* **bounds**: suppressed values are >= 1, hidden ones >= 0; interval propagation through the
  equations (:mod:`~consumers.insights.suppression.bounds`) catches e.g. a row ``[*, *]``
  whose suppressed cells sum to 2 (both must be 1);
* **linear algebra**: over the remaining equations (per connected group), exact Gaussian
  elimination finds every determined value
  (:mod:`~consumers.insights.suppression.linalg`).

It is sound (everything it returns is truly implied) but, for bound reasoning, not complete:
interval propagation is not integer programming, so a value pinned only by a combination of
bounds that propagation misses is not reported. Exact linear disclosure is found completely.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Generic

from consumers.errors import InconsistentTable
from consumers.insights.suppression.bounds import implied_ranges
from consumers.insights.suppression.linalg import determined
from consumers.insights.suppression.table import K, Margin, index_equations, to_equations

__all__ = ["Outsider", "derivable_cells"]

# Interval propagation can tighten a cycle of equations by one unit per step; after this
# many tightenings per equation it stops (bounds then stay wider: sound, less complete).
_TIGHTENING_BUDGET_PER_EQUATION = 20


def derivable_cells(table: Mapping[K, int | None], margins: Iterable[Margin[K]]) -> dict[K, int]:
    """Suppressed or hidden values an outsider can recover from the published ``table``.

    ``table`` maps each published key to its value, or None when it is shown as suppressed;
    keys that occur in ``margins`` (``(total, parts)``: total = sum of parts) but not in
    ``table`` are hidden. Returns the recovered keys with their values.
    """
    equations = to_equations(margins)
    return Outsider(table, equations, index_equations(equations)).solve()


class Outsider(Generic[K]):
    """What an outsider can work out from a published table (see the module docstring).

    Elimination and bounds run on integers over a work list of equations; only what is
    left after them goes to Gaussian elimination. ``equations`` and ``equations_of`` (from
    :func:`~consumers.insights.suppression.table.to_equations` and
    :func:`~consumers.insights.suppression.table.index_equations`) are only read, so one
    suppression run shares them across its checks. :meth:`solve` once.
    """

    def __init__(
        self,
        table: Mapping[K, int | None],
        equations: list[dict[K, int]],
        equations_of: dict[K, list[int]],
    ):
        self.equations = equations
        self.equations_of = equations_of
        self.known: dict[K, int] = {}
        self.low: dict[K, int] = {}
        self.high: dict[K, float] = {}  # math.inf when unbounded
        keys = set(table) | set(self.equations_of)
        for key in keys:
            value = table.get(key)
            if value is not None:
                self.known[key] = value
            else:
                # Zeros are never suppressed: a suppressed value is >= 1; a hidden one >= 0.
                self.low[key] = 1 if key in table else 0
                self.high[key] = math.inf
        self.unknown_at_start = frozenset(keys - set(self.known))
        # Per equation: the unknown terms left and ``sum(unknown terms) = rhs``.
        self.open: list[dict[K, int]] = []
        self.rhs: list[int] = []
        for equation in self.equations:
            self.open.append({k: c for k, c in equation.items() if k not in self.known})
            self.rhs.append(-sum(c * self.known[k] for k, c in equation.items() if k in self.known))
        self.queue: deque[int] = deque(range(len(self.equations)))
        self.queued = [True] * len(self.equations)
        # Interval propagation can tighten a cycle by one unit per step; cap the work.
        self.tightening_budget = _TIGHTENING_BUDGET_PER_EQUATION * max(1, len(self.equations))

    def solve(self) -> dict[K, int]:
        """Every initially unknown value the outsider can recover, with that value."""
        while True:
            self._propagate()
            if not self._linear_algebra():
                break
        return {key: value for key, value in self.known.items() if key in self.unknown_at_start}

    def _enqueue(self, key: K) -> None:
        for index in self.equations_of.get(key, ()):
            if not self.queued[index]:
                self.queued[index] = True
                self.queue.append(index)

    def _learn(self, key: K, value: int) -> None:
        if value < 0:
            raise InconsistentTable("the published totals do not add up")
        self.known[key] = value
        del self.low[key], self.high[key]
        for index in self.equations_of.get(key, ()):
            coefficient = self.open[index].pop(key)
            self.rhs[index] -= coefficient * value
        self._enqueue(key)

    def _bound(self, index: int) -> None:
        """Interval propagation through ``sum(c * x) = rhs`` with c = +-1."""
        terms = list(self.open[index].items())
        for key, bottom, top in implied_ranges(terms, self.low, self.high, self.rhs[index]):
            changed = False
            if bottom != -math.inf and math.ceil(bottom) > self.low[key]:
                self.low[key] = math.ceil(bottom)
                changed = True
            if top != math.inf and math.floor(top) < self.high[key]:
                self.high[key] = math.floor(top)
                changed = True
            if self.high[key] < self.low[key]:
                raise InconsistentTable("the published totals do not add up")
            if self.high[key] == self.low[key]:
                self._learn(key, self.low[key])
                return  # this equation is queued again by _learn
            if changed and self.tightening_budget > 0:
                self.tightening_budget -= 1
                self._enqueue(key)

    def _propagate(self) -> None:
        while self.queue:
            index = self.queue.popleft()
            self.queued[index] = False
            terms = self.open[index]
            if not terms:
                if self.rhs[index] != 0:
                    raise InconsistentTable("the published totals do not add up")
            elif len(terms) == 1:
                ((key, coefficient),) = terms.items()
                self._learn(key, self.rhs[index] * coefficient)  # coefficient is +-1
            else:
                self._bound(index)

    def _linear_algebra(self) -> bool:
        """Exact Gaussian elimination, per connected group of the equations still open."""
        open_rows = [i for i, terms in enumerate(self.open) if len(terms) >= 2]
        groups: dict[K, list[int]] = {}
        parent: dict[K, K] = {}

        def find(key: K) -> K:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for index in open_rows:
            first, *rest = self.open[index]
            for key in rest:
                parent[find(key)] = find(first)
        for index in open_rows:
            groups.setdefault(find(next(iter(self.open[index]))), []).append(index)
        learned = False
        for rows in groups.values():
            for key, value in determined([(dict(self.open[i]), self.rhs[i]) for i in rows]).items():
                if key not in self.known:
                    self._learn(key, value)
                    learned = True
        return learned
