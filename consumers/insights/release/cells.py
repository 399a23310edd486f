"""From a protected release to contract records: what of a week reaches the topic.

Counts are published as they passed the audit (a suppressed one with its reason); a mean
carries its answer count in ``count``. Two more statistics follow from published counts
only, so they add nothing the audit has not seen:

* ``completion-rate`` = completed / started at a position where both are published (a rate
  next to one suppressed count would give that count away);
* ``median-days-to-complete`` and ``p90-days-to-complete`` at (agency, ``*``) and
  (``*``, ``*``): an order statistic is one person's exact value, so it is published only
  **rounded to whole weeks** (a multiple of 7 days), only where the completed count is
  published and at least :data:`PERCENTILE_MIN_COMPLETED`, and only when at least 11
  completed journeys of the cell round to the same value (the published figure is then
  shared by 11 people or more and is nobody's own time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from consumers.insights.aggregate.model import ALL, CellKey, InsightMetric
from consumers.insights.audit import Marker, Release
from consumers.insights.release.draft import Reason
from consumers.insights.release.table import WeekTable
from contracts.insights import InsightCell, SuppressionReason
from contracts.joined import SMALL_CELL_MAX, Metric, PeriodKind

__all__ = ["PERCENTILE_MIN_COMPLETED", "PERCENTILE_ROUNDING_DAYS", "release_cells", "rounded"]

#: Percentiles of days to complete are published only over at least this many journeys.
PERCENTILE_MIN_COMPLETED: Final = 20
#: ... rounded to a multiple of this many days.
PERCENTILE_ROUNDING_DAYS: Final = 7.0


def rounded(days: float) -> float:
    """``days`` rounded to the nearest multiple of :data:`PERCENTILE_ROUNDING_DAYS`."""
    return PERCENTILE_ROUNDING_DAYS * round(days / PERCENTILE_ROUNDING_DAYS)


def release_cells(
    life_experience: str,
    table: WeekTable,
    release: Release,
    reasons: Mapping[object, Reason],
) -> list[InsightCell]:
    """Every published cell of ``release`` (of ``table``'s week), as contract records."""
    known = {metric.value: metric for metric in Metric}
    out: list[InsightCell] = []
    for key, shown in release.cells.items():
        if not isinstance(key, CellKey) or key.metric.value not in known:
            continue
        if isinstance(shown, Marker):
            if shown is Marker.HIDDEN:
                continue
            reason = _published_reason(reasons.get(key, Reason.COMPLEMENTARY))
            out.append(_cell(life_experience, key, None, None, reason))
            continue
        if key in release.means:
            count = release.cells[release.means[key].count_key]
            assert not isinstance(count, Marker)
            if count > 0:  # no answers: no mean (undefined, not suppressed)
                out.append(_cell(life_experience, key, float(shown), int(count)))
        else:
            out.append(_cell(life_experience, key, float(shown), int(shown)))
    out += _rates(life_experience, table, release)
    out += _percentiles(life_experience, table, release)
    return out


def _published_reason(reason: Reason) -> SuppressionReason:
    """The reason a reader sees: primary and complementary suppression of a count look the
    same (either would tell on which side of 11 the count lies)."""
    if reason in (Reason.SMALL_COUNT, Reason.COMPLEMENTARY):
        return SuppressionReason.SMALL_CELL
    return SuppressionReason(reason.value)


def _cell(
    life_experience: str,
    key: CellKey,
    value: float | None,
    count: int | None,
    reason: SuppressionReason | None = None,
) -> InsightCell:
    return InsightCell(
        life_experience=life_experience,
        period_kind=PeriodKind.WEEK if "W" in key.period else PeriodKind.DAY,
        period=key.period,
        agency=None if key.agency == ALL else key.agency,
        stage=None if key.stage == ALL else key.stage,
        metric=Metric(key.metric.value),
        to_agency=key.to_agency,
        value=value,
        count=count,
        suppressed=value is None,
        reason=reason,
    )


def _shown(release: Release, key: CellKey) -> float | None:
    value = release.cells.get(key)
    return None if value is None or isinstance(value, Marker) else float(value)


def _rates(life_experience: str, table: WeekTable, release: Release) -> list[InsightCell]:
    out: list[InsightCell] = []
    for key in table.values:
        if not isinstance(key, CellKey) or key.metric is not InsightMetric.JOURNEYS_STARTED:
            continue
        if key.stage != ALL:
            continue
        completed_key = key._replace(metric=InsightMetric.JOURNEYS_COMPLETED)
        started, completed = _shown(release, key), _shown(release, completed_key)
        rate_key = key._replace(metric=InsightMetric.COMPLETION_RATE)
        if started is None or completed is None:
            reason = SuppressionReason.FEW_ANSWERS
            out.append(_cell(life_experience, rate_key, None, None, reason))
        elif started > 0:
            out.append(_cell(life_experience, rate_key, round(completed / started, 4), None))
    return out


def _percentiles(life_experience: str, table: WeekTable, release: Release) -> list[InsightCell]:
    out: list[InsightCell] = []
    metrics = (
        (InsightMetric.MEDIAN_DAYS_TO_COMPLETE, 0.5),
        (InsightMetric.P90_DAYS_TO_COMPLETE, 0.9),
    )
    for place, days in table.days_to_complete.items():
        completed = _shown(
            release, CellKey(table.week, place, ALL, InsightMetric.JOURNEYS_COMPLETED)
        )
        for metric, fraction in metrics:
            key = CellKey(table.week, place, ALL, metric)
            value = _percentile(days, fraction, completed)
            reason = None if value is not None else SuppressionReason.FEW_ANSWERS
            if value is None and not days:
                continue  # nothing completed: undefined, not suppressed
            out.append(_cell(life_experience, key, value, None, reason))
    return out


def _percentile(days: Sequence[float], fraction: float, published: float | None) -> float | None:
    """The rounded nearest-rank percentile, or None when the rule withholds it."""
    if published is None or published < PERCENTILE_MIN_COMPLETED or not days:
        return None
    value = rounded(days[max(1, math.ceil(fraction * len(days))) - 1])
    sharing = sum(1 for d in days if rounded(d) == value)
    return value if sharing > SMALL_CELL_MAX else None
