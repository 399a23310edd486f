"""``cxbroker insights``: print the released insight cells, publish releases (``--serve``),
and ``cxbroker insights audit``: the disclosure audit of the recorded releases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

import click
from prometheus_client import CollectorRegistry
from rich.console import Console

from broker.security.credentials import ADMIN
from broker.security.profile import load_settings
from consumers.errors import InsightsError
from consumers.insights.metrics import InsightsMetrics
from consumers.insights.service import CatchUpReport, InsightsService
from consumers.insights.topics import INSIGHTS_PRINCIPAL, read_releases
from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.insights import Privacy
from contracts.joined import Metric, PeriodKind
from cxbroker.insights_audit import audit_command
from cxbroker.insights_view import (
    DEFAULT_METRICS,
    PUBLISHED_METRICS,
    format_value,
    handoff_table,
    insights_table,
)
from cxbroker.observe import METRICS_PORT_OPTION, serve_metrics, setup_logging
from cxbroker.output import console as output_console

__all__ = ["DEFAULT_METRICS", "format_value", "handoff_table", "insights", "insights_table"]

log = logging.getLogger("cx.insights")


def console() -> Console:
    """The terminal's console, or a wide one when the output is a file or a pipe (so that
    nothing is cut or wrapped to 80 columns)."""
    return output_console()


def known_life_experiences(life_experiences: tuple[str, ...]) -> list[str]:
    """The ids asked for (checked against the catalog), or every life experience."""
    catalog = load_catalog()
    for life_experience in life_experiences:
        try:
            catalog.life_experience(life_experience)
        except UnknownEntry:
            known = ", ".join(le.id for le in catalog.life_experiences)
            raise InsightsError(
                f"unknown life experience {life_experience!r}; known: {known}"
            ) from None
    return list(life_experiences) or [le.id for le in catalog.life_experiences]


async def _serve(service: InsightsService, interval: float, metrics_port: int | None) -> None:
    """Release what is due every ``interval`` seconds until SIGINT or SIGTERM; metrics
    (cx_insights_*) and health on ``metrics_port``."""
    registry = CollectorRegistry()
    metrics = InsightsMetrics(registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def on_round(reports: list[CatchUpReport]) -> None:
        metrics.observe(reports)
        for report in reports:
            if report.releases or report.refused:
                log.info("round %s", _summary(report))

    async with serve_metrics(metrics_port, registry, ready=metrics.ready):
        await service.run(interval=interval, stop=stop, on_round=on_round)


def _summary(report: CatchUpReport) -> str:
    releases = len(report.releases)
    per = report.audit_seconds / releases if releases else 0.0
    return (
        f"{report.life_experience}: {report.journeys} journeys, {releases} releases "
        f"({report.cells} cells, {report.suppressed} suppressed; audit {per:.2f} s per "
        f"release), {report.weeks_waiting} weeks not closed yet, {report.sent} sent, "
        f"{report.tombstones} removed"
        + (f", {report.invalid_records} invalid records skipped" if report.invalid_records else "")
    )


@click.group(invoke_without_command=True)
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
@click.option(
    "--serve", is_flag=True, help="Keep releasing what is due; print no tables (a service)."
)
@click.option(
    "--grace",
    "grace_days",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    envvar="CX_INSIGHTS_GRACE_DAYS",
    help="Days after a week ends before its first release (late events).",
)
@click.option(
    "--privacy",
    type=click.Choice([p.value for p in Privacy]),
    default=Privacy.SUPPRESSION.value,
    show_default=True,
    help="suppression (audited small-cell suppression) or dp (differential privacy, OpenDP).",
)
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
@METRICS_PORT_OPTION
@click.pass_context
def insights(
    ctx: click.Context,
    life_experiences: tuple[str, ...],
    period_kind: str,
    metric_names: tuple[str, ...],
    last: int,
    compute: bool,
    serve: bool,
    until_idle: bool,
    interval: float,
    grace_days: float,
    privacy: str,
    metrics_port: int | None,
) -> None:
    """Privacy-safe insights per life experience, ISO week (and its days), agency and stage.

    A week is released once it has closed (plus --grace), audited against every earlier
    release; cells of 1-10 journeys or answers, and cells that would give them away, are
    shown as * with the rule that suppressed them.
    """
    if ctx.invoked_subcommand is not None:
        return
    # The client library logs connection failures itself; the CLI reports them as one line.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    ids = known_life_experiences(life_experiences)
    settings = load_settings()
    out = console()
    service = InsightsService(
        settings, ids, grace=timedelta(days=grace_days), privacy=Privacy(privacy)
    )
    if serve and until_idle:
        for report in asyncio.run(service.catch_up()):
            out.print(_summary(report))
        return
    if serve:
        setup_logging()
        out.print(f"releasing insights of {len(ids)} life experience(s); Ctrl-C stops")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(service, interval, metrics_port))
        return
    if compute:
        with out.status("computing insights from cx.joined.* ..."):
            reports = asyncio.run(service.catch_up())
        for report in reports:
            out.print(_summary(report))
    metrics = [Metric(name) for name in metric_names] or list(DEFAULT_METRICS)
    # Only the insights principal (or a client without one, on a plain cluster) computes.
    compute_hint = (
        "run `cxbroker insights --compute`"
        if settings.sasl_username in (None, INSIGHTS_PRINCIPAL, ADMIN)
        else f"the insights service releases them; {settings.sasl_username} cannot compute them"
    )
    kind = PeriodKind(period_kind)
    for life_experience in ids:
        released = asyncio.run(read_releases(settings, life_experience))
        cells = [cell for cell in released.cells.values() if cell.period_kind is kind]
        periods = sorted({cell.period for cell in cells})[-last:]
        if not periods:
            out.print(
                f"{life_experience}: no {kind.value} insights released yet ({compute_hint}; "
                "a week is released once it has closed)"
            )
            continue
        for period in periods:
            out.print(insights_table(life_experience, period, cells, metrics))
            handoffs = handoff_table(life_experience, period, cells)
            if handoffs is not None:
                out.print(handoffs)


insights.add_command(audit_command)
