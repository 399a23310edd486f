"""``cxbroker simulate``: synthetic agency records, written to per-agency files or published.

With ``--out DIR`` it writes ``DIR/<agency>.csv`` (or ``.jsonl``) files for
``cxbroker publish --file``; without it, it publishes through the agency publishers (each
record de-identified with its life experience's token rule, signed, sent, spooled when Kafka
is down). Only counts are printed, never a record's value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import click
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker.keyring import Keyring
from broker.security.profile import acting_as_agency
from broker.settings import Settings
from cxbroker.exitcodes import ExitCode
from cxbroker.observe import METRICS_PORT_OPTION, serve_metrics
from cxbroker.options import WORKERS_OPTION
from cxbroker.output import LineProgress, progress_or_lines
from cxbroker.output import console as output_console
from producers.metrics import PublisherMetrics
from producers.publisher import AgencyPublisher
from producers.simulator.engine import Delivery, Simulation
from producers.simulator.files import FileFormat, simulate_to_files
from producers.simulator.publish import Deliver, PublishTally, simulation_preparer
from producers.simulator.publish import publish_deliveries as _publish
from producers.simulator.summary import SimulationSummary, SummaryBuilder

__all__ = ["simulate"]

#: Exit code when events wait in an outage spool (Kafka unreachable).
SPOOLED_EXIT_CODE: Final = 4


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2026-01-05T08:00:00Z", param_hint="--start"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _progress(console: Console) -> Progress | LineProgress:
    return progress_or_lines(
        console,
        lambda: Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("journeys · {task.fields[records]} records"),
            TimeElapsedColumn(),
            console=console,
        ),
    )


def _counts_table(title: str, columns: Mapping[str, Mapping[str, int]]) -> Table:
    table = Table(title=title)
    table.add_column("agency")
    for name in columns:
        table.add_column(name, justify="right")
    agencies = sorted({agency for counts in columns.values() for agency in counts})
    for agency in agencies:
        table.add_row(agency, *(str(counts.get(agency, 0)) for counts in columns.values()))
    table.add_row("total", *(str(sum(counts.values())) for counts in columns.values()))
    return table


def _print_summary(console: Console, summary: SimulationSummary) -> None:
    console.print(
        f"{summary.records} records ({summary.distinct_events} distinct events) "
        f"for {len(summary.by_agency)} agencies"
    )
    for life_experience, count in summary.by_life_experience.items():
        console.print(f"  {life_experience}: {count}")


def _write_files(
    simulation: Simulation, out: Path, fmt: FileFormat, console: Console
) -> SimulationSummary:
    with _progress(console) as progress:
        task = progress.add_task("simulate", total=simulation.journeys, records=0)
        written = 0

        def advance(_: Delivery) -> None:
            nonlocal written
            written += 1
            if written % 256 == 0:
                progress.update(task, completed=simulation.journeys_started, records=written)

        summary = simulate_to_files(
            simulation.journeys,
            simulation.seed,
            out,
            fmt,
            start=simulation.start,
            config=simulation.config,
            on_delivery=advance,
        )
        progress.update(task, completed=simulation.journeys, records=written)
    return summary


async def _publish_all(
    simulation: Simulation,
    raw: Settings,
    rate: float | None,
    dry_run: bool,
    console: Console,
    workers: int = 0,
    metrics: PublisherMetrics | None = None,
) -> tuple[PublishTally, SimulationSummary, int]:
    """Publish the simulation, each agency's records as that agency (``raw``: the
    unresolved ``CX_*`` settings; see :func:`acting_as_agency`)."""
    keyring = Keyring(raw.keyring_path)
    builder = SummaryBuilder()

    def counted() -> Iterator[Delivery]:
        for delivery in simulation.deliveries():
            builder.add(delivery.record)
            yield delivery

    async with AsyncExitStack() as stack:
        preparer = simulation_preparer(keyring, workers)
        await stack.enter_async_context(preparer)
        publishers: dict[str, AgencyPublisher] = {}
        if metrics is not None:
            metrics.spools = lambda: {a: p.spool for a, p in publishers.items()}

        async def deliver_for(agency: str) -> Deliver:
            publisher = publishers.get(agency)
            if publisher is None:
                publisher = AgencyPublisher(acting_as_agency(raw, agency), agency, keyring=keyring)
                publishers[agency] = await stack.enter_async_context(publisher)
            return publisher.deliver

        with _progress(console) as progress:
            task = progress.add_task(
                "dry run" if dry_run else "publish", total=simulation.journeys, records=0
            )

            def on_round(tally: PublishTally) -> None:
                if metrics is not None:
                    metrics.started = True
                    metrics.records = tally.prepared + tally.total_failed
                    metrics.sent, metrics.spooled = tally.sent, tally.spooled
                    metrics.refused = tally.failed
                progress.update(
                    task,
                    completed=simulation.journeys_started,
                    records=tally.prepared + tally.total_failed,
                )

            tally = await _publish(
                counted(),
                preparer,
                None if dry_run else deliver_for,
                rate=rate,
                on_round=on_round,
            )
            progress.update(task, completed=simulation.journeys)
        left = 0
        for publisher in publishers.values():
            left += await publisher.drain()
    return tally, builder.build(), left


@click.command()
@click.option(
    "--journeys",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Number of journeys to simulate.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Publish at most this many events per second (default: as fast as possible).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write <out>/<agency>.<format> files for `cxbroker publish --file` instead of publishing.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in FileFormat]),
    default="csv",
    show_default=True,
    help="File format with --out.",
)
@click.option(
    "--start",
    default=None,
    metavar="ISO-8601",
    help="Simulated time of the first journey (default 2026-01-05T08:00Z; never the clock).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Without --out: de-identify, guard and sign every record, send nothing.",
)
@WORKERS_OPTION
@METRICS_PORT_OPTION
def simulate(
    journeys: int,
    seed: int,
    rate: float | None,
    out: Path | None,
    fmt: str,
    start: str | None,
    dry_run: bool,
    workers: int,
    metrics_port: int | None,
) -> None:
    """Generate synthetic agency records for all five life experiences.

    Journeys cross each life experience's agencies in the catalog's order, with realistic
    stages, delays, channels, drop-offs, A-11 feedback, people in two life experiences, and
    some late or duplicated deliveries.

    Without --out, every record goes through its agency's publisher, de-identified with its
    life experience's token rule (name + DOB + ZIP3 where an agency has no SSNs, else SSN +
    DOB), signed, and spooled while Kafka is unreachable. With --out, per-agency files hold
    SYNTHETIC identifiers (invented people, example.* e-mail, 555-01xx phones), mode 0600.

    On a secured cluster each agency's records are published as that agency's principal
    (agency-<id>), unless CX_PROFILE or CX_SASL_USERNAME name one for all. With
    --metrics-port, cx_publisher_* metrics and /healthz, /readyz while publishing.
    """
    simulation = Simulation(journeys, seed, _parse_start(start))
    console = output_console(stderr=True)
    if out is not None:
        if rate is not None or dry_run or workers:
            raise click.UsageError(
                "--rate, --dry-run and --workers apply to publishing, not to --out"
            )
        summary = _write_files(simulation, out, FileFormat(fmt), console)
        console.print(_counts_table(f"records written to {out}", {"records": summary.by_agency}))
        _print_summary(console, summary)
        return
    registry = CollectorRegistry()
    metrics = PublisherMetrics(registry)

    async def main() -> tuple[PublishTally, SimulationSummary, int]:
        async with serve_metrics(metrics_port, registry, ready=metrics.ready):
            return await _publish_all(
                simulation, Settings(), rate, dry_run, console, workers, metrics
            )

    tally, summary, left = asyncio.run(main())
    columns: dict[str, Mapping[str, int]] = {"records": summary.by_agency}
    if not dry_run:
        columns |= {"sent": tally.sent, "spooled": tally.spooled}
    console.print(_counts_table("simulated records", columns))
    _print_summary(console, summary)
    for error, count in sorted(tally.failed.items()):
        console.print(f"  not publishable ({error}): {count}")
    if tally.total_failed:
        raise SystemExit(ExitCode.REJECTED)
    if left:
        console.print(
            f"{left} events wait in outage spools (Kafka unreachable); they are sent by the "
            "next publish or `cxbroker publish --flush-spool --agency <agency>`"
        )
        raise SystemExit(ExitCode.KAFKA_UNAVAILABLE)
