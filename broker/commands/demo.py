"""``cxbroker demo``: the whole system in one command.

Starts local Kafka (or uses ``CX_BOOTSTRAP_SERVERS``), applies the topic plan, creates the
keyring, simulates a seeded workload over the five life experiences, publishes each
agency's events through that agency's publisher while the joiner runs, waits until the
joiner has caught up, computes insights, then prints per life experience the journeys,
completion rate, median days to complete, the hand-off where most journeys stall and
A-11 driver scores by agency (suppressed cells marked ``*``), and writes an HTML report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker.admin import admin_client
from broker.commands.init import run_init
from broker.kafka.launcher import start_cluster
from broker.keyring import Keyring
from broker.settings import Settings

__all__ = ["DemoResult", "demo", "run_demo"]

log = logging.getLogger(__name__)

DEMO_GROUP = "cx.joiner.demo"

#: Simulated journeys start here: early enough that even the longest journey of the
#: default 20,000 ends before today (the joiner dead-letters events dated in its future).
DEMO_START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and where its report is."""

    summaries: list[Any]
    report_path: Path
    events_published: int
    dead_letters: int
    seconds: float


async def _committed_lag(settings: Settings, group: str, topics: Sequence[str]) -> int:
    """Records on ``topics`` not yet committed by ``group`` (read_committed end offsets)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async with admin_client(settings) as admin:
        described = await admin.describe_topics(list(topics))
        tps = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        committed = await admin.list_consumer_group_offsets(group)
    consumer = AIOKafkaConsumer(
        isolation_level="read_committed", enable_auto_commit=False, **settings.kafka_client_kwargs()
    )
    await consumer.start()
    try:
        end = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    lag = 0
    for tp in tps:
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        lag += max(0, end[tp] - done)
    return lag


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def principal_settings(settings: Settings, secured: bool, principal: str) -> Settings:
    """Settings acting as ``principal`` (its stored credential) on a secured local cluster.

    On a plaintext or external cluster the given settings serve every role unchanged.
    """
    if not secured:
        return settings
    return Settings(
        profile=principal,
        state_dir=settings.state_dir,
        keyring_dir=settings.keyring_dir,
        topic_prefix=settings.topic_prefix,
        partitions=settings.partitions,
        cache_dir=settings.cache_dir,
    )


async def run_demo(
    settings: Settings,
    *,
    journeys: int,
    seed: int,
    report: Path,
    console: Console,
    security: str = "sasl-tls",
) -> DemoResult:
    """Run the main job end to end and write the HTML report; return the figures.

    On a local cluster started here with security, every role acts as its own principal
    of the access plan: each agency publishes as ``agency-<id>``, the joiner as
    ``joiner``, insights as ``insights`` and the report reads as ``team-analytics``.
    """
    from consumers import Joiner
    from consumers.insights.service import InsightsService, read_joined
    from consumers.report import RunReport, render_html, summarize
    from contracts.catalog import load_catalog
    from producers.publisher import AgencyPublisher
    from producers.simulator.engine import Simulation
    from producers.simulator.publish import Deliver, SimulationPreparer, publish_deliveries

    started = time.monotonic()
    catalog = load_catalog()
    kafka = settings.bootstrap_servers
    secured = False
    if not kafka:
        state = await start_cluster(settings, nodes=1, security=security)
        secured = state.security != "none"
        kafka = f"{state.kafka_version} at {state.bootstrap_servers} (security {state.security})"
        console.print(f"local Kafka {kafka} ({'reused' if state.reused else 'started'})")
    as_admin = principal_settings(settings, secured, "admin")
    _, plan = await run_init(as_admin)
    plan.raise_for_conflicts()
    keyring = Keyring(settings.keyring_path)
    keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
    agency_topics = [settings.topics.agency(a.id) for a in catalog.agencies]

    simulation = Simulation(journeys, seed, DEMO_START)
    preparer = SimulationPreparer(keyring)
    joiner = Joiner(
        principal_settings(settings, secured, "joiner"),
        group=DEMO_GROUP,
        until_idle=None,
        status_interval=3600,
    )
    published = 0
    with _progress(console) as progress:
        pub_task = progress.add_task("publish", total=journeys, note="")
        join_task = progress.add_task("join", total=None, note="")
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(joiner)
            join_run = asyncio.create_task(joiner.run())
            publishers: dict[str, AgencyPublisher] = {}

            async def deliver_for(agency: str) -> Deliver:
                publisher = publishers.get(agency)
                if publisher is None:
                    publisher = AgencyPublisher(
                        principal_settings(settings, secured, f"agency-{agency}"),
                        agency,
                        keyring=keyring,
                    )
                    publishers[agency] = await stack.enter_async_context(publisher)
                return publisher.deliver

            def on_round(tally: Any) -> None:
                progress.update(
                    pub_task,
                    completed=simulation.journeys_started,
                    note=f"{tally.prepared} events",
                )
                progress.update(join_task, completed=joiner.stats.records, total=tally.prepared)

            tally = await publish_deliveries(
                simulation.deliveries(), preparer.prepare, deliver_for, on_round=on_round
            )
            for publisher in publishers.values():
                await publisher.drain()
            published = tally.prepared
            progress.update(pub_task, completed=journeys, note=f"{published} events")
            # Caught up: the joiner's group has committed every record of the agency topics.
            while await _committed_lag(as_admin, DEMO_GROUP, agency_topics) > 0:
                if join_run.done():
                    join_run.result()  # re-raise what stopped the joiner
                progress.update(join_task, completed=joiner.stats.records, total=published)
                await asyncio.sleep(0.5)
            joiner.stop_soon()
            stats = await join_run
            progress.update(
                join_task,
                completed=stats.records,
                total=stats.records,
                note=f"{stats.snapshots} snapshots",
            )

    console.print("computing insights ...")
    await InsightsService(principal_settings(settings, secured, "insights")).catch_up()
    reader = principal_settings(settings, secured, "team-analytics")
    snapshots = []
    for le in catalog.life_experiences:
        found, _invalid = await read_joined(reader, le.id)
        snapshots.extend(found)
    summaries = summarize(snapshots, catalog)
    seconds = time.monotonic() - started
    run = RunReport(
        journeys_simulated=journeys,
        seed=seed,
        events_published=published,
        dead_letters=stats.dead_letters,
        seconds=seconds,
        kafka=kafka,
        generated_at=datetime.now(UTC),
    )
    await asyncio.to_thread(_write_report, report, render_html(summaries, run))
    return DemoResult(summaries, report, published, stats.dead_letters, seconds)


def _write_report(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _fmt(value: float | int | None, pattern: str = "{}") -> str:
    return "*" if value is None else pattern.format(value)


def print_summaries(summaries: Sequence[Any], console: Console) -> None:
    """The demo's tables: one line per life experience, then drivers by agency."""
    table = Table(title="journeys per life experience (* = suppressed small cell)")
    for col in ("life experience", "journeys", "completed", "rate", "median days", "most stalls"):
        table.add_column(col)
    for s in summaries:
        stall = (
            f"{s.top_stall_handoff[0]} -> {s.top_stall_handoff[1] or '(end)'} "
            f"({_fmt(s.top_stall_count)})"
            if s.top_stall_handoff
            else ("none" if s.top_stall_count == 0 else "*")
        )
        table.add_row(
            s.life_experience,
            _fmt(s.journeys),
            _fmt(s.completed),
            _fmt(None if s.completion_rate is None else 100 * s.completion_rate, "{:.1f} %"),
            _fmt(s.median_days_to_complete, "{:.1f}"),
            stall,
        )
    console.print(table)
    from consumers.report import DRIVERS

    drivers = Table(title="A-11 driver means by agency (1-5; * = fewer than 11 answers)")
    drivers.add_column("life experience")
    drivers.add_column("agency")
    for d in DRIVERS:
        drivers.add_column(d)
    for s in summaries:
        for agency, values in s.drivers.items():
            drivers.add_row(
                s.life_experience, agency, *(_fmt(mean, "{:.2f}") for mean, _ in values.values())
            )
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
def demo(journeys: int, seed: int, security: str, report: Path | None) -> None:
    """Run the main job: simulate, publish, join, insights; print figures, write a report."""
    settings = Settings()
    console = Console()
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
            )
        )
    except KeyboardInterrupt:
        console.print("interrupted: publishers, joiner and consumers were closed")
        raise SystemExit(130) from None
    print_summaries(result.summaries, console)
    console.print(
        f"{result.events_published} events published, {result.dead_letters} dead letters; "
        f"report: {result.report_path}"
    )
    console.print(f"total wall time {result.seconds:.1f} s")
