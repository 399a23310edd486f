"""Exact linear algebra for the checker: which unknowns a system of equations fixes.

Over the equations elimination and bounds leave open, a value is determined iff every
solution of the homogeneous system is 0 there. Sparse Gaussian elimination with Markowitz
pivoting (short rows first, the pivot occurring in fewest rows) keeps fill-in small; one
back substitution gives a particular solution, another with random free unknowns a random
null-space vector, and the unknowns where it is 0 are the determined ones. Exact integer
arithmetic modulo a 61-bit prime, which agrees with rational arithmetic unless the prime
divides a minor of the small +-1 system (vanishingly unlikely); the random vector misses a
free direction with probability 1/prime per unknown, an error that would only
over-suppress.
"""

from __future__ import annotations

import heapq
import random

from consumers.insights.suppression.table import K

__all__ = ["determined"]

# The Mersenne prime 2**61 - 1: Gaussian elimination runs in exact integers modulo it.
_PRIME = (1 << 61) - 1


def determined(rows: list[tuple[dict[K, int], int]]) -> dict[K, int]:
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
    eliminated, unknowns = _eliminate(rows)
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


def _eliminate(
    rows: list[tuple[dict[K, int], int]],
) -> tuple[list[tuple[K, dict[K, int], int]], list[K]]:
    """Forward elimination: the pivot rows in elimination order, each as (pivot, row with
    pivot coefficient 1, rhs), and every unknown of the system in order of appearance."""
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
    return eliminated, unknowns
