"""Small-cell suppression with complementary suppression, and the checker that audits it.

The model
=========
A *table* is a set of counts addressed by hashable keys. Some keys are *totals*: a
published total equals the sum of its parts (``margins``: ``(total, parts)`` pairs). This is
the whole linear structure an outsider can use; the aggregation module states which totals
it publishes (see :mod:`consumers.insights.aggregate`), and this module is agnostic of it.

Every key is in one of three states towards an outsider:

* **published**: the exact value is shown;
* **suppressed**: shown as suppressed (``None``). Zeros are never suppressed, so an outsider
  knows a suppressed value is at least 1 — the checker uses that;
* **hidden**: never published at all (for example "journeys still active", which has no
  metric of its own but is ``started - completed - stalled - expired``). A hidden value may
  be 0. A hidden key takes part in the arithmetic like any other.

The rule (DOMAIN.md, CMS cell-size rule): no value from 1 to :data:`SMALL_CELL_MAX` may be
shown or *derivable*. :func:`suppress` applies

1. **primary suppression**: every count of 1..10 (totals included) is suppressed;
2. **complementary suppression**: while :func:`derivable_cells` can still recover a value of
   1..10 (a suppressed or hidden one), it suppresses one more non-zero cell next to each
   leak: the smallest part (then total) of the equation with the fewest unknowns that
   contains the leaking key; if that equation has nothing left to suppress, the search
   widens to the equations sharing its unknowns. The first few candidates are tried with a
   *local* outsider (the equations within two hops of the leak) and the first that stops
   the leak there wins. One full :func:`derivable_cells` per round, then every leak it
   found is answered (a leak that survived earlier answers gets 2, 4, ... complements);
   the loop ends only when a full check finds no leak, so the local shortcuts choose cells
   but never decide that the table is safe.

Values of 11 or more that happen to be derivable are not a disclosure (they could have been
published) and are left alone.

The checker
===========
:func:`derivable_cells` plays the outsider. From the published view alone it recovers every
value it can by

* **elimination**: an equation with a single unknown gives it away;
* **bounds**: suppressed values are >= 1, hidden ones >= 0; interval propagation through the
  equations catches e.g. a row ``[*, *]`` whose suppressed cells sum to 2 (both must be 1);
* **linear algebra**: over the remaining equations (per connected group), a value is
  determined iff every solution of the homogeneous system is 0 there. Sparse Gaussian
  elimination with Markowitz pivoting (short rows first, the pivot occurring in fewest
  rows) keeps fill-in small; one back substitution gives a particular solution, another
  with random free unknowns a random null-space vector, and the unknowns where it is 0 are
  the determined ones. Exact integer arithmetic modulo a 61-bit prime, which agrees with
  rational arithmetic unless the prime divides a minor of the small +-1 system (vanishingly
  unlikely); the random vector misses a free direction with probability 1/prime per
  unknown, an error that would only over-suppress.

It is sound (everything it returns is truly implied) but, for bound reasoning, not complete:
interval propagation is not integer programming, so a value pinned only by a combination of
bounds that propagation misses is not reported. Exact linear disclosure is found completely.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from consumers.errors import InconsistentTable, SuppressionFailed
from contracts.joined import SMALL_CELL_MAX

__all__ = ["Margin", "Suppression", "derivable_cells", "is_small", "suppress"]

K = TypeVar("K", bound=Hashable)

#: One published total and the parts it is the sum of. A key may be the total of several
#: margins (a row total of a day is also a part of the week's row total).
Margin = tuple[K, Sequence[K]]

# Interval propagation can tighten a cycle of equations by one unit per step; after this
# many tightenings per equation it stops (bounds then stay wider: sound, less complete).
_TIGHTENING_BUDGET_PER_EQUATION = 20

# The Mersenne prime 2**61 - 1: Gaussian elimination runs in exact integers modulo it.
_PRIME = (1 << 61) - 1

# How many complementary candidates (cheapest first) are tried against one leak before
# falling back to the cheapest one and letting the fixed-point loop continue.
_MAX_TRIALS = 3

# How many equation hops around a leak a candidate's trial looks at (see ``suppress``).
_TRIAL_RADIUS = 2

# A leak that keeps coming back gets 1, 2, 4, ... complements per round, at most 2**this.
_MAX_DOUBLINGS = 4


def is_small(count: int, threshold: int = SMALL_CELL_MAX) -> bool:
    """True for a count that must never be shown: 1..threshold (0 is not sensitive)."""
    return 1 <= count <= threshold


@dataclass(frozen=True)
class Suppression(Generic[K]):
    """The result of :func:`suppress`.

    ``published`` maps every non-hidden key to its value, or None when suppressed;
    ``primary`` and ``complementary`` say why each suppressed key is suppressed.
    """

    published: dict[K, int | None]
    primary: frozenset[K]
    complementary: frozenset[K]

    @property
    def suppressed(self) -> frozenset[K]:
        """Every suppressed key."""
        return self.primary | self.complementary


def _equations(margins: Iterable[Margin[K]]) -> list[dict[K, int]]:
    """``total - sum(parts) = 0`` as coefficient maps."""
    equations: list[dict[K, int]] = []
    for total, parts in margins:
        equation: dict[K, int] = {total: 1}
        for part in parts:
            if part == total or part in equation:
                raise InconsistentTable("a total lists itself or one part twice")
            equation[part] = -1
        equations.append(equation)
    return equations


def _index(equations: Sequence[Mapping[K, int]]) -> dict[K, list[int]]:
    """Key -> the indices of the equations it occurs in."""
    equations_of: dict[K, list[int]] = {}
    for index, equation in enumerate(equations):
        for key in equation:
            equations_of.setdefault(key, []).append(index)
    return equations_of


class _Outsider(Generic[K]):
    """What an outsider can work out from a published table (see the module docstring).

    Elimination and bounds run on integers over a work list of equations; only what is
    left after them goes to Gaussian elimination.
    """

    def __init__(
        self,
        table: Mapping[K, int | None],
        equations: list[dict[K, int]],
        equations_of: dict[K, list[int]],
    ):
        # ``equations`` and ``equations_of`` are only read (suppress shares them across checks).
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
        # Range of each term c * x.
        lows: list[float] = []
        highs: list[float] = []
        for key, coefficient in terms:
            if coefficient > 0:
                lows.append(self.low[key])
                highs.append(self.high[key])
            else:
                lows.append(-self.high[key])
                highs.append(-self.low[key])
        low_inf = sum(1 for v in lows if v == -math.inf)
        high_inf = sum(1 for v in highs if v == math.inf)
        low_sum = sum(v for v in lows if v != -math.inf)
        high_sum = sum(v for v in highs if v != math.inf)
        rhs = self.rhs[index]
        for (key, coefficient), term_low, term_high in zip(terms, lows, highs, strict=True):
            rest_low = (
                -math.inf
                if low_inf - (term_low == -math.inf) > 0
                else low_sum - (0 if term_low == -math.inf else term_low)
            )
            rest_high = (
                math.inf
                if high_inf - (term_high == math.inf) > 0
                else high_sum - (0 if term_high == math.inf else term_high)
            )
            # coefficient * key lies in [rhs - rest_high, rhs - rest_low]
            bottom, top = rhs - rest_high, rhs - rest_low
            if coefficient < 0:
                bottom, top = -top, -bottom
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
            for key, value in _determined(
                [(dict(self.open[i]), self.rhs[i]) for i in rows]
            ).items():
                if key not in self.known:
                    self._learn(key, value)
                    learned = True
        return learned

    def solve(self) -> dict[K, int]:
        """Every initially unknown value the outsider can recover, with that value."""
        while True:
            self._propagate()
            if not self._linear_algebra():
                break
        return {key: value for key, value in self.known.items() if key in self.unknown_at_start}


def _determined(rows: list[tuple[dict[K, int], int]]) -> dict[K, int]:
    """Unknowns fixed by the rows ``sum(coefficients * x) = rhs``, with their values.

    Exact arithmetic modulo the prime :data:`_PRIME` (ranks over it equal ranks over the
    rationals unless the prime divides a minor of this small +-1 matrix, which is vanishingly
    unlikely; fixed values are recovered exactly because counts are far below it).

    Sparse Gaussian elimination: the shortest row goes first, and within it the unknown that
    occurs in the fewest other rows is the pivot (Markowitz), which keeps fill-in small on
    these row/column/status/time tables. Back substitution then gives one particular solution
    (free unknowns 0) and one random vector of the null space (free unknowns random). An
    unknown is fixed iff every null-space vector is 0 there; a random combination of the
    null-space basis is non-zero at an unfixed unknown except with probability 1/prime, and
    that rare error would only call an unknown fixed (more suppression, never less).
    """
    active: dict[int, dict[K, int]] = {}
    rhs: dict[int, int] = {}
    occurs: dict[K, set[int]] = {}
    for index, (coefficients, value) in enumerate(rows):
        row = {key: c % _PRIME for key, c in coefficients.items() if c % _PRIME}
        active[index] = row
        rhs[index] = value % _PRIME
        for key in row:
            occurs.setdefault(key, set()).add(index)
    unknowns = list(occurs)
    heap = [(len(row), index) for index, row in active.items()]
    heapq.heapify(heap)
    # Pivot rows in elimination order: (pivot, row with pivot coefficient 1, rhs).
    eliminated: list[tuple[K, dict[K, int], int]] = []
    while heap:
        length, index = heapq.heappop(heap)
        popped = active.get(index)
        if popped is None or len(popped) != length:
            continue  # removed, or a stale heap entry (the row changed length since)
        row = active.pop(index)
        if not row:
            continue  # a dependent row (its rhs is 0 for consistent input)
        for key in row:
            occurs[key].discard(index)
        pivot = min(row, key=lambda k: len(occurs[k]))
        inverse = pow(row[pivot], -1, _PRIME)
        row = {key: c * inverse % _PRIME for key, c in row.items()}
        value = rhs.pop(index) * inverse % _PRIME
        for other in list(occurs[pivot]):
            target = active[other]
            factor = target[pivot]
            for key, coefficient in row.items():
                updated = (target.get(key, 0) - factor * coefficient) % _PRIME
                if updated:
                    if key not in target:
                        occurs[key].add(other)
                    target[key] = updated
                elif key in target:
                    del target[key]
                    occurs[key].discard(other)
            rhs[other] = (rhs[other] - factor * value) % _PRIME
            heapq.heappush(heap, (len(target), other))
        eliminated.append((pivot, row, value))
    pivots = {pivot for pivot, _, _ in eliminated}
    # Seeded from the system's size: deterministic output for deterministic input.
    rng = random.Random(len(unknowns) * 1_000_003 + len(eliminated))
    particular: dict[K, int] = {key: 0 for key in unknowns if key not in pivots}
    null: dict[K, int] = {key: rng.randrange(1, _PRIME) for key in particular}
    for pivot, row, value in reversed(eliminated):
        fixed = value
        loose = 0
        for key, coefficient in row.items():
            if key != pivot:
                fixed -= coefficient * particular[key]
                loose -= coefficient * null[key]
        particular[pivot] = fixed % _PRIME
        null[pivot] = loose % _PRIME
    # A count is non-negative and far below the prime; anything else means inconsistent input.
    return {
        key: particular[key] if particular[key] <= _PRIME // 2 else particular[key] - _PRIME
        for key in pivots
        if null[key] == 0
    }


def derivable_cells(table: Mapping[K, int | None], margins: Iterable[Margin[K]]) -> dict[K, int]:
    """Suppressed or hidden values an outsider can recover from the published ``table``.

    ``table`` maps each published key to its value, or None when it is shown as suppressed;
    keys that occur in ``margins`` (``(total, parts)``: total = sum of parts) but not in
    ``table`` are hidden. Returns the recovered keys with their values.
    """
    equations = _equations(margins)
    return _Outsider(table, equations, _index(equations)).solve()


def _check_table(counts: Mapping[K, int], margins: Sequence[Margin[K]]) -> None:
    if any(value < 0 for value in counts.values()):
        raise InconsistentTable("a count is negative")
    for total, parts in margins:
        if total not in counts or any(part not in counts for part in parts):
            raise InconsistentTable("a total or part has no count")
        if counts[total] != sum(counts[part] for part in parts):
            raise InconsistentTable("a total is not the sum of its parts")


def suppress(
    counts: Mapping[K, int],
    margins: Iterable[Margin[K]],
    *,
    hidden: Collection[K] = (),
    threshold: int = SMALL_CELL_MAX,
) -> Suppression[K]:
    """Primary and complementary suppression of ``counts`` (see the module docstring).

    ``margins`` lists ``(total, parts)`` pairs; ``hidden`` keys are never published but take
    part in the arithmetic. The iteration order of ``counts`` breaks ties, so the result is
    deterministic for a deterministic input.
    """
    margins = list(margins)
    _check_table(counts, margins)
    totals = frozenset(total for total, _ in margins)
    hidden_keys = frozenset(hidden)
    order = {key: index for index, key in enumerate(counts)}
    published: dict[K, int | None] = {
        key: (None if is_small(value, threshold) else value)
        for key, value in counts.items()
        if key not in hidden_keys
    }
    primary = frozenset(key for key, value in published.items() if value is None)
    complementary: set[K] = set()
    equations = _equations(margins)
    equations_of = _index(equations)

    def unknowns(index: int) -> list[K]:
        return [key for key in equations[index] if published.get(key) is None]

    def candidates(index: int) -> list[K]:
        return [
            key
            for key in equations[index]
            if published.get(key) is not None and counts[key] > 0 and key not in hidden_keys
        ]

    def still_leaks(leak: K, extra: K) -> bool:
        # A local check: the outsider on the equations within _TRIAL_RADIUS hops of the leak
        # (through keys unknown in the trial). It only chooses among candidates and orders
        # the work; whether the table is safe is decided by the full check of the main loop.
        def unknown(key: K) -> bool:
            return key == extra or published.get(key) is None

        near: set[int] = set()
        frontier = {leak}
        for _ in range(_TRIAL_RADIUS):
            layer = {i for key in frontier for i in equations_of.get(key, ())} - near
            near |= layer
            frontier = {key for i in layer for key in equations[i] if unknown(key)}
        local = [margins[i] for i in sorted(near)]
        view: dict[K, int | None] = {}
        for i in near:
            for key in equations[i]:
                if key in published:
                    view[key] = None if key == extra else published[key]
        return leak in derivable_cells(view, local)

    def complement_for(leak: K) -> K | None:
        # Candidates: the non-zero published neighbours of the leak, nearest equations first
        # (then widening through the unknowns they share), smallest value first within one
        # equation. The first candidate that stops this leak on its own wins; failing that,
        # the first candidate still makes progress and the loop comes back for more.
        ranked: list[K] = []
        seen_equations: set[int] = set()
        seen_keys: set[K] = {leak}
        frontier: set[K] = {leak}
        # Only the first _MAX_TRIALS candidates are ever used: stop widening once there.
        while frontier and len(ranked) < _MAX_TRIALS:
            layer = sorted(
                {i for key in frontier for i in equations_of.get(key, [])} - seen_equations,
                key=lambda i: (len(unknowns(i)), i),
            )
            for index in layer:
                options = sorted(
                    candidates(index), key=lambda k: (k in totals, counts[k], order[k])
                )
                ranked.extend(k for k in options if k not in ranked)
            seen_equations.update(layer)
            frontier = {key for i in layer for key in unknowns(i)} - seen_keys
            seen_keys |= frontier
        if not ranked:
            ranked = sorted(
                (key for key, value in published.items() if value),
                key=lambda k: (counts[k], order[k]),
            )
        for option in ranked[:_MAX_TRIALS]:
            if not still_leaks(leak, option):
                return option
        return ranked[0] if ranked else None

    def protect(key: K) -> bool:
        if key in hidden_keys:
            return is_small(counts[key], threshold)
        return published[key] is None

    # Classic pass first (cheap): an equation left with one unknown that must stay unknown
    # gets its smallest non-zero part (totals last) suppressed too; repeat to a fixed point.
    changed = True
    while changed:
        changed = False
        for index in range(len(equations)):
            open_keys = unknowns(index)
            if len(open_keys) == 1 and protect(open_keys[0]):
                options = candidates(index)
                if options:
                    pick = min(options, key=lambda k: (k in totals, counts[k], order[k]))
                    published[pick] = None
                    complementary.add(pick)
                    changed = True

    answered: dict[K, int] = {}  # rounds in which each leak was answered
    # Then the outsider's full arithmetic, until it recovers no small value. One full check
    # per round; the round answers its leaks one after the other (see below), and only a
    # full check with no leak ends the loop.
    while True:
        recovered = _Outsider(published, equations, equations_of).solve()
        leaks = sorted(
            (key for key in recovered if is_small(counts[key], threshold)), key=order.__getitem__
        )
        if not leaks:
            break
        added = 0
        for leak in leaks:
            # Every leak of the round is answered (measured: fewer rounds and no more
            # suppressed cells than answering only leaks far from earlier answers). A leak
            # that survives its answers is pinned by a long chain of totals the local trial
            # does not see; it gets twice as many complements each time it comes back, so
            # it takes a few rounds rather than one round per complement.
            chosen: K | None = None
            for _ in range(2 ** min(answered.get(leak, 0), _MAX_DOUBLINGS)):
                chosen = complement_for(leak)
                if chosen is None:
                    break
                published[chosen] = None
                complementary.add(chosen)
                added += 1
            if chosen is None:
                break  # nothing left near this leak: the next full check decides
            answered[leak] = answered.get(leak, 0) + 1
        if not added:
            raise SuppressionFailed("no cell left to suppress, yet a small value is derivable")
    return Suppression(published, primary, frozenset(complementary))
