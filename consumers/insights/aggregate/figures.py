"""The figures of one week: suppressed counts, and the statistics their counts allow.

Statistics of a position are published only when the counts they are computed from are:

* ``completion-rate`` = completed / started, needs both counts published (a rate and one
  count would give the other count away);
* ``median-days-to-complete``, ``p90-days-to-complete`` (nearest rank) over completed
  journeys' elapsed time, need the completed count published;
* ``mean-elapsed-days`` and the A-11 driver means (each journey's driver average weighs
  one) need the started count published, and a driver mean also needs more than 10
  journeys with an answer for that driver.

Statistics at ``(*, stage)`` are over visits, like the count there; everything else is over
journeys.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Final

from consumers.insights.aggregate.handoffs import handoff_key
from consumers.insights.aggregate.model import HIDDEN, LAYERS, CellKey, Figure, InsightMetric
from consumers.insights.aggregate.tables import WeekTables
from consumers.insights.suppression import Suppression, is_small, suppress
from contracts.events import A11_DRIVERS
from contracts.joined import JourneySnapshot
from contracts.vocabulary import JourneyStatus

__all__ = ["week_figures"]

_SECONDS_PER_DAY: Final = 86_400.0

#: Driver attribute of DriverAverages -> its metric.
_DRIVER_METRICS: Final[dict[str, InsightMetric]] = {
    driver: InsightMetric(driver.replace("_", "-")) for driver in A11_DRIVERS
}


def week_figures(tables: WeekTables) -> list[Figure]:
    """Suppressed counts and the statistics that may follow from them, for every period,
    position and hand-off of ``tables``."""
    table = tables.table()
    result: Suppression[CellKey] = suppress(table.counts, table.margins, hidden=table.hidden)
    published = result.published
    figures: list[Figure] = []
    for period in tables.periods:
        for agency in tables.rows:
            for stage in tables.columns:
                figures += _position(tables, period, agency, stage, published)
        for source, target in tables.handoffs:
            key = handoff_key(period, source, target)
            shown = published[key]
            value = None if shown is None else float(shown)
            figures.append(Figure(key, value, shown, shown is None))
    return figures


def _position(
    tables: WeekTables,
    period: str,
    agency: str,
    stage: str,
    published: Mapping[CellKey, int | None],
) -> list[Figure]:
    """The figures of one position: its published counts, then its statistics."""

    def key(metric: InsightMetric) -> CellKey:
        return CellKey(period, agency, stage, metric)

    figures: list[Figure] = []
    for metric, _ in LAYERS:
        if metric not in HIDDEN:
            shown = published[key(metric)]
            value = None if shown is None else float(tables.counts[key(metric)])
            figures.append(Figure(key(metric), value, shown, shown is None))
    members = tables.members[(period, agency, stage)]
    started = published[key(InsightMetric.JOURNEYS_STARTED)]
    completed = published[key(InsightMetric.JOURNEYS_COMPLETED)]
    for metric, blocked, value in _statistics(members, started, completed):
        figures.append(Figure(key(metric), None if blocked else value, None, blocked))
    return figures


def _statistics(
    members: Sequence[JourneySnapshot], started: int | None, completed: int | None
) -> list[tuple[InsightMetric, bool, float | None]]:
    """Every statistic of a position as (metric, blocked, value), given its members and its
    published started and completed counts (None: suppressed); see the module docstring."""
    rate = completed / started if started and completed is not None else None
    days_to_complete = sorted(
        j.elapsed_seconds / _SECONDS_PER_DAY for j in members if j.status is JourneyStatus.COMPLETED
    )
    no_completed = started is None or completed is None
    elapsed = [j.elapsed_seconds / _SECONDS_PER_DAY for j in members]
    result: list[tuple[InsightMetric, bool, float | None]] = [
        (
            InsightMetric.COMPLETION_RATE,
            started is None or completed is None,
            None if rate is None else round(rate, 6),
        ),
        (
            InsightMetric.MEDIAN_DAYS_TO_COMPLETE,
            no_completed,
            round(statistics.median(days_to_complete), 4) if days_to_complete else None,
        ),
        (
            InsightMetric.P90_DAYS_TO_COMPLETE,
            no_completed,
            round(_percentile(days_to_complete, 0.9), 4) if days_to_complete else None,
        ),
        (
            InsightMetric.MEAN_ELAPSED_DAYS,
            started is None,
            round(statistics.fmean(elapsed), 4) if elapsed else None,
        ),
    ]
    for driver, metric in _DRIVER_METRICS.items():
        answers = [value for j in members if (value := getattr(j.drivers, driver)) is not None]
        blocked = started is None or is_small(len(answers))
        result.append((metric, blocked, round(statistics.fmean(answers), 4) if answers else None))
    return result


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (deterministic, always an observation)."""
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]
