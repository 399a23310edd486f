"""Insights of one life experience, computed from the latest journey snapshots (pure).

The modules follow the computation: :mod:`.snapshots` picks the latest snapshot of each
journey and groups them by ISO week; :mod:`.tables` counts one week and its days and states
which totals are published (the margins suppression protects); :mod:`.handoffs` finds where
stalled journeys stopped; :mod:`.figures` suppresses a week's counts and derives the
statistics they allow; :mod:`.cells` turns figures into ``InsightCell`` records;
:mod:`.compute` strings them together. :mod:`.model` holds the shared vocabulary.
"""

from consumers.insights.aggregate.cells import to_insight_cells
from consumers.insights.aggregate.compute import (
    compute_figures,
    compute_insights,
    count_tables,
    week_insights,
)
from consumers.insights.aggregate.handoffs import HandOff, handoff_of, stall_handoffs
from consumers.insights.aggregate.model import ALL, CellKey, Figure, InsightMetric
from consumers.insights.aggregate.snapshots import journeys_by_week, latest_snapshots
from consumers.insights.aggregate.tables import CountTable

__all__ = [
    "ALL",
    "CellKey",
    "CountTable",
    "Figure",
    "HandOff",
    "InsightMetric",
    "compute_figures",
    "compute_insights",
    "count_tables",
    "handoff_of",
    "journeys_by_week",
    "latest_snapshots",
    "stall_handoffs",
    "to_insight_cells",
    "week_insights",
]
