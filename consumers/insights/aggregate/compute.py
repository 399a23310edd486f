"""The aggregation's entry points: snapshots of one life experience in, figures and cells out.

Each ISO week is computed on its own (:func:`week_insights`, which the insights service
calls per changed week); :func:`compute_insights` is that over every week.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from consumers.insights.aggregate.cells import to_insight_cells
from consumers.insights.aggregate.figures import week_figures
from consumers.insights.aggregate.model import Figure
from consumers.insights.aggregate.snapshots import journeys_by_week
from consumers.insights.aggregate.tables import CountTable, WeekTables, week_tables
from contracts.catalog import LifeExperience
from contracts.joined import InsightCell, JourneySnapshot

__all__ = ["compute_figures", "compute_insights", "count_tables", "week_insights"]


def week_insights(
    week: str, journeys: Sequence[JourneySnapshot], life_experience: LifeExperience
) -> list[InsightCell]:
    """The cells of one ISO week and its days, from that week's latest snapshots (see
    :func:`~consumers.insights.aggregate.snapshots.journeys_by_week`);
    :func:`compute_insights` is this over every week."""
    figures = week_figures(week_tables(week, journeys, life_experience))
    return to_insight_cells(life_experience.id, figures)


def count_tables(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[CountTable]:
    """The unsuppressed count tables of ``life_experience``, one per ISO week (for audits)."""
    return [week.table() for week in _weeks(snapshots, life_experience)]


def compute_figures(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[Figure]:
    """Every figure (suppressed) of ``life_experience`` for every day and ISO week.

    Only the latest snapshot of each journey of this life experience counts. The result is
    deterministic: per ISO week, the days in order then the week; agencies in catalog order
    then ``*``; stages in journey order then ``*``.
    """
    return [figure for week in _weeks(snapshots, life_experience) for figure in week_figures(week)]


def compute_insights(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[InsightCell]:
    """``InsightCell`` records of ``life_experience`` (see :func:`compute_figures`)."""
    return to_insight_cells(life_experience.id, compute_figures(snapshots, life_experience))


def _weeks(
    snapshots: Iterable[JourneySnapshot], life_experience: LifeExperience
) -> list[WeekTables]:
    return [
        week_tables(week, journeys, life_experience)
        for week, journeys in journeys_by_week(snapshots, life_experience).items()
    ]
