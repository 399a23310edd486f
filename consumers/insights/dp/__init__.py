"""Differentially private insights (``--privacy dp``): OpenDP's discrete Gaussian on a week's
counts and driver means, with a privacy budget per life experience and week that is
recorded, persisted and enforced (:mod:`.budget`). Suppression stays the default."""

from consumers.insights.dp.budget import BudgetLedger
from consumers.insights.dp.week import (
    DEFAULT_RHO,
    DEFAULT_RHO_LIMIT,
    DpWeek,
    gaussian,
    release_dp_week,
)

__all__ = [
    "DEFAULT_RHO",
    "DEFAULT_RHO_LIMIT",
    "BudgetLedger",
    "DpWeek",
    "gaussian",
    "release_dp_week",
]
