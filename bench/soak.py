"""Soak: a steady event rate through the joiner for minutes; RSS, lag and state over time.

``python -m bench.soak --minutes 10 --rate 1000`` starts a one-node local cluster (or uses
``--bootstrap``), a fresh deployment (topic prefix, keyring, state dir), the joiner as a
separate process (``python -m cxbroker join``), and publishes simulated records (de-identified
and signed by the publisher's preparer, as agencies would) at ``--rate`` per second. Every
``--sample`` seconds it prints and records: events sent, the achieved rate, the joiner's RSS,
this process's RSS, the joiner group's lag (records of the agency topics not yet
committed), and the joiner's local state: journeys held (rows of its SQLite stores) and the
bytes of its state dir. ``--retention 1d`` (event time: the simulation starts at most 250
journeys a day, so 1,000 events/s move about a day of event time per second) makes closed
journeys leave the state soon after they close: rows and bytes level off instead of
growing with every journey seen. At the end it waits for the lag to reach zero and prints
a summary comparing the first and last thirds of the run (flat = the last third's mean
within a few percent of the first's); the figures also go to ``bench/results/soak-<time>.json``.

A benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.machine import machine_info, rss_kib
from bench.workload import BenchEnv, cleaned_up, make_env
from broker.kafka.launcher import LocalKafka
from broker.lag import GroupLag
from broker.settings import Settings
from contracts.catalog import load_catalog
from cxbroker.processes import Processes
from producers.simulator import Simulation
from producers.simulator.engine import SimulationConfig
from producers.simulator.publish import SimulationPreparer

__all__ = ["Sample", "main", "run_soak", "summarize"]

RESULTS = Path(__file__).parent / "results"
#: The simulation's default pace of journeys per day of event time.
JOURNEYS_PER_DAY = SimulationConfig().max_journeys_per_day
Sample = dict[str, float | int | None]


def _mib(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _third_means(samples: list[Sample], field: str) -> tuple[float | None, float | None]:
    values = [float(v) for s in samples if (v := s.get(field)) is not None]
    if len(values) < 3:
        return None, None
    third = max(1, len(values) // 3)
    return round(statistics.fmean(values[:third]), 1), round(statistics.fmean(values[-third:]), 1)


def _slope_per_minute(samples: list[Sample], field: str) -> float | None:
    """Least-squares slope of ``field`` per minute over the second half of the samples.

    Caches fill during the first minutes (RSS rises, then levels off); the second half
    says whether it keeps growing.
    """
    points = [
        (float(t) / 60, float(v))
        for s in samples[len(samples) // 2 :]
        if (t := s.get("t")) is not None and (v := s.get(field)) is not None
    ]
    if len(points) < 2:
        return None
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return round(sum((t - mean_t) * (v - mean_v) for t, v in points) / spread, 2)


def state_figures(state_dir: Path) -> tuple[int | None, int]:
    """(journeys held, bytes on disk) of a joiner's state dir: the rows of its SQLite
    stores (read-only, beside the running joiner; None if unreadable) and every file."""
    files = [p for p in state_dir.rglob("*") if p.is_file()] if state_dir.exists() else []
    size = 0
    for path in files:
        with contextlib.suppress(OSError):
            size += path.stat().st_size
    rows: int | None = 0
    for path in sorted(p for p in files if p.suffix == ".sqlite"):
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                rows = (rows or 0) + int(db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])
            finally:
                db.close()
        except sqlite3.Error:
            rows = None
            break
    return rows, size


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """First-third and last-third means of RSS, lag and state, their maxima, and the slope
    per minute over the second half of the run."""
    out: dict[str, Any] = {}
    for field in ("joiner_rss_mib", "soak_rss_mib", "lag", "state_rows", "state_mib"):
        first, last = _third_means(samples, field)
        values = [v for s in samples if (v := s.get(field)) is not None]
        out[field] = {
            "first_third": first,
            "last_third": last,
            "max": max(values, default=None),
            "second_half_slope_per_min": _slope_per_minute(samples, field),
        }
    return out


async def _publish(
    env: BenchEnv,
    rate: float,
    seconds: float,
    seed: int,
    sent: list[int],
    journeys_per_day: float = JOURNEYS_PER_DAY,
) -> dict[str, Any]:
    """Publish simulated records at ``rate`` per second for ``seconds``; counts into sent[0]."""
    preparer = SimulationPreparer(env.keyring)
    config = SimulationConfig(max_journeys_per_day=journeys_per_day)
    simulation = Simulation(int(rate * seconds) // 3 + 100, seed, config=config)
    deliveries = iter(simulation.deliveries())
    producer = AIOKafkaProducer(
        **env.settings.kafka_client_kwargs(), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    pending: deque[asyncio.Future[Any]] = deque()
    failures = 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    # At most a quarter second's worth per tick: when the machine cannot keep up, the
    # achieved rate drops (and is reported) instead of the run overshooting its duration.
    per_tick = max(1, int(rate / 4))
    try:
        while (elapsed := loop.time() - started) < seconds:
            due = min(per_tick, int(rate * elapsed) - sent[0])
            for _ in range(max(0, due)):
                delivery = next(deliveries, None)
                if delivery is None:
                    break
                prepared = preparer.prepare(delivery.record)
                topic = env.settings.topics.agency(delivery.record.agency)
                pending.append(
                    await producer.send(
                        topic,
                        prepared.record.value,
                        key=prepared.record.key,
                        headers=list(prepared.record.headers),
                    )
                )
                sent[0] += 1
            while pending and pending[0].done():
                failures += pending.popleft().exception() is not None
            await asyncio.sleep(0.05)  # pacing tick (a benchmark, not a test)
        results = await asyncio.gather(*pending, return_exceptions=True)
        failures += sum(isinstance(r, BaseException) for r in results)
    finally:
        await producer.stop()
    return {"sent": sent[0], "failed": failures, "seconds": round(loop.time() - started, 1)}


async def run_soak(
    minutes: float,
    rate: float,
    sample_every: float,
    bootstrap: str | None,
    partitions: int,
    seed: int,
    retention: str | None = None,
    journeys_per_day: float = JOURNEYS_PER_DAY,
) -> dict[str, Any]:
    """Run the soak and return its figures (samples, summary, drain time)."""
    with tempfile.TemporaryDirectory(prefix="cx-soak-") as tmp:
        work = Path(tmp)
        async with contextlib.AsyncExitStack() as stack:
            if bootstrap is None:
                local = LocalKafka(Settings(state_dir=work / "kafka"), nodes=1)
                await stack.enter_async_context(local)
                bootstrap = local.bootstrap_servers
            # Topics deleted at the end (on a cluster given with --bootstrap they would stay).
            env = await stack.enter_async_context(
                cleaned_up(await make_env(bootstrap, work, "soak", partitions))
            )
            group = f"soak-{env.name}"
            child_env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
            child_env.update(env.worker_env())
            # The joiner as its own process (its RSS is what the soak watches).
            joiners = Processes(work, stop_timeout=60)
            try:
                extra = [] if retention is None else ["--retention", retention]
                # Simulated event time runs ahead of the wall clock (faster still with few
                # journeys per day): the joiner's default 1-day bound would dead-letter
                # most events as time-out-of-range instead of folding (and pruning) them.
                # 25 journeys a day at 1,000 events/s is about a day of event time per
                # second, so a 30-minute run ends some 5 years ahead and a 3650-day bound
                # (the first choice here) dead-lettered the last minutes: a century it is.
                extra += ["--max-ahead", "36500d"]
                joiners.start("joiner", ["join", "--group", group, *extra], child_env)
                figures = await _measure(
                    env, group, joiners, minutes, rate, sample_every, (seed, journeys_per_day)
                )
                figures["retention"] = retention
                figures["journeys_per_day"] = journeys_per_day
            finally:
                await asyncio.to_thread(joiners.stop)
            figures["joiner_exit"] = joiners.returncodes[0]
            log = joiners.log("joiner").read_text().strip().splitlines()
            figures["joiner_last_line"] = (log or [""])[-1]
            figures["dead_letters"] = _dead_letters(figures["joiner_last_line"])
            return figures


def _dead_letters(last_line: str) -> int | None:
    """The joiner's dead-letter count from its closing line: a soak that dead-lettered its
    records (instead of folding them) proves nothing about the state, so it is reported."""
    found = re.search(r"\bdead_letters=(\d+)", last_line)
    return int(found.group(1)) if found else None


async def _measure(
    env: BenchEnv,
    group: str,
    joiners: Processes,
    minutes: float,
    rate: float,
    sample_every: float,
    seed: tuple[int, float],
) -> dict[str, Any]:
    topics = [env.settings.topics.agency(a.id) for a in load_catalog().agencies]
    async with GroupLag(env.settings, group, topics) as probe:
        return await _sample_while_publishing(
            env, probe, joiners, minutes, rate, sample_every, seed
        )


async def _sample_while_publishing(
    env: BenchEnv,
    probe: GroupLag,
    joiners: Processes,
    minutes: float,
    rate: float,
    sample_every: float,
    seed: tuple[int, float],
) -> dict[str, Any]:
    sent = [0]
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    started = loop.time()

    previous = [0.0, 0]  # time and count of the previous sample
    state_dir = env.settings.state_dir / "joiner"

    async def sample() -> Sample:
        now = loop.time() - started
        elapsed = now - previous[0]
        row: Sample = {
            "t": round(now, 1),
            "sent": sent[0],
            "rate": round(sent[0] / now, 1) if now > 0 else 0.0,
            "interval_rate": round((sent[0] - previous[1]) / elapsed, 1) if elapsed > 0 else 0.0,
            "joiner_rss_mib": _mib(rss_kib(joiners.pids[0])["rss_kib"]),
            "soak_rss_mib": _mib(rss_kib()["rss_kib"]),
            "lag": await probe.lag(),
        }
        rows, size = await asyncio.to_thread(state_figures, state_dir)
        row["state_rows"] = rows
        row["state_mib"] = round(size / 2**20, 2)
        samples.append(row)
        previous[:] = [now, sent[0]]
        print(
            f"t={row['t']:>7}s sent={row['sent']:>8} rate={row['interval_rate']:>7}/s "
            f"joiner_rss={row['joiner_rss_mib']} MiB soak_rss={row['soak_rss_mib']} MiB "
            f"lag={row['lag']} state_rows={row['state_rows']} state={row['state_mib']} MiB",
            flush=True,
        )
        return row

    async def sampler() -> None:
        while True:
            await asyncio.sleep(sample_every)
            joiners.check()
            await sample()

    task = asyncio.create_task(sampler())
    try:
        published = await _publish(env, rate, minutes * 60, seed[0], sent, seed[1])
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    drain_started = loop.time()
    drained = False
    while loop.time() - drain_started < 300:
        if (await sample())["lag"] == 0:
            drained = True
            break
        await asyncio.sleep(1)
    return {
        "minutes": minutes,
        "target_rate": rate,
        "published": published,
        "drained": drained,
        "drain_seconds": round(loop.time() - drain_started, 1),
        "summary": summarize(samples),
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (``python -m bench.soak``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--bootstrap", default=None, help="an existing cluster (default: local)")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--retention",
        default=None,
        help="joiner --retention (event time, e.g. 1d; default: catalog)",
    )
    parser.add_argument(
        "--journeys-per-day",
        type=float,
        default=JOURNEYS_PER_DAY,
        help="journeys the simulation starts per day of event time: fewer move event time "
        "faster, so journeys close (and are pruned) within minutes of the run",
    )
    args = parser.parse_args(argv)
    started = time.time()
    figures = asyncio.run(
        run_soak(
            args.minutes,
            args.rate,
            args.sample,
            args.bootstrap,
            args.partitions,
            args.seed,
            args.retention,
            args.journeys_per_day,
        )
    )
    figures["machine"] = machine_info(None)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "samples"}, indent=2))
    print(f"figures written to {out}")
    if figures.get("dead_letters"):
        print(
            f"WARNING: the joiner dead-lettered {figures['dead_letters']} records "
            "(see joiner_last_line): the state figures do not cover them"
        )


if __name__ == "__main__":
    main()
