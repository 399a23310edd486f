"""How released insight cells look in a terminal: tables per week, suppressed cells marked
with the rule that suppressed them (never a value), DP error bars when a release has them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.table import Table

from consumers.insights.aggregate import InsightMetric
from contracts.catalog import load_catalog
from contracts.insights import InsightCell, SuppressionReason
from contracts.joined import Metric
from contracts.vocabulary import STAGE_ORDER

__all__ = [
    "DEFAULT_METRICS",
    "MIN_SHOWN_COUNT",
    "PUBLISHED_METRICS",
    "REASON_MARKS",
    "all_suppressed_note",
    "format_value",
    "handoff_table",
    "insights_table",
    "legend",
]

#: Shown unless ``--metric`` says otherwise.
DEFAULT_METRICS: tuple[Metric, ...] = (
    Metric.JOURNEYS_STARTED,
    Metric.JOURNEYS_COMPLETED,
    Metric.JOURNEYS_STALLED,
    Metric.JOURNEYS_EXPIRED,
    Metric.COMPLETION_RATE,
    Metric.MEDIAN_DAYS_TO_COMPLETE,
    Metric.P90_DAYS_TO_COMPLETE,
    Metric.SATISFACTION,
)
SUPPRESSED_MARK = "*"
#: The least count a released cell shows (a count of 1-10 is suppressed).
MIN_SHOWN_COUNT = 11
#: The mark of each suppression reason: ``*`` and a letter (the rule, never the value).
REASON_MARKS: dict[SuppressionReason | None, str] = {
    SuppressionReason.SMALL_CELL: "*",
    SuppressionReason.FEW_ANSWERS: "*a",
    SuppressionReason.CORRECTION: "*r",
    None: "*",
}
#: Contract metrics this service publishes per (agency, stage) and can show as columns (the
#: others belong to other producers; stalls per hand-off have a table of their own).
PUBLISHED_METRICS: list[str] = [
    m.value for m in Metric if m.value in set(InsightMetric) and m is not Metric.STALLS_AT_HANDOFF
]


def legend() -> str:
    """What the marks of suppressed cells mean."""
    return (
        "* count of 1-10, or one that would let such a count be derived (which is not said) · "
        "*a too few answers or journeys · *r changed by few answers since the last release"
    )


def format_value(cell: InsightCell | None) -> str:
    """``*`` and the reason's letter for a suppressed cell, ``-`` for none/undefined, else
    the count or the value (a mean with its answer count; a DP value with its error bar)."""
    if cell is None or (cell.value is None and not cell.suppressed):
        return "-"
    if cell.suppressed:
        return REASON_MARKS.get(cell.reason, SUPPRESSED_MARK)
    assert cell.value is not None
    bar = "" if cell.error_95 is None else f" ±{cell.error_95:.1f}"
    if cell.metric is Metric.COMPLETION_RATE:
        return f"{cell.value:.1%}{bar}"
    if cell.count is not None and float(cell.count) == cell.value and not bar:
        return str(cell.count)
    if cell.error_95 is not None and cell.metric.value.startswith("journeys"):
        return f"{cell.value:.0f}{bar}"
    text = f"{cell.value:.2f}{bar}"
    return text if cell.count is None or cell.count == cell.value else f"{text} (n={cell.count})"


def _stage_rank(stage: str | None) -> int:
    return len(STAGE_ORDER) if stage is None else [s.value for s in STAGE_ORDER].index(stage)


def insights_table(
    life_experience: str,
    period: str,
    cells: Iterable[InsightCell],
    metrics: Sequence[Metric] = DEFAULT_METRICS,
) -> Table:
    """One table for one period: a row per (agency, stage), a column per metric.

    Rows whose journeys-started count is a published 0 are left out.
    """
    catalog_order = list(load_catalog().life_experience(life_experience).agencies)
    grid: dict[tuple[str | None, str | None], dict[Metric, InsightCell]] = {}
    for cell in cells:
        if cell.period == period and cell.metric is not Metric.STALLS_AT_HANDOFF:
            stage = cell.stage.value if cell.stage else None
            grid.setdefault((cell.agency, stage), {})[cell.metric] = cell
    table = Table(title=f"{life_experience} · {period}", caption=legend())
    table.add_column("agency")
    table.add_column("stage")
    for metric in metrics:
        table.add_column(metric.value, justify="right")

    def order(place: tuple[str | None, str | None]) -> tuple[int, str, int]:
        agency, stage = place
        rank = catalog_order.index(agency) if agency in catalog_order else len(catalog_order)
        return (rank if agency else len(catalog_order) + 1, agency or "", _stage_rank(stage))

    shown: list[InsightCell] = []
    places = 0
    for place in sorted(grid, key=order):
        row = grid[place]
        started = row.get(Metric.JOURNEYS_STARTED)
        if started is not None and started.count == 0:
            continue
        agency, stage = place
        table.add_row(agency or "all", stage or "all", *(format_value(row.get(m)) for m in metrics))
        shown += [c for m in metrics if (c := row.get(m)) is not None]
        places += agency is not None and stage is not None
    # Nothing to read: every cell is suppressed, a published zero or undefined.
    if any(c.suppressed for c in shown) and not any(c.value for c in shown if not c.suppressed):
        table.caption = f"{legend()}\n{all_suppressed_note(life_experience, period, places)}"
    return table


def all_suppressed_note(life_experience: str, period: str, places: int) -> str:
    """Why every cell of a table is ``*``, and the population that would show cells."""
    needed = MIN_SHOWN_COUNT * max(1, places)
    return (
        f"every count is suppressed: too few journeys for the protection rule (a count shows "
        f"from {MIN_SHOWN_COUNT}, and only if no smaller count can be derived from it). "
        f"Cells show once every agency/stage row has at least {MIN_SHOWN_COUNT} journeys: "
        f"{needed} or more journeys of {life_experience} "
        f"starting in {period}."
    )


def handoff_table(life_experience: str, period: str, cells: Iterable[InsightCell]) -> Table | None:
    """Stalls per agency hand-off in one period, most first; None when nothing stalled.

    Published counts come first, largest first; suppressed ones follow as ``*``. The caption
    names the hand-off with most stalls only when the published figures prove it: the
    suppressed hand-offs add up to the published stall total minus the published hand-offs,
    and the top published count is at least that remainder (a suppressed count may be large:
    complementary suppression hides large counts too).
    """
    period_cells = [cell for cell in cells if cell.period == period]
    rows = [
        cell
        for cell in period_cells
        if cell.metric is Metric.STALLS_AT_HANDOFF and (cell.suppressed or cell.count)
    ]
    if not rows:
        return None
    rows.sort(key=lambda c: (c.suppressed, -(c.count or 0), c.agency or "", c.to_agency or ""))
    total = next(
        (
            cell.count
            for cell in period_cells
            if cell.metric is Metric.JOURNEYS_STALLED and cell.agency is None and cell.stage is None
        ),
        None,
    )
    top = rows[0]
    hidden_sum = None if total is None else total - sum(cell.count or 0 for cell in rows)
    if top.count is not None and hidden_sum is not None and top.count >= hidden_sum:
        caption = f"most stalls: {top.agency} -> {top.to_agency or '(all reached)'}"
        if any(cell.suppressed for cell in rows):
            caption += f"; {SUPPRESSED_MARK} suppressed"
    else:
        caption = f"{SUPPRESSED_MARK} suppressed: the hand-off with most stalls may be among them"
    table = Table(title=f"{life_experience} · {period} · stalls at hand-offs", caption=caption)
    table.add_column("from agency")
    table.add_column("to agency")
    table.add_column("stalled journeys", justify="right")
    for cell in rows:
        table.add_row(cell.agency or "", cell.to_agency or "(all reached)", format_value(cell))
    return table
