"""The vocabulary of the aggregation: metrics, count layers, cell keys and figures.

Every other module of :mod:`consumers.insights.aggregate` speaks it: the counting tables
address counts by :class:`CellKey`, the figures carry one, and the contract conversion maps
:class:`InsightMetric` onto the contract's ``Metric``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple

from contracts.vocabulary import JourneyStatus

__all__ = ["ALL", "HIDDEN", "LAYERS", "STATUS_LAYERS", "CellKey", "InsightMetric"]

#: The "all agencies" / "all stages" marker inside a :class:`CellKey`.
ALL: Final = "*"


class InsightMetric(StrEnum):
    """Everything the aggregation computes. Values equal to a contract ``Metric`` are published
    under it; ``journeys-active`` is never published (a hidden count, see
    :mod:`consumers.insights.aggregate.tables` and
    :func:`~consumers.insights.aggregate.cells.to_insight_cells`)."""

    JOURNEYS_STARTED = "journeys-started"
    JOURNEYS_COMPLETED = "journeys-completed"
    JOURNEYS_STALLED = "journeys-stalled"
    JOURNEYS_EXPIRED = "journeys-expired"
    JOURNEYS_ACTIVE = "journeys-active"
    COMPLETION_RATE = "completion-rate"
    MEDIAN_DAYS_TO_COMPLETE = "median-days-to-complete"
    P90_DAYS_TO_COMPLETE = "p90-days-to-complete"
    STALLS_AT_HANDOFF = "stalls-at-handoff"
    MEAN_ELAPSED_DAYS = "mean-elapsed-days"
    SATISFACTION = "satisfaction"
    TRUST = "trust"
    EFFECTIVENESS = "effectiveness"
    EASE = "ease"
    EFFICIENCY = "efficiency"
    EQUITY_TRANSPARENCY = "equity-transparency"
    EMPLOYEE_HELPFULNESS = "employee-helpfulness"
    HUMANITY = "humanity"


#: Count layers and the journey status each one keeps (None: every journey).
LAYERS: Final[tuple[tuple[InsightMetric, JourneyStatus | None], ...]] = (
    (InsightMetric.JOURNEYS_STARTED, None),
    (InsightMetric.JOURNEYS_COMPLETED, JourneyStatus.COMPLETED),
    (InsightMetric.JOURNEYS_STALLED, JourneyStatus.STALLED),
    (InsightMetric.JOURNEYS_EXPIRED, JourneyStatus.EXPIRED),
    (InsightMetric.JOURNEYS_ACTIVE, JourneyStatus.ACTIVE),
)
#: The layers of one status each (their sum is the started layer).
STATUS_LAYERS: Final = tuple(metric for metric, status in LAYERS if status is not None)
#: Counts never published (they still take part in the suppression arithmetic).
HIDDEN: Final = frozenset({InsightMetric.JOURNEYS_ACTIVE})


class CellKey(NamedTuple):
    """Address of one figure: period label, agency or ``*``, stage or ``*``, metric, and for
    a stall hand-off the agency handed to (None: the journey had reached every agency)."""

    period: str
    agency: str
    stage: str
    metric: InsightMetric
    to_agency: str | None = None
