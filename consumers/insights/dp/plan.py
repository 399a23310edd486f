"""The next differentially private release of a week: the same release rules as suppression
(due once closed plus grace; again only once final, or for late data), and the budget
charged before any noise is drawn."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from consumers.insights.dp.budget import BudgetLedger
from consumers.insights.dp.week import DEFAULT_RHO, DEFAULT_RHO_LIMIT, release_dp_week
from consumers.insights.release.history import PastRelease
from consumers.insights.release.table import week_table
from contracts.catalog import LifeExperience
from contracts.insights import InsightRelease, Privacy, release_id
from contracts.joined import JourneySnapshot

__all__ = ["next_dp_release"]


def next_dp_release(
    week: str,
    journeys: Sequence[JourneySnapshot],
    life_experience: LifeExperience,
    past: Sequence[PastRelease],
    ledger: BudgetLedger,
    *,
    now: datetime,
    rho: float = DEFAULT_RHO,
    rho_limit: float = DEFAULT_RHO_LIMIT,
) -> PastRelease | None:
    """The week's next DP release, or None when nothing is to be released; raises
    :class:`~consumers.errors.BudgetExceeded` when its budget would be exceeded."""
    table = week_table(week, journeys, life_experience)
    last = past[-1] if past else None
    if last is not None and (
        last.truth == table.values or (not last.manifest.final and not table.final)
    ):
        return None
    version = 1 if last is None else last.manifest.version + 1
    rid = release_id(week, version, Privacy.DP)
    ledger.charge(life_experience.id, week, rid, rho, rho_limit)  # before any noise
    noisy = release_dp_week(week, journeys, life_experience, rho=rho)
    cells = [cell.model_copy(update={"release": rid}) for cell in noisy.cells]
    manifest = InsightRelease(
        life_experience=life_experience.id,
        period=week,
        release=rid,
        version=version,
        cells=len(cells),
        final=table.final,
        privacy=Privacy.DP,
        supersedes=None if last is None else last.manifest.release,
        published_at=now,
        rho=rho,
        rho_limit=rho_limit,
    )
    return PastRelease(manifest, {}, dict(table.values), cells)
