"""``--privacy dp``: a week's counts and driver means with zero-concentrated DP (OpenDP).

Why OpenDP: a well-kept library whose mechanisms carry their own privacy maps (it computes
the privacy loss from the sensitivity we state) and sample exact discrete Gaussian noise
from a cryptographic source; no noise is hand-rolled here.

What is released per life experience and ISO week (weeks hold disjoint journeys, so they
compose in parallel):

* **base counts**, one noisy vector: ``journeys-started`` at (agency, stage), every status
  (active included: under DP nothing needs hiding) at (agency, ``*``) and at (``*``,
  ``*``). One journey that touched ``k <= A`` catalog agencies changes ``2k + 1`` of them by
  one: L2 sensitivity ``sqrt(2A + 1)``. Every other count is a sum of base counts
  (post-processing, no extra loss): (agency, ``*``) started, (``*``, stage), the total;
* **driver means** at (agency, ``*``) and (``*``, ``*``): a noisy answer count and a noisy
  sum of answers (each journey's average in hundredths shifted to ``0..400``), each over
  ``A + 1`` positions; ``mean = 1 + sum / (100 * count)``, shown only when the noisy count
  exceeds its own 95% error (else withheld as too few answers).

Budget (defaults; ``rho`` is zCDP): :data:`DEFAULT_RHO` per release, split half to the
counts and half over the drivers (each driver's half between answers and sums); at most
:data:`DEFAULT_RHO_LIMIT` per (life experience, week), so one correction fits. Every value
carries ``error_95``: the half-width of a 95% interval of its noise (OpenDP's exact figure
for one noisy count, ``1.96 * sigma * sqrt(m)`` for a sum of ``m``, and for a mean the
interval of ``sum / count`` over both intervals). Noisy counts are clamped at 0 and rounded
(post-processing). Days, hand-offs and percentiles are not released under DP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from consumers.errors import InsightsError
from consumers.insights.aggregate.model import ALL, InsightMetric
from consumers.insights.release.table import DRIVER_METRICS
from contracts.catalog import LifeExperience
from contracts.insights import InsightCell, SuppressionReason
from contracts.joined import JourneySnapshot, Metric, PeriodKind
from contracts.vocabulary import STAGE_ORDER, JourneyStatus

__all__ = ["DEFAULT_RHO", "DEFAULT_RHO_LIMIT", "DpWeek", "gaussian", "release_dp_week"]

DEFAULT_RHO: Final = 0.5
DEFAULT_RHO_LIMIT: Final = 1.0
_Z95: Final = 1.959963984540054
_HUNDREDTHS: Final = 100
_STATUS_METRICS: Final = {
    JourneyStatus.COMPLETED: InsightMetric.JOURNEYS_COMPLETED,
    JourneyStatus.STALLED: InsightMetric.JOURNEYS_STALLED,
    JourneyStatus.EXPIRED: InsightMetric.JOURNEYS_EXPIRED,
    JourneyStatus.ACTIVE: InsightMetric.JOURNEYS_ACTIVE,
}


def _dp() -> Any:
    """OpenDP's prelude, imported on first use: it is an optional extra (``[dp]``)."""
    try:
        import opendp.prelude as dp
    except ImportError:
        raise InsightsError("--privacy dp needs OpenDP: pip install 'cx-broker[dp]'") from None
    dp.enable_features("contrib")  # OpenDP keeps its mechanisms behind this flag
    return dp


@dataclass(frozen=True)
class Gaussian:
    """A discrete Gaussian mechanism on integer vectors and its noise scale."""

    measurement: Any
    scale: float

    def __call__(self, values: Sequence[int]) -> list[int]:
        return [int(v) for v in self.measurement(list(values))]

    def half_width(self, terms: int = 1) -> float:
        """95% half-width of the noise of one value, or of a sum of ``terms`` values."""
        if terms == 1:
            return float(_dp().discrete_gaussian_scale_to_accuracy(self.scale, 0.05))
        return _Z95 * self.scale * math.sqrt(terms)


def gaussian(sensitivity_l2: float, rho: float) -> Gaussian:
    """OpenDP's discrete Gaussian with the smallest scale whose privacy loss at
    ``sensitivity_l2`` is at most ``rho`` (checked against OpenDP's own privacy map)."""
    dp = _dp()
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=float)
    scale = dp.binary_search_param(
        lambda s: dp.m.make_gaussian(*space, s), d_in=sensitivity_l2, d_out=rho
    )
    measurement = dp.m.make_gaussian(*space, scale)
    if measurement.map(sensitivity_l2) > rho * (1 + 1e-9):
        raise AssertionError("OpenDP's privacy map exceeds the planned rho")
    return Gaussian(measurement, float(scale))


@dataclass(frozen=True)
class DpWeek:
    """One DP release's cells (without release id) and the rho it spends."""

    cells: list[InsightCell]
    rho: float


def release_dp_week(
    week: str,
    journeys: Sequence[JourneySnapshot],
    life_experience: LifeExperience,
    *,
    rho: float = DEFAULT_RHO,
) -> DpWeek:
    """Noisy cells of ``week`` (module docstring). The caller charges ``rho`` first."""
    agencies = list(life_experience.agencies)
    stages = [s.value for s in STAGE_ORDER]
    places = [*agencies, ALL]
    base_keys = [(a, s, InsightMetric.JOURNEYS_STARTED) for a in agencies for s in stages]
    base_keys += [(p, ALL, m) for p in places for m in _STATUS_METRICS.values()]
    base = dict.fromkeys(base_keys, 0)
    answers = {(p, m): 0 for p in places for m in DRIVER_METRICS.values()}
    sums = dict.fromkeys(answers, 0)
    for journey in journeys:
        steps = {s.agency: s.stage.value for s in journey.agencies if s.agency in agencies}
        if not steps:
            continue
        status = _STATUS_METRICS[journey.status]
        for agency, stage in steps.items():
            base[(agency, stage, InsightMetric.JOURNEYS_STARTED)] += 1
            base[(agency, ALL, status)] += 1
        base[(ALL, ALL, status)] += 1
        for driver, metric in DRIVER_METRICS.items():
            answer = getattr(journey.drivers, driver)
            if answer is None:
                continue
            shifted = round((min(5.0, max(1.0, answer)) - 1.0) * _HUNDREDTHS)
            for place in [*steps, ALL]:
                answers[(place, metric)] += 1
                sums[(place, metric)] += shifted
    share = rho / 2 / len(DRIVER_METRICS)
    counts = gaussian(math.sqrt(2 * len(agencies) + 1), rho / 2)
    noisy = dict(zip(base_keys, counts([base[k] for k in base_keys]), strict=True))
    cells: list[InsightCell] = []

    def add(
        place: str, stage: str, metric: InsightMetric, parts: list[tuple[str, str, Any]]
    ) -> None:
        if metric is InsightMetric.JOURNEYS_ACTIVE:
            return
        value = max(0, sum(noisy[p] for p in parts))
        cells.append(
            _cell(
                life_experience.id,
                week,
                place,
                stage,
                metric,
                float(value),
                counts.half_width(len(parts)),
            )
        )

    statuses = list(_STATUS_METRICS.values())
    for agency in agencies:
        for stage in stages:
            add(
                agency,
                stage,
                InsightMetric.JOURNEYS_STARTED,
                [(agency, stage, InsightMetric.JOURNEYS_STARTED)],
            )
    for place in places:
        add(place, ALL, InsightMetric.JOURNEYS_STARTED, [(place, ALL, m) for m in statuses])
        for m in statuses:
            add(place, ALL, m, [(place, ALL, m)])
    for stage in stages:
        add(
            ALL,
            stage,
            InsightMetric.JOURNEYS_STARTED,
            [(a, stage, InsightMetric.JOURNEYS_STARTED) for a in agencies],
        )
    for metric in DRIVER_METRICS.values():
        keys = [(p, metric) for p in places]
        n_mech = gaussian(math.sqrt(len(places)), share / 2)
        s_mech = gaussian(math.sqrt(len(places)) * 4 * _HUNDREDTHS, share / 2)
        n_noisy = n_mech([answers[k] for k in keys])
        s_noisy = s_mech([sums[k] for k in keys])
        n_hw, s_hw = n_mech.half_width(), s_mech.half_width()
        for (place, _), n, total in zip(keys, n_noisy, s_noisy, strict=True):
            cells.append(_mean(life_experience.id, week, place, metric, n, total, n_hw, s_hw))
    return DpWeek(cells, rho)


def _mean(
    le: str,
    week: str,
    place: str,
    metric: InsightMetric,
    n: int,
    total: int,
    n_hw: float,
    s_hw: float,
) -> InsightCell:
    if n <= n_hw:
        return _cell(le, week, place, ALL, metric, None, None, SuppressionReason.FEW_ANSWERS)
    mean = min(5.0, max(1.0, 1.0 + total / (_HUNDREDTHS * n)))
    low = max(1.0, 1.0 + (total - s_hw) / (_HUNDREDTHS * (n + n_hw)))
    high = min(5.0, 1.0 + (total + s_hw) / (_HUNDREDTHS * (n - n_hw)))
    return _cell(
        le, week, place, ALL, metric, round(mean, 2), round(max(mean - low, high - mean), 2)
    )


def _cell(
    le: str,
    week: str,
    place: str,
    stage: str,
    metric: InsightMetric,
    value: float | None,
    error: float | None,
    reason: SuppressionReason | None = None,
) -> InsightCell:
    return InsightCell(
        life_experience=le,
        period_kind=PeriodKind.WEEK,
        period=week,
        agency=None if place == ALL else place,
        stage=None if stage == ALL else stage,
        metric=Metric(metric.value),
        value=value,
        suppressed=value is None,
        reason=reason,
        error_95=None if error is None else round(error, 2),
    )
