"""Interval bounds through one equation: the checker's reasoning from "at least 1".

An outsider knows more than the published values: a suppressed value is >= 1 (zeros are
never suppressed) and a hidden one >= 0. Through an equation ``sum(c * x) = rhs`` those
bounds narrow each other, e.g. a row ``[*, *]`` whose suppressed cells sum to 2 pins both
to 1. This module computes what one equation implies; the checker
(:mod:`~consumers.insights.suppression.checker`) applies it and propagates the changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from consumers.insights.suppression.table import K

__all__ = ["implied_ranges"]


def implied_ranges(
    terms: Sequence[tuple[K, int]],
    low: Mapping[K, int],
    high: Mapping[K, float],
    rhs: int,
) -> list[tuple[K, float, float]]:
    """Per unknown ``x`` of ``sum(c * x) = rhs`` (``terms``: (x, c) with c = +-1): the range
    ``(x, bottom, top)`` that ``x`` must lie in given the other unknowns' bounds
    (``low[x] <= x <= high[x]``; ``math.inf`` when unbounded). Not rounded to integers."""
    # Range of each term c * x.
    lows: list[float] = []
    highs: list[float] = []
    for key, coefficient in terms:
        if coefficient > 0:
            lows.append(low[key])
            highs.append(high[key])
        else:
            lows.append(-high[key])
            highs.append(-low[key])
    low_inf = sum(1 for v in lows if v == -math.inf)
    high_inf = sum(1 for v in highs if v == math.inf)
    low_sum = sum(v for v in lows if v != -math.inf)
    high_sum = sum(v for v in highs if v != math.inf)
    ranges: list[tuple[K, float, float]] = []
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
        ranges.append((key, bottom, top))
    return ranges
