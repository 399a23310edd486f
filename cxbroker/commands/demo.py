"""``cxbroker demo``: the whole system in one command (see :mod:`cxbroker.demo`).

Prints, per life experience, the journeys, completion rate, median days to complete, the
hand-off where most journeys stall and A-11 driver scores by agency (suppressed cells
marked ``*``), and where the HTML report is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from broker.kafka import cluster_status
from broker.settings import Settings
from consumers.report import DRIVERS, LifeExperienceSummary
from cxbroker.demo import run_demo
from cxbroker.exitcodes import ExitCode
from cxbroker.output import OUTPUT_OPTION, render_rows
from cxbroker.output import console as output_console

__all__ = ["demo", "driver_rows", "print_summaries", "summary_rows"]


def _fmt(value: float | int | None, pattern: str = "{}") -> str:
    return "*" if value is None else pattern.format(value)


SUMMARY_HEADERS = ("life experience", "journeys", "completed", "rate", "median days", "most stalls")


def summary_rows(summaries: Sequence[LifeExperienceSummary]) -> list[tuple[str, ...]]:
    """One row per life experience (``*``: a suppressed small cell)."""
    rows: list[tuple[str, ...]] = []
    for s in summaries:
        stall = (
            f"{s.top_stall_handoff[0]} -> {s.top_stall_handoff[1] or '(end)'} "
            f"({_fmt(s.top_stall_count)})"
            if s.top_stall_handoff
            else ("none" if s.top_stall_count == 0 else "*")
        )
        rows.append(
            (
                s.life_experience,
                _fmt(s.journeys),
                _fmt(s.completed),
                _fmt(None if s.completion_rate is None else 100 * s.completion_rate, "{:.1f} %"),
                _fmt(s.median_days_to_complete, "{:.1f}"),
                stall,
            )
        )
    return rows


def driver_rows(summaries: Sequence[LifeExperienceSummary]) -> list[tuple[str, ...]]:
    """One row per life experience and agency: the A-11 driver means."""
    return [
        (s.life_experience, agency, *(_fmt(mean, "{:.2f}") for mean, _ in values.values()))
        for s in summaries
        for agency, values in s.drivers.items()
    ]


def print_summaries(
    summaries: Sequence[LifeExperienceSummary], console: Console, output: str = "table"
) -> None:
    """The demo's tables: one line per life experience, then drivers by agency; as rich
    tables (never cut off a terminal), JSON lines (with a ``table`` key) or two CSV blocks."""
    driver_headers = ("life experience", "agency", *DRIVERS)
    if output != "table":
        tables = [
            ("journeys", SUMMARY_HEADERS, summary_rows(summaries)),
            ("drivers", driver_headers, driver_rows(summaries)),
        ]
        for name, headers, rows in tables:
            if output == "json":
                click.echo(
                    render_rows(("table", *headers), [(name, *r) for r in rows], output), nl=False
                )
            else:
                click.echo(render_rows(headers, rows, output))
        return
    table = Table(title="journeys per life experience (* = suppressed small cell)")
    for col in SUMMARY_HEADERS:
        table.add_column(col, overflow="fold")
    for row in summary_rows(summaries):
        table.add_row(*row)
    console.print(table)
    drivers = Table(title="A-11 driver means by agency (1-5; * = fewer than 11 answers)")
    for col in driver_headers:
        drivers.add_column(col, overflow="fold")
    for row in driver_rows(summaries):
        drivers.add_row(*row)
    console.print(drivers)


@click.command()
@click.option("--journeys", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same data.")
@click.option(
    "--security",
    type=click.Choice(["sasl-tls", "sasl", "none"]),
    default="sasl-tls",
    show_default=True,
    help="Security of the local cluster the demo starts (ignored with CX_BOOTSTRAP_SERVERS).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML report [default: <state dir>/demo-report.html].",
)
@click.option(
    "--joiners",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Joiner processes (`cxbroker join`, one consumer group) running beside publishing.",
)
@OUTPUT_OPTION
def demo(
    journeys: int, seed: int, security: str, report: Path | None, joiners: int, output: str
) -> None:
    """Run the main job: simulate, publish, join, insights; print figures, write a report."""
    settings = Settings()
    console = output_console(stderr=output != "table")
    # aiokafka logs transient coordinator errors it retries by itself; the progress bars say
    # what matters, and a real failure still ends the demo with one clear line.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    path = report or settings.state_dir / "demo-report.html"
    try:
        result = asyncio.run(
            run_demo(
                settings,
                journeys=journeys,
                seed=seed,
                report=path,
                console=console,
                security=security,
                joiners=joiners,
            )
        )
    except KeyboardInterrupt:
        console.print(_interrupted_line(settings))
        raise SystemExit(ExitCode.INTERRUPTED) from None
    print_summaries(result.summaries, console, output)
    console.print(
        f"{result.events_published} events published, {result.dead_letters} dead letters; "
        f"report: {result.report_path}"
    )
    console.print(f"total wall time {result.seconds:.1f} s")


def _interrupted_line(settings: Settings) -> str:
    """The one line Ctrl-C prints: what was stopped, and whether local Kafka still runs."""
    line = "interrupted: joiner and insights processes stopped, publishers closed"
    if settings.bootstrap_servers:
        return line
    # Say what is, not what we meant to do: the recorded cluster's processes right now.
    state, alive = cluster_status(settings)
    if state is not None and any(alive.values()):
        return f"{line}; local Kafka keeps running (`cxbroker kafka down` stops it)"
    return f"{line}; local Kafka is not running"
