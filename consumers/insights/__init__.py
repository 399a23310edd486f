"""Privacy-safe insights: per life experience, period, agency and stage, with small cells
suppressed (primary and complementary), published to ``cx.insights.<life-experience>``."""

from consumers.errors import InconsistentTable, InsightsError, SuppressionFailed
from consumers.insights.aggregate import (
    CellKey,
    CountTable,
    Figure,
    HandOff,
    InsightMetric,
    compute_figures,
    compute_insights,
    count_tables,
    latest_snapshots,
    stall_handoffs,
    to_insight_cells,
)
from consumers.insights.service import CatchUpReport, InsightsService, read_insights, read_joined
from consumers.insights.suppression import Margin, Suppression, derivable_cells, suppress

__all__ = [
    "CatchUpReport",
    "CellKey",
    "CountTable",
    "Figure",
    "HandOff",
    "InconsistentTable",
    "InsightMetric",
    "InsightsError",
    "InsightsService",
    "Margin",
    "Suppression",
    "SuppressionFailed",
    "compute_figures",
    "compute_insights",
    "count_tables",
    "derivable_cells",
    "latest_snapshots",
    "read_insights",
    "read_joined",
    "stall_handoffs",
    "suppress",
    "to_insight_cells",
]
