"""Privacy-safe insights: per life experience and ISO week, released once the week has
closed, audited by integer programming against every earlier release, small cells and the
cells that would give them away suppressed; published to ``cx.insights.<life-experience>``.

:mod:`.aggregate` (journeys by week, hand-offs), :mod:`.release` (the week's table, draft,
cells, plan and history), :mod:`.audit` (the disclosure audit and complementary
suppression), :mod:`.dp` (the differentially private alternative), :mod:`.topics` and
:mod:`.service` (the Kafka edge).
"""

from consumers.errors import (
    BudgetExceeded,
    InconsistentRelease,
    InconsistentTable,
    InsightsError,
    SuppressionFailed,
)
from consumers.insights.aggregate import CellKey, HandOff, InsightMetric, latest_snapshots
from consumers.insights.audit import AuditReport, ProtectionRule, audit, protect
from consumers.insights.service import CatchUpReport, InsightsService, ReleaseSummary
from consumers.insights.topics import Released, read_insights, read_joined, read_releases

__all__ = [
    "AuditReport",
    "BudgetExceeded",
    "CatchUpReport",
    "CellKey",
    "HandOff",
    "InconsistentRelease",
    "InconsistentTable",
    "InsightMetric",
    "InsightsError",
    "InsightsService",
    "ProtectionRule",
    "ReleaseSummary",
    "Released",
    "SuppressionFailed",
    "audit",
    "latest_snapshots",
    "protect",
    "read_insights",
    "read_joined",
    "read_releases",
]
