"""The demo: the whole system in one run.

Starts local Kafka (or uses ``CX_BOOTSTRAP_SERVERS``), provisions topics and access,
creates the keyring, starts ``joiners`` joiner processes (``cxbroker join``, one consumer
group), simulates a seeded workload over the five life experiences, publishes each
agency's events through that agency's publisher while the joiners run, waits until the
group has committed every record, releases insights (``cxbroker insights`` processes:
every closed week audited and published as a release), and writes an HTML report made of
the released cells only.

The joiners are separate processes so that joining (the costliest stage) runs on other
cores than simulation and publishing, which share this process's interpreter.

On a local cluster started here with security, every role acts as its own principal of
the access plan: each agency publishes as ``agency-<id>``, the joiners as ``joiner``,
insights as ``insights`` and the report reads as ``team-analytics`` (and, for the
disclosure-risk section that compares the fine journeys with the k-protected ones, as the
restricted-tier ``team-research``). When the run is
cancelled (Ctrl-C) the joiner and insights processes are stopped, the publishers closed,
and a local cluster this run started is stopped; one that was already running stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from broker.kafka import read_cluster_state, start_cluster, stop_cluster
from broker.keyring import Keyring
from broker.lag import GroupLag
from broker.provision import provision_topics
from broker.security.profile import principal_settings
from broker.settings import Settings
from consumers.insights import read_releases
from consumers.joiner import JoinerStats
from consumers.privacy.html import disclosure_section
from consumers.report import LifeExperienceSummary, RunReport, render_html, summarize
from contracts.catalog import Catalog, load_catalog
from contracts.insights import InsightCell
from cxbroker.output import LineProgress, progress_or_lines
from cxbroker.processes import Processes, joiner_totals, principal_env, start_joiners
from producers.publisher import AgencyPublisher
from producers.simulator import Simulation
from producers.simulator.publish import (
    Deliver,
    PublishTally,
    SimulationPreparer,
    publish_deliveries,
)

__all__ = ["DEMO_GROUP", "DEMO_START", "DemoResult", "insight_shares", "run_demo"]

DEMO_GROUP = "cx.joiner.demo"

#: Simulated journeys start here: early enough that even the longest journey of the
#: default 20,000 ends before today (the joiner dead-letters events dated in its future).
DEMO_START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

#: How often the demo checks the joiner processes and the group's committed lag.
_FOLLOW_INTERVAL = 0.5

#: Insights processes, each computing some life experiences (beside the report's reader).
_INSIGHTS_PROCESSES = 2


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and where its report is."""

    summaries: list[LifeExperienceSummary]
    report_path: Path
    events_published: int
    dead_letters: int
    seconds: float


@dataclass(frozen=True)
class _Deployment:
    """The cluster the demo runs on, and how each role reaches it."""

    settings: Settings
    secured: bool
    kafka: str  # a description for the report

    def acting_as(self, principal: str) -> Settings:
        """Settings of ``principal`` (its own credential on a secured local cluster)."""
        return principal_settings(self.settings, self.secured, principal)

    def env_of(self, principal: str) -> dict[str, str]:
        """The environment of a ``cxbroker`` child process acting as ``principal``."""
        return principal_env(self.settings, self.secured, principal, os.environ)

    @property
    def work_dir(self) -> Path:
        """Where the child processes' logs and counters go."""
        return self.settings.state_dir / "demo"


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


def _progress(console: Console) -> Progress | LineProgress:
    bar = (TextColumn("[bold]{task.description:<8}"), BarColumn(), MofNCompleteColumn())
    columns = (*bar, TextColumn("{task.fields[note]}"), TimeElapsedColumn())
    return progress_or_lines(console, lambda: Progress(*columns, console=console))


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
    """Run the main job end to end and write the HTML report; return the figures."""
    started = time.monotonic()
    deployment = _Deployment(settings, False, settings.bootstrap_servers)
    cluster_started = False
    try:
        if not settings.bootstrap_servers:
            state = await start_cluster(settings, nodes=1, security=security)
            cluster_started = not state.reused
            kafka = (
                f"{state.kafka_version} at {state.bootstrap_servers} (security {state.security})"
            )
            console.print(f"local Kafka {kafka} ({'reused' if state.reused else 'started'})")
            deployment = _Deployment(settings, state.security != "none", kafka)
        return await _run(deployment, journeys, seed, report, console, joiners, started)
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
    deployment: _Deployment,
    journeys: int,
    seed: int,
    report: Path,
    console: Console,
    joiners: int,
    started: float,
) -> DemoResult:
    catalog = load_catalog()
    keyring = await _provision(deployment, catalog)
    simulation = Simulation(journeys, seed, DEMO_START)
    joiner_procs = Processes(deployment.work_dir)
    insights_procs = Processes(deployment.work_dir)
    async with contextlib.AsyncExitStack() as children:
        # However this block ends (done, failed, Ctrl-C), no sub-process outlives it.
        children.push_async_callback(asyncio.to_thread, joiner_procs.stop)
        children.push_async_callback(asyncio.to_thread, insights_procs.stop)
        with _progress(console) as progress:
            published, totals = await _publish_and_join(
                deployment, catalog, simulation, keyring, joiner_procs, joiners, progress
            )
        console.print("releasing insights (weeks closed plus grace, audited) ...")
        released = await _insights_and_releases(deployment, catalog, insights_procs)
    # The fine journeys are read as the restricted-tier team, the protected ones as published.
    risk, line = await disclosure_section(deployment.acting_as("team-research"), catalog)
    console.print(line)
    summaries = summarize(released, catalog)
    seconds = time.monotonic() - started
    run = RunReport(
        journeys_simulated=journeys,
        seed=seed,
        events_published=published,
        dead_letters=totals.dead_letters,
        seconds=seconds,
        kafka=deployment.kafka,
        generated_at=datetime.now(UTC),
    )
    await asyncio.to_thread(_write_report, report, render_html(summaries, run, risk))
    return DemoResult(summaries, report, published, totals.dead_letters, seconds)


async def _provision(deployment: _Deployment, catalog: Catalog) -> Keyring:
    """Topics and access as the admin; the keyring of every agency and life experience."""
    _, plan = await provision_topics(deployment.acting_as("admin"))
    plan.raise_for_conflicts()
    keyring = Keyring(deployment.settings.keyring_path)
    keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
    return keyring


async def _publish_and_join(
    deployment: _Deployment,
    catalog: Catalog,
    simulation: Simulation,
    keyring: Keyring,
    joiner_procs: Processes,
    joiners: int,
    progress: Progress | LineProgress,
) -> tuple[int, JoinerStats]:
    """Publish the simulation as its agencies while ``joiners`` processes join it.

    Returns the events published and the joiners' counters once the group has committed
    every record and the joiners have stopped cleanly.
    """
    pub_task = progress.add_task("publish", total=simulation.journeys, note="")
    join_task = progress.add_task("join", total=None, note="")
    # Started before publishing, so joining overlaps it.
    stats_files = start_joiners(joiner_procs, joiners, DEMO_GROUP, deployment.env_of("joiner"))
    progress.console.print(
        f"publishing {simulation.journeys} journeys; {joiners} joiner processes started "
        f"(group {DEMO_GROUP}, logs in {deployment.work_dir})"
    )
    sent = [0]
    # Closed (on any exit) before the joiner processes stop.
    async with _Publishers(deployment, keyring) as publishers:

        def on_round(tally: PublishTally) -> None:
            sent[0] = tally.total_sent
            progress.update(
                pub_task, completed=simulation.journeys_started, note=f"{tally.prepared} events"
            )

        async def publish() -> PublishTally:
            tally = await publish_deliveries(
                simulation.deliveries(),
                SimulationPreparer(keyring).prepare,
                publishers.deliver_for,
                on_round=on_round,
            )
            await publishers.drain()
            progress.update(
                pub_task, completed=simulation.journeys, note=f"{tally.prepared} events"
            )
            return tally

        agency_topics = [deployment.settings.topics.agency(a.id) for a in catalog.agencies]
        publishing = asyncio.create_task(publish())
        following = asyncio.create_task(
            _follow(deployment, agency_topics, joiner_procs, publishing, sent, progress, join_task)
        )
        await _first_failure(publishing, following)
        published = publishing.result().prepared
    await asyncio.to_thread(joiner_procs.stop)
    joiner_procs.require_clean_exit()
    totals = joiner_totals(stats_files)
    progress.update(
        join_task, completed=published, total=published, note=f"{totals.snapshots} snapshots"
    )
    return published, totals


class _Publishers:
    """One :class:`AgencyPublisher` per agency, opened on first use as that agency."""

    def __init__(self, deployment: _Deployment, keyring: Keyring) -> None:
        self._deployment = deployment
        self._keyring = keyring
        self._stack = contextlib.AsyncExitStack()
        self._open: dict[str, AgencyPublisher] = {}

    async def __aenter__(self) -> _Publishers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def deliver_for(self, agency: str) -> Deliver:
        """The delivery function of ``agency``'s publisher."""
        publisher = self._open.get(agency)
        if publisher is None:
            settings = self._deployment.acting_as(f"agency-{agency}")
            publisher = AgencyPublisher(settings, agency, keyring=self._keyring)
            self._open[agency] = await self._stack.enter_async_context(publisher)
        return publisher.deliver

    async def drain(self) -> None:
        """Wait until every publisher has delivered what it accepted."""
        for publisher in self._open.values():
            await publisher.drain()


async def _follow(
    deployment: _Deployment,
    agency_topics: list[str],
    joiner_procs: Processes,
    publishing: asyncio.Task[PublishTally],
    sent: list[int],
    progress: Progress | LineProgress,
    join_task: TaskID,
) -> None:
    """Until publishing has finished and the group has committed every record.

    A joiner process that dies ends the demo (:meth:`Processes.check` raises).
    """
    async with GroupLag(deployment.acting_as("admin"), DEMO_GROUP, agency_topics) as probe:
        while True:
            joiner_procs.check()
            finished = publishing.done()  # before the probe: all sent is in it
            lag = await probe.lag()
            total = publishing.result().prepared if finished else sent[0]
            if lag is not None:
                progress.update(join_task, completed=min(total, max(0, total - lag)), total=total)
            if finished and lag == 0:
                return
            await asyncio.sleep(_FOLLOW_INTERVAL)


async def _first_failure(*tasks: asyncio.Task[object] | asyncio.Task[PublishTally]) -> None:
    """Wait for every task; the first failure cancels the others and is raised.

    Interrupted (Ctrl-C) or failed: no task outlives this call.
    """
    try:
        await asyncio.wait(set(tasks), return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in reversed(tasks):
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error


async def _insights_and_releases(
    deployment: _Deployment, catalog: Catalog, insights_procs: Processes
) -> dict[str, list[InsightCell]]:
    """Release the insights in processes of their own, then read the whole releases as a
    data team does: the report is made of released cells only."""
    shares = insight_shares(
        {le.id: len(le.agencies) for le in catalog.life_experiences}, _INSIGHTS_PROCESSES
    )
    env = deployment.env_of("insights")
    for index, share in enumerate(shares):
        args = ["insights", "--serve", "--until-idle"]
        for life_experience in share:
            args += ["--life-experience", life_experience]
        insights_procs.start(f"insights-{index}", args, env)
    await insights_procs.finished()
    reader = deployment.acting_as("team-analytics")
    released: dict[str, list[InsightCell]] = {}
    for le in catalog.life_experiences:
        found = await read_releases(reader, le.id)
        released[le.id] = list(found.cells.values())
    return released


def _write_report(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
