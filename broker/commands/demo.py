"""``cxbroker demo``: the whole system in one command.

Starts local Kafka (or uses ``CX_BOOTSTRAP_SERVERS``), applies the topic plan, creates the
keyring, starts ``--joiners`` joiner processes (``cxbroker join``, one consumer group),
simulates a seeded workload over the five life experiences, publishes each agency's
events through that agency's publisher while the joiners run, waits until the group has
committed every record, computes insights (``cxbroker insights`` processes, while this
one reads the joined journeys for the report), then prints per life experience
the journeys, completion rate, median days to complete, the hand-off where most journeys
stall and A-11 driver scores by agency (suppressed cells marked ``*``), and writes an HTML
report.

The joiners are separate processes so that joining (the costliest stage) runs on other
cores than simulation and publishing, which share this process's interpreter.

Ctrl-C stops the sub-processes, closes the publishers and, when this run started the
local cluster, stops that cluster too; a cluster that was already running stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker.admin import admin_client
from broker.commands.init import run_init
from broker.errors import CxError
from broker.kafka.launcher import (
    cluster_status,
    read_cluster_state,
    start_cluster,
    stop_cluster,
)
from broker.keyring import Keyring
from broker.lifeline import child_env
from broker.settings import Settings

__all__ = [
    "DEMO_GROUP",
    "DemoError",
    "DemoProcesses",
    "DemoResult",
    "demo",
    "insight_shares",
    "joiner_totals",
    "principal_env",
    "run_demo",
    "start_joiners",
]

log = logging.getLogger(__name__)

DEMO_GROUP = "cx.joiner.demo"

#: Simulated journeys start here: early enough that even the longest journey of the
#: default 20,000 ends before today (the joiner dead-letters events dated in its future).
DEMO_START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

#: The joiner counters the demo sums over its processes (``cxbroker join --stats-file``).
_STAT_COUNTS = (
    "records",
    "events",
    "duplicates",
    "late",
    "dead_letters",
    "snapshots",
    "transactions",
)

#: How often the demo checks the joiner processes and the group's committed lag.
_FOLLOW_INTERVAL = 0.5

#: Insights processes, each computing some life experiences (beside the report's reader).
_INSIGHTS_PROCESSES = 2


class DemoError(CxError):
    """The demo cannot finish: a joiner process failed or did not stop."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and where its report is."""

    summaries: list[Any]
    report_path: Path
    events_published: int
    dead_letters: int
    seconds: float


class _GroupLag:
    """Records on ``topics`` not yet committed by ``group`` (read_committed end offsets).

    Holds one admin client and one consumer open for repeated probes, so following the
    joiners costs two small requests per probe instead of two new (TLS, SCRAM) connections.
    """

    def __init__(self, settings: Settings, group: str, topics: Sequence[str]) -> None:
        self.settings = settings
        self.group = group
        self.topics = list(topics)
        self._stack = contextlib.AsyncExitStack()
        self._admin: Any = None
        self._consumer: Any = None
        self._tps: list[Any] = []

    async def __aenter__(self) -> _GroupLag:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        async with contextlib.AsyncExitStack() as stack:
            self._admin = await stack.enter_async_context(admin_client(self.settings))
            described = await self._admin.describe_topics(self.topics)
            self._tps = [
                TopicPartition(t["topic"], p["partition"])
                for t in described
                for p in t["partitions"]
            ]
            self._consumer = AIOKafkaConsumer(
                isolation_level="read_committed",
                enable_auto_commit=False,
                **self.settings.kafka_client_kwargs(),
            )
            await self._consumer.start()
            stack.push_async_callback(self._consumer.stop)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def lag(self) -> int | None:
        """The group's committed lag summed over every partition of the topics.

        None while Kafka cannot tell yet (a retriable error: on a new cluster the group
        coordinator exists only once the first member has joined).
        """
        from aiokafka.errors import KafkaError

        try:
            committed = await self._admin.list_consumer_group_offsets(self.group)
            end = await self._consumer.end_offsets(self._tps)
        except KafkaError as exc:
            if exc.retriable:
                return None
            raise
        lag = 0
        for tp in self._tps:
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


def principal_env(
    settings: Settings, secured: bool, principal: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """Environment of a sub-process: ``environ`` plus the demo's deployment settings.

    The process sees the same state dir, keyring, topic prefix and partitions as the
    demo; on a secured local cluster it acts as ``principal`` (``CX_PROFILE``), exactly
    as :func:`principal_settings` would. Everything else ``environ`` says (an explicit
    ``CX_BOOTSTRAP_SERVERS``, credentials) passes unchanged.
    """
    env = dict(environ)
    env.update(
        CX_STATE_DIR=str(settings.state_dir),
        CX_KEYRING_DIR=str(settings.keyring_path),
        CX_CACHE_DIR=str(settings.cache_dir),
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_PARTITIONS=str(settings.partitions),
    )
    if settings.bootstrap_servers:
        env["CX_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    if secured:
        env["CX_PROFILE"] = principal
    return env


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def _how(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class DemoProcesses:
    """``cxbroker`` sub-processes the demo starts, and alone stops.

    Each writes its log (stderr and stdout) to ``<work_dir>/<name>.log``. Every process
    gets a session of its own (``start_new_session``): Ctrl-C in the terminal signals the
    terminal's foreground process group, and a child in that group would race the demo's
    own shutdown (a SIGINT during its interpreter start-up is a traceback, not a clean
    stop). Instead the demo alone decides when they stop: :meth:`stop` sends SIGTERM,
    which ``cxbroker join`` handles like SIGINT (finish the batch in flight, commit,
    leave the group), and SIGKILL only after ``stop_timeout`` seconds. Should the demo be
    killed outright, the children get SIGTERM from Linux (:mod:`broker.lifeline`).
    """

    def __init__(self, work_dir: Path, *, stop_timeout: float = 30.0) -> None:
        self.work_dir = work_dir
        self.stop_timeout = stop_timeout
        self._children: list[_Child] = []
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the processes started so far."""
        return [child.process.pid for child in self._children]

    def log(self, name: str) -> Path:
        """Where the process ``name`` writes its output."""
        return self.work_dir / f"{name}.log"

    def start(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        """Start ``cxbroker ARGS`` (this interpreter, ``-m broker``) as process ``name``."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log(name)
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "broker", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(env),
                start_new_session=True,
            )
        self._children.append(_Child(name, process, log_path))

    def _failure(self, child: _Child, when: str) -> DemoError:
        code = child.process.returncode
        what = f"{child.name} {_how(code)}" + (f" {when}" if when else "")
        return DemoError(f"{what}; last lines of {child.log}:\n{_tail(child.log)}")

    def check(self) -> None:
        """Raise :class:`DemoError` when a process has exited before :meth:`stop`."""
        if self._stopping:
            return
        for child in self._children:
            if child.process.poll() is not None:
                raise self._failure(child, "before the demo finished")

    async def finished(self) -> None:
        """Wait until every process has exited by itself; :class:`DemoError` unless with 0."""
        for child in self._children:
            await asyncio.to_thread(child.process.wait)
            if child.process.returncode != 0:
                raise self._failure(child, "")

    def stop(self) -> None:
        """SIGTERM every running process, wait, SIGKILL those still running; reap all.

        Idempotent. Blocking: call it in a thread from async code.
        """
        self._stopping = True
        for child in self._children:
            if child.process.poll() is None:
                # Popen.send_signal only signals its own, not yet reaped, child.
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self._children:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def require_clean_exit(self) -> None:
        """After :meth:`stop`: :class:`DemoError` naming the log of a process that failed."""
        for child in self._children:
            if child.process.returncode != 0:
                raise self._failure(child, "when asked to stop")


def insight_shares(agencies: Mapping[str, int], count: int) -> list[list[str]]:
    """Life experiences split into at most ``count`` shares of about equal insights work.

    ``agencies`` gives each life experience's number of agencies: its cells (per agency
    and stage, per period) grow with it. Largest first, each to the lightest share.
    """
    shares: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, count))]
    for life_experience in sorted(agencies, key=lambda le: (-agencies[le], le)):
        index = min(range(len(shares)), key=lambda i: shares[i][0])
        weight, members = shares[index]
        shares[index] = (weight + agencies[life_experience] + 1, [*members, life_experience])
    return [members for _, members in shares if members]


def start_joiners(
    processes: DemoProcesses, count: int, group: str, env: Mapping[str, str]
) -> list[Path]:
    """Start ``count`` ``cxbroker join`` processes of ``group`` (instances ``0..count-1``).

    Returns the files where each writes its counters on exit (``--stats-file``).
    """
    stats_files = []
    for instance in range(count):
        stats_file = processes.work_dir / f"joiner-{instance}.stats.json"
        stats_file.unlink(missing_ok=True)  # a previous run's counters are not ours
        processes.start(
            f"joiner-{instance}",
            [
                "join",
                "--group",
                group,
                "--instance",
                str(instance),
                "--stats-file",
                str(stats_file),
            ],
            env,
        )
        stats_files.append(stats_file)
    return stats_files


def joiner_totals(stats_files: Sequence[Path]) -> dict[str, int]:
    """The joiner counters summed over ``stats_files``; :class:`DemoError` if one is missing."""
    totals = dict.fromkeys(_STAT_COUNTS, 0)
    for path in stats_files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DemoError(
                f"a joiner left no readable counters at {path} ({type(exc).__name__})"
            ) from exc
        for name in _STAT_COUNTS:
            totals[name] += int(data.get(name, 0))
    return totals


async def run_demo(
    settings: Settings,
    *,
    journeys: int,
    seed: int,
    report: Path,
    console: Console,
    security: str = "sasl-tls",
    joiners: int = 2,
) -> DemoResult:
    """Run the main job end to end and write the HTML report; return the figures.

    On a local cluster started here with security, every role acts as its own principal
    of the access plan: each agency publishes as ``agency-<id>``, the ``joiners``
    processes as ``joiner``, insights as ``insights`` and the report reads as
    ``team-analytics``. When the run is cancelled (Ctrl-C) the joiner and insights
    processes are stopped, the publishers closed, and a local cluster this run started
    is stopped.
    """
    started = time.monotonic()
    kafka = settings.bootstrap_servers
    secured = False
    cluster_started = False
    try:
        if not kafka:
            state = await start_cluster(settings, nodes=1, security=security)
            cluster_started = not state.reused
            secured = state.security != "none"
            kafka = (
                f"{state.kafka_version} at {state.bootstrap_servers} (security {state.security})"
            )
            console.print(f"local Kafka {kafka} ({'reused' if state.reused else 'started'})")
        return await _run(
            settings,
            journeys=journeys,
            seed=seed,
            report=report,
            console=console,
            joiners=joiners,
            secured=secured,
            kafka=kafka,
            started=started,
        )
    except (asyncio.CancelledError, KeyboardInterrupt):
        if cluster_started:
            await asyncio.to_thread(_stop_own_cluster, settings)
        raise


def _stop_own_cluster(settings: Settings, reap_timeout: float = 10.0) -> None:
    """Stop the local cluster this run started, and reap its node processes.

    Only through the launcher's record of it (as `cxbroker kafka down` does): never a
    process we did not start. The nodes are this process's children. The launcher
    considers a node gone once its command line is (its JVM tears down its threads
    after that), so one may not be reapable yet when it returns; wait for each here,
    or it would linger as a zombie after we exit.
    """
    state = read_cluster_state(settings.cluster_dir)
    pids = [node.pid for node in state.nodes if node.pid] if state is not None else []
    stop_cluster(settings)
    deadline = time.monotonic() + reap_timeout
    for pid in pids:
        with contextlib.suppress(ChildProcessError):  # not our child, or already reaped
            while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
                time.sleep(0.05)


async def _run(
    settings: Settings,
    *,
    journeys: int,
    seed: int,
    report: Path,
    console: Console,
    joiners: int,
    secured: bool,
    kafka: str,
    started: float,
) -> DemoResult:
    from consumers.insights.service import read_joined
    from consumers.report import RunReport, render_html, summarize
    from contracts.catalog import load_catalog
    from producers.publisher import AgencyPublisher
    from producers.simulator.engine import Simulation
    from producers.simulator.publish import (
        Deliver,
        PublishTally,
        SimulationPreparer,
        publish_deliveries,
    )

    catalog = load_catalog()
    as_admin = principal_settings(settings, secured, "admin")
    _, plan = await run_init(as_admin)
    plan.raise_for_conflicts()
    keyring = Keyring(settings.keyring_path)
    keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
    agency_topics = [settings.topics.agency(a.id) for a in catalog.agencies]

    simulation = Simulation(journeys, seed, DEMO_START)
    preparer = SimulationPreparer(keyring)
    work_dir = settings.state_dir / "demo"
    joiner_procs = DemoProcesses(work_dir)
    insights_procs = DemoProcesses(work_dir)
    sent = 0
    async with contextlib.AsyncExitStack() as children:
        # However this block ends (done, failed, Ctrl-C), no sub-process outlives it.
        children.push_async_callback(asyncio.to_thread, joiner_procs.stop)
        children.push_async_callback(asyncio.to_thread, insights_procs.stop)
        with _progress(console) as progress:
            pub_task = progress.add_task("publish", total=journeys, note="")
            join_task = progress.add_task("join", total=None, note="")
            # Started before publishing, so joining overlaps it.
            stats_files = start_joiners(
                joiner_procs,
                joiners,
                DEMO_GROUP,
                principal_env(settings, secured, "joiner", os.environ),
            )
            console.print(
                f"publishing {journeys} journeys; {joiners} joiner processes started "
                f"(group {DEMO_GROUP}, logs in {work_dir})"
            )
            # Closed (on any exit) before the joiner processes stop.
            async with contextlib.AsyncExitStack() as stack:
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

                def on_round(tally: PublishTally) -> None:
                    nonlocal sent
                    sent = tally.total_sent
                    progress.update(
                        pub_task,
                        completed=simulation.journeys_started,
                        note=f"{tally.prepared} events",
                    )

                async def publish() -> PublishTally:
                    tally = await publish_deliveries(
                        simulation.deliveries(), preparer.prepare, deliver_for, on_round=on_round
                    )
                    for publisher in publishers.values():
                        await publisher.drain()
                    progress.update(pub_task, completed=journeys, note=f"{tally.prepared} events")
                    return tally

                async def follow(publishing: asyncio.Task[PublishTally]) -> None:
                    # Done when publishing has finished and the group has committed every
                    # record of the agency topics; a joiner that dies ends the demo.
                    async with _GroupLag(as_admin, DEMO_GROUP, agency_topics) as probe:
                        while True:
                            joiner_procs.check()
                            finished = publishing.done()  # before the probe: all sent is in it
                            lag = await probe.lag()
                            total = publishing.result().prepared if finished else sent
                            if lag is not None:
                                done = min(total, max(0, total - lag))
                                progress.update(join_task, completed=done, total=total)
                            if finished and lag == 0:
                                return
                            await asyncio.sleep(_FOLLOW_INTERVAL)

                publishing = asyncio.create_task(publish())
                following = asyncio.create_task(follow(publishing))
                try:
                    await asyncio.wait({publishing, following}, return_when=asyncio.FIRST_EXCEPTION)
                finally:
                    # Interrupted or failed: neither task outlives this block.
                    for task in (publishing, following):
                        task.cancel()
                    await asyncio.gather(publishing, following, return_exceptions=True)
                for task in (following, publishing):
                    error = None if task.cancelled() else task.exception()
                    if error is not None:
                        raise error
                published = publishing.result().prepared
            await asyncio.to_thread(joiner_procs.stop)
            joiner_procs.require_clean_exit()
            totals = joiner_totals(stats_files)
            progress.update(
                join_task,
                completed=published,
                total=published,
                note=f"{totals['snapshots']} snapshots",
            )

        console.print("computing insights ...")
        # Insights in processes of their own while this one reads the joined journeys for
        # the report: every core reads and computes.
        insights_env = principal_env(settings, secured, "insights", os.environ)
        shares = insight_shares(
            {le.id: len(le.agencies) for le in catalog.life_experiences}, _INSIGHTS_PROCESSES
        )
        for index, share in enumerate(shares):
            args = ["insights", "--serve", "--until-idle"]
            for life_experience in share:
                args += ["--life-experience", life_experience]
            insights_procs.start(f"insights-{index}", args, insights_env)
        reader = principal_settings(settings, secured, "team-analytics")
        snapshots = []
        for le in catalog.life_experiences:
            found, _invalid = await read_joined(reader, le.id)
            snapshots.extend(found)
        await insights_procs.finished()
    summaries = summarize(snapshots, catalog)
    seconds = time.monotonic() - started
    run = RunReport(
        journeys_simulated=journeys,
        seed=seed,
        events_published=published,
        dead_letters=totals["dead_letters"],
        seconds=seconds,
        kafka=kafka,
        generated_at=datetime.now(UTC),
    )
    await asyncio.to_thread(_write_report, report, render_html(summaries, run))
    return DemoResult(summaries, report, published, totals["dead_letters"], seconds)


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
@click.option(
    "--joiners",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Joiner processes (`cxbroker join`, one consumer group) running beside publishing.",
)
def demo(journeys: int, seed: int, security: str, report: Path | None, joiners: int) -> None:
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
                joiners=joiners,
            )
        )
    except KeyboardInterrupt:
        console.print(_interrupted_line(settings))
        raise SystemExit(130) from None
    print_summaries(result.summaries, console)
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
