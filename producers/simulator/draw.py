"""Small random draws shared by the simulator modules (all from an explicit ``Random``)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import TypeVar

__all__ = ["chance", "lognormal_delay", "lognormal_seconds", "weighted"]

K = TypeVar("K")


def weighted(rng: random.Random, weights: Mapping[K, float]) -> K:
    """One key of ``weights``, drawn with probability proportional to its weight."""
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def chance(rng: random.Random, probability: float) -> bool:
    """True with the given probability."""
    return rng.random() < probability


def lognormal_seconds(
    rng: random.Random, median: float, sigma: float, *, low: float = 0.0, high: float = math.inf
) -> float:
    """A log-normal duration in seconds with the given median, clamped to ``[low, high]``.

    Service delays are skewed: most are near the median, a long tail takes many times longer.
    """
    value = median * math.exp(rng.gauss(0.0, sigma))
    return min(max(value, low), high)


def lognormal_delay(
    rng: random.Random,
    median: timedelta,
    sigma: float,
    *,
    low: timedelta = timedelta(0),
    high: timedelta = timedelta(days=366),
) -> timedelta:
    """:func:`lognormal_seconds` as a whole-second ``timedelta``."""
    seconds = lognormal_seconds(
        rng, median.total_seconds(), sigma, low=low.total_seconds(), high=high.total_seconds()
    )
    return timedelta(seconds=round(seconds))
