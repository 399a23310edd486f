"""``cxbroker insights``: print the published insight cells; optionally compute them first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

import click
from rich.console import Console
from rich.table import Table

from broker.security.profile import load_settings
from consumers.errors import InsightsError
from consumers.insights.aggregate import InsightMetric
from consumers.insights.service import CatchUpReport, InsightsService, read_insights
from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.joined import InsightCell, Metric, PeriodKind
from contracts.vocabulary import STAGE_ORDER

__all__ = [
    "DEFAULT_METRICS",
    "PUBLISHED_METRICS",
    "format_value",
    "handoff_table",
    "insights",
    "insights_table",
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
#: Contract metrics this service publishes per (agency, stage) and can show as columns (the
#: others belong to other producers; stalls per hand-off have a table of their own).
PUBLISHED_METRICS: list[str] = [
    m.value for m in Metric if m.value in set(InsightMetric) and m is not Metric.STALLS_AT_HANDOFF
]


def format_value(cell: InsightCell | None) -> str:
    """``*`` for a suppressed cell, ``-`` for none/undefined, else the count or the value."""
    if cell is None or (cell.value is None and not cell.suppressed):
        return "-"
    if cell.suppressed:
        return SUPPRESSED_MARK
    if cell.count is not None:
        return str(cell.count)
    assert cell.value is not None
    if cell.metric is Metric.COMPLETION_RATE:
        return f"{cell.value:.1%}"
    return f"{cell.value:.2f}"


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
    table = Table(title=f"{life_experience} · {period}", caption=f"{SUPPRESSED_MARK} suppressed")
    table.add_column("agency")
    table.add_column("stage")
    for metric in metrics:
        table.add_column(metric.value, justify="right")

    def order(place: tuple[str | None, str | None]) -> tuple[int, str, int]:
        agency, stage = place
        rank = catalog_order.index(agency) if agency in catalog_order else len(catalog_order)
        return (rank if agency else len(catalog_order) + 1, agency or "", _stage_rank(stage))

    for place in sorted(grid, key=order):
        row = grid[place]
        started = row.get(Metric.JOURNEYS_STARTED)
        if started is not None and started.count == 0:
            continue
        agency, stage = place
        table.add_row(agency or "all", stage or "all", *(format_value(row.get(m)) for m in metrics))
    return table


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


def _summary(report: CatchUpReport) -> str:
    return (
        f"{report.life_experience}: {report.journeys} journeys, {report.cells} cells "
        f"({report.suppressed} suppressed), {report.sent} sent, {report.tombstones} removed"
        + (f", {report.invalid_records} invalid records skipped" if report.invalid_records else "")
    )


@click.command()
@click.option(
    "--life-experience",
    "-l",
    "life_experiences",
    multiple=True,
    metavar="ID",
    help="Only this life experience (repeatable; default: all).",
)
@click.option(
    "--period",
    "period_kind",
    type=click.Choice([k.value for k in PeriodKind]),
    default=PeriodKind.WEEK.value,
    show_default=True,
    help="Day or ISO week.",
)
@click.option(
    "--metric",
    "-m",
    "metric_names",
    multiple=True,
    type=click.Choice(PUBLISHED_METRICS),
    help="Columns to show (repeatable).",
)
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Show the most recent N periods.",
)
@click.option(
    "--compute",
    is_flag=True,
    help="Read cx.joined.* to its end and publish the insights first (until idle).",
)
@click.option("--serve", is_flag=True, help="Keep computing and publishing; print no tables.")
@click.option(
    "--until-idle",
    is_flag=True,
    help="With --serve: stop once everything committed so far is published.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between rounds with --serve.",
)
def insights(
    life_experiences: tuple[str, ...],
    period_kind: str,
    metric_names: tuple[str, ...],
    last: int,
    compute: bool,
    serve: bool,
    until_idle: bool,
    interval: float,
) -> None:
    """Privacy-safe insights per life experience, period, agency and stage.

    Cells computed from 1 to 10 journeys, and the cells that would give them away through
    published totals, are shown as *.
    """
    # The client library logs connection failures itself; the CLI reports them as one line.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    catalog = load_catalog()
    for life_experience in life_experiences:
        try:
            catalog.life_experience(life_experience)
        except UnknownEntry:
            known = ", ".join(le.id for le in catalog.life_experiences)
            raise InsightsError(
                f"unknown life experience {life_experience!r}; known: {known}"
            ) from None
    ids = list(life_experiences) or [le.id for le in catalog.life_experiences]
    settings = load_settings()
    console = Console()
    service = InsightsService(settings, ids)
    if serve and until_idle:
        for report in asyncio.run(service.catch_up()):
            console.print(_summary(report))
        return
    if serve:
        console.print(f"publishing insights of {len(ids)} life experience(s); Ctrl-C stops")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(service.run(interval=interval))
        return
    if compute:
        with console.status("computing insights from cx.joined.* ..."):
            reports = asyncio.run(service.catch_up())
        for report in reports:
            console.print(_summary(report))
    metrics = [Metric(name) for name in metric_names] or list(DEFAULT_METRICS)
    kind = PeriodKind(period_kind)
    for life_experience in ids:
        cells = list(asyncio.run(read_insights(settings, life_experience)).values())
        cells = [cell for cell in cells if cell.period_kind is kind]
        periods = sorted({cell.period for cell in cells})[-last:]
        if not periods:
            console.print(
                f"{life_experience}: no {kind.value} insights published yet "
                "(run `cxbroker insights --compute`)"
            )
            continue
        for period in periods:
            console.print(insights_table(life_experience, period, cells, metrics))
            handoffs = handoff_table(life_experience, period, cells)
            if handoffs is not None:
                console.print(handoffs)
