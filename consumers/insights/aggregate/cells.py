"""From figures to contract records: what of the aggregation reaches Kafka.

:func:`to_insight_cells` keeps the figures whose metric the ``InsightCell`` contract (1.1.0)
names: the four journey counts, ``completion-rate``, ``median-days-to-complete``,
``p90-days-to-complete``, ``stalls-at-handoff``, ``mean-elapsed-days`` and the eight A-11
drivers; never the hidden active count.
"""

from __future__ import annotations

from collections.abc import Iterable

from consumers.insights.aggregate.model import ALL, Figure
from contracts.joined import InsightCell, Metric, PeriodKind

__all__ = ["to_insight_cells"]


def to_insight_cells(life_experience: str, figures: Iterable[Figure]) -> list[InsightCell]:
    """The figures the ``InsightCell`` contract can carry, as contract records.

    A figure whose metric the contract's ``Metric`` does not name is left out (see
    ``InsightMetric``), as are hidden counts.
    """
    known = {metric.value: metric for metric in Metric}
    cells: list[InsightCell] = []
    for figure in figures:
        metric = known.get(figure.key.metric.value)
        if metric is None:
            continue
        period = figure.key.period
        cells.append(
            InsightCell(
                life_experience=life_experience,
                period_kind=PeriodKind.WEEK if "W" in period else PeriodKind.DAY,
                period=period,
                agency=None if figure.key.agency == ALL else figure.key.agency,
                stage=None if figure.key.stage == ALL else figure.key.stage,
                metric=metric,
                to_agency=figure.key.to_agency,
                value=figure.value,
                count=figure.count,
                suppressed=figure.suppressed,
            )
        )
    return cells
