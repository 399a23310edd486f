"""The vocabulary and the journey-level steps of the insights aggregation (pure).

:mod:`.snapshots` picks the latest snapshot of each journey and groups them by the ISO week
they started in; :mod:`.handoffs` finds where stalled journeys stopped; :mod:`.model` holds
the metrics and cell keys. The week tables, releases and their audit are in
:mod:`consumers.insights.release` and :mod:`consumers.insights.audit`.
"""

from consumers.insights.aggregate.handoffs import HandOff, handoff_of, stall_handoffs
from consumers.insights.aggregate.model import ALL, CellKey, InsightMetric
from consumers.insights.aggregate.snapshots import journeys_by_week, latest_snapshots

__all__ = [
    "ALL",
    "CellKey",
    "HandOff",
    "InsightMetric",
    "handoff_of",
    "journeys_by_week",
    "latest_snapshots",
    "stall_handoffs",
]
