"""Privacy-safe insights: per life experience, period, agency and stage, with small cells
suppressed (primary and complementary), published to ``cx.insights.<life-experience>``."""

from consumers.insights.aggregate import (
    CellKey,
    Figure,
    HandOff,
    InsightMetric,
    compute_figures,
    compute_insights,
    latest_snapshots,
    stall_handoffs,
    to_insight_cells,
)
from consumers.insights.errors import InconsistentTable, InsightsError, SuppressionFailed
from consumers.insights.suppression import Margin, Suppression, derivable_cells, suppress

__all__ = [
    "CellKey",
    "Figure",
    "HandOff",
    "InconsistentTable",
    "InsightMetric",
    "InsightsError",
    "Margin",
    "Suppression",
    "SuppressionFailed",
    "compute_figures",
    "compute_insights",
    "derivable_cells",
    "latest_snapshots",
    "stall_handoffs",
    "suppress",
    "to_insight_cells",
]
