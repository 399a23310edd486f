"""``cxbroker publish``: ingest an agency's CSV/JSONL file, or flush its outage spool."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Final

import click
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from broker.keyring import Keyring
from broker.security.profile import load_settings
from broker.settings import Settings
from cxbroker.exitcodes import ExitCode
from cxbroker.observe import METRICS_PORT_OPTION, serve_metrics
from cxbroker.options import WORKERS_OPTION
from cxbroker.output import console as output_console
from cxbroker.output import progress_or_lines
from cxbroker.publish_help import DATES_HELP, agency_option, kind_fields_help, with_agency
from producers.deid import DeidPolicy, TextPolicy
from producers.ingest import (
    IngestSummary,
    RejectsWriter,
    columns_help,
    ingest,
    open_text,
    read_rows,
)
from producers.metrics import PublisherMetrics
from producers.parallel import ParallelPreparer, PreparerSpec
from producers.publisher import AgencyPublisher, EventPreparer

__all__ = ["publish"]

#: Exit code when events remain in the outage spool because Kafka is unreachable.
SPOOLED_EXIT_CODE: Final = 4

_EPILOG = (
    "Files are CSV with a header line, or JSON Lines (one object per line); the CSV headers "
    "or JSON keys are the column names below, empty cells and null mean 'not given'. "
    + columns_help()
    + " A row without agency is of the --agency agency. "
    + kind_fields_help()
    + " "
    + DATES_HELP
    + " Ids (agency, life_experience, service_id) are the catalog's, in any case: "
    "`cxbroker catalog` lists them. Bad rows go to the rejects "
    "file (JSON Lines: line, reason, detail; never a value from the row). Exit codes: 0 all "
    f"published; {ExitCode.REJECTED:d} rows rejected; {ExitCode.KAFKA_UNAVAILABLE:d} events "
    "left in the outage spool (Kafka unreachable; they are sent by the next publish or "
    "--flush-spool)."
)


def _print_summary(
    console: Console, summary: IngestSummary, rejects: Path | None, *, dry_run: bool = False
) -> None:
    if dry_run:
        console.print(
            f"rows {summary.rows}: would publish {summary.accepted}, would reject "
            f"{summary.rejected} (dry run: nothing was sent)"
        )
    else:
        console.print(
            f"rows {summary.rows}: published {summary.published}, spooled {summary.spooled}, "
            f"rejected {summary.rejected}"
        )
    for reason, count in sorted(summary.reasons.items()):
        console.print(f"  rejected {reason}: {count}")
    if summary.rejected and rejects is not None:
        console.print(f"rejected rows are listed in {rejects}")


async def _ingest_file(
    settings: Settings,
    agency: str,
    path: Path,
    rejects_path: Path | None,
    policy: DeidPolicy,
    *,
    dry_run: bool,
    batch_size: int,
    console: Console,
    size: int,
    workers: int = 0,
    metrics: PublisherMetrics | None = None,
) -> tuple[IngestSummary, int]:
    binary, text = open_text(path)
    total = size
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn())
    progress = progress_or_lines(
        console,
        lambda: Progress(
            *columns,
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ),
    )
    task = progress.add_task(path.name, total=total, counts="")

    def on_batch(summary: IngestSummary) -> None:
        if metrics is not None:
            metrics.started = True
            metrics.records = summary.rows
            metrics.sent[agency] = summary.published
            metrics.spooled[agency] = summary.spooled
            metrics.refused = summary.reasons
        progress.update(
            task,
            completed=min(binary.tell(), total),
            counts=f"ok {summary.accepted} rejected {summary.rejected}",
        )

    with text, progress, RejectsWriter(rejects_path) as rejects:
        rows = with_agency(read_rows(path, text), agency)
        parallel = (
            ParallelPreparer(
                PreparerSpec(settings.keyring_path, agency=agency, policy=policy), workers=workers
            )
            if workers
            else None
        )
        if dry_run:
            if parallel is not None:
                async with parallel:
                    summary = await ingest(
                        rows, parallel, None, rejects, batch_size=batch_size, on_batch=on_batch
                    )
                return summary, 0
            preparer = EventPreparer(agency, Keyring(settings.keyring_path), policy)
            summary = await ingest(
                rows, preparer, None, rejects, batch_size=batch_size, on_batch=on_batch
            )
            return summary, 0
        async with contextlib.AsyncExitStack() as stack:
            publisher = await stack.enter_async_context(
                AgencyPublisher(settings, agency, policy=policy)
            )
            if metrics is not None:
                metrics.spools = lambda: {agency: publisher.spool}
            assert publisher.preparer is not None
            batches: EventPreparer | ParallelPreparer = publisher.preparer
            if parallel is not None:
                batches = await stack.enter_async_context(parallel)
            summary = await ingest(
                rows,
                batches,
                publisher.deliver,
                rejects,
                batch_size=batch_size,
                on_batch=on_batch,
            )
            progress.update(task, completed=total)
            left = await publisher.drain()
        return summary, left


async def _flush(settings: Settings, agency: str, wait_seconds: float, console: Console) -> int:
    async with AgencyPublisher(settings, agency) as publisher:
        before = publisher.spooled + publisher.sent_from_spool
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(publisher.wait_drained(), wait_seconds)
        left = publisher.spooled
        console.print(f"outage spool of {agency}: sent {before - left}, left {left}")
        return left


@click.command(epilog=_EPILOG)
@click.option(
    "--agency",
    required=True,
    callback=agency_option,
    help="The publishing agency (its id in the catalog, any case).",
)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .csv or .jsonl file of raw records of this agency.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to list rejected rows (default: <file>.rejects.jsonl next to the file).",
)
@click.option("--flush-spool", is_flag=True, help="Send what the outage spool of the agency holds.")
@click.option("--dry-run", is_flag=True, help="Check and sign every row, publish nothing.")
@click.option("--drop-free-text", is_flag=True, help="Publish no free-text comment at all.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@WORKERS_OPTION
@METRICS_PORT_OPTION
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds --flush-spool waits for Kafka.",
)
def publish(
    agency: str,
    file: Path | None,
    rejects: Path | None,
    flush_spool: bool,
    dry_run: bool,
    drop_free_text: bool,
    batch_size: int,
    timeout: float,
    workers: int,
    metrics_port: int | None,
) -> None:
    """Publish an agency's raw records (de-identified, guarded and signed) to Kafka.

    With --file, stream the file through the agency publisher with a progress bar; with
    --flush-spool, send what an earlier outage left in the agency's spool.
    """
    if file is None and not flush_spool:
        raise click.UsageError("give --file PATH or --flush-spool")
    settings = load_settings()
    console = output_console(stderr=True)
    if file is None:
        left = asyncio.run(_flush(settings, agency, timeout, console))
        if left:
            raise SystemExit(ExitCode.KAFKA_UNAVAILABLE)
        return
    policy = DeidPolicy(text=TextPolicy.DROP) if drop_free_text else DeidPolicy()
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    registry = CollectorRegistry()
    metrics = PublisherMetrics(registry)

    size = file.stat().st_size

    async def main(file: Path) -> tuple[IngestSummary, int]:
        async with serve_metrics(metrics_port, registry, ready=metrics.ready):
            return await _ingest_file(
                settings,
                agency,
                file,
                rejects_path,
                policy,
                dry_run=dry_run,
                batch_size=batch_size,
                console=console,
                size=size,
                workers=workers,
                metrics=metrics,
            )

    summary, left = asyncio.run(main(file))
    _print_summary(console, summary, rejects_path, dry_run=dry_run)
    if summary.rejected:
        raise SystemExit(ExitCode.REJECTED)
    if left:
        console.print(
            f"{left} events wait in the outage spool (Kafka unreachable); "
            f"run `cxbroker publish --flush-spool --agency {agency}` later"
        )
        raise SystemExit(ExitCode.KAFKA_UNAVAILABLE)
