"""Sections 2, 4 and 5: the joiner against a raw passthrough, memory growth, and scale.

Consumers run as worker processes (:mod:`bench.worker`), so their RSS is their own and
two of them can share a group. A worker's rate leaves out its first committed batch
(group join and start-up): ``(records - first batch) / (last commit - first commit)``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.stats import rate, ratio
from bench.workload import BenchEnv, cleaned_up, open_journey_records
from broker.errors import CxError
from contracts.catalog import load_catalog
from contracts.envelope import Record

__all__ = [
    "Worker",
    "combined_rate",
    "produce",
    "run_join",
    "run_memory",
    "run_scale",
    "start_worker",
]

#: The repository root (the worker runs as ``python -m bench.worker`` from there).
ROOT = Path(__file__).resolve().parent.parent
#: Seconds without records after which a worker stops.
IDLE_S = 3.0


class Worker:
    """One running worker process and the JSON lines it printed."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.assigned = asyncio.Event()
        self.result: dict[str, Any] | None = None
        self.records = 0
        self._progress = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            await self._read_lines()
        finally:
            self._progress.set()  # wake waiters when the worker exits

    async def _read_lines(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("event") == "assigned":
                self.assigned.set()
            elif message.get("event") == "progress":
                self.records = int(message["records"])
                self._progress.set()
            elif message.get("event") == "done":
                self.result = message

    async def wait_assigned(self, limit: float = 120) -> None:
        """Return once the worker owns partitions (fails if it exits first)."""
        waiter = asyncio.create_task(self.assigned.wait())
        ended = asyncio.create_task(self.proc.wait())
        done, _ = await asyncio.wait({waiter, ended}, timeout=limit, return_when="FIRST_COMPLETED")
        waiter.cancel()
        ended.cancel()
        if waiter not in done:
            await self.finish(limit=10)
            raise CxError(f"worker {self.name} was not assigned partitions")

    async def wait_records(self, count: int, limit: float) -> bool:
        """Wait until the worker committed ``count`` records (False: it exited or timed out)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while self.records < count:
            if self.proc.returncode is not None or self._reader.done():
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return self.records >= count
        return True

    def terminate(self) -> None:
        """Ask the worker to stop after its batch in flight (SIGTERM)."""
        if self.proc.returncode is None:
            self.proc.terminate()

    async def finish(self, limit: float = 3600) -> dict[str, Any]:
        """Wait for the worker to exit and return its final report."""
        try:
            await asyncio.wait_for(self.proc.wait(), limit)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        await self._reader
        assert self.proc.stderr is not None
        errors = (await self.proc.stderr.read()).decode(errors="replace")
        if self.proc.returncode != 0 or self.result is None:
            tail = "\n".join(errors.strip().splitlines()[-8:])
            raise CxError(f"worker {self.name} failed ({self.proc.returncode}):\n{tail}")
        return self.result


async def start_worker(
    env: BenchEnv,
    mode: str,
    group: str,
    *,
    instance: str = "0",
    idle: float = IDLE_S,
    out_topic: str = "",
    profile: Path | None = None,
) -> Worker:
    """Start ``python -m bench.worker`` against ``env``."""
    args = [sys.executable, "-m", "bench.worker", mode, "--group", group]
    args += ["--instance", instance, "--idle", str(idle)]
    if out_topic:
        args += ["--out-topic", out_topic]
    if profile is not None:
        args += ["--profile", str(profile)]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    child_env.update(env.worker_env())
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=child_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Worker(proc, f"{mode}/{group}/{instance}")


def combined_rate(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Rate of one or more workers over the same records.

    ``events_per_s``: all records over the span from the earliest assignment to the latest
    commit (includes fetching the first batch, not process start or group join);
    ``steady_events_per_s``: records after each worker's first batch, from the earliest
    first commit (None when everything came in one batch).
    """
    records = sum(int(r["records"]) for r in reports)
    active = [r for r in reports if r.get("first_at") is not None]
    out: dict[str, Any] = {"events": records, "seconds": None, "events_per_s": None}
    out["steady_events_per_s"] = None
    if not active:
        return out
    last = max(float(r["last_at"]) for r in active)
    starts = [float(r["assigned_at"] or r["first_at"]) for r in active]
    span = last - min(starts)
    out["seconds"] = round(span, 3)
    out["events_per_s"] = rate(records, span)
    counted = sum(int(r["records"]) - int(r["first_records"]) for r in active)
    if counted:
        out["steady_events_per_s"] = rate(counted, last - min(float(r["first_at"]) for r in active))
    return out


async def produce(env: BenchEnv, records: Iterable[tuple[str, Record]]) -> int:
    """Send signed records with one idempotent producer; returns how many were acknowledged."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        **env.settings.kafka_client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    count = 0
    try:
        window: list[asyncio.Future[Any]] = []
        for topic, record in records:
            window.append(
                await producer.send(
                    topic, record.value, key=record.key, headers=list(record.headers)
                )
            )
            if len(window) >= 5000:
                await asyncio.gather(*window)
                count += len(window)
                window.clear()
        await asyncio.gather(*window)
        count += len(window)
    finally:
        await producer.stop()
    return count


async def _until(workers: Sequence[Worker], count: int, limit: float) -> list[dict[str, Any]]:
    """Wait until the workers together committed ``count`` records, stop them, and return
    their reports (raises when they did not get there within ``limit`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while sum(w.records for w in workers) < count and loop.time() < deadline:
        if any(w.proc.returncode is not None for w in workers):
            break
        waits = [asyncio.create_task(w.wait_records(w.records + 1, 1.0)) for w in workers]
        await asyncio.wait(waits, return_when="FIRST_COMPLETED")
        for task in waits:
            task.cancel()
    reached = sum(w.records for w in workers)
    for worker in workers:
        worker.terminate()
    reports = [await w.finish(limit=60) for w in workers]
    done = sum(int(r["records"]) for r in reports)
    if done < count:
        raise CxError(f"workers committed {done} of {count} records (saw {reached})")
    return reports


def _group(name: str) -> str:
    return f"bench-{name}-{secrets.token_hex(3)}"


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    out = combined_rate([report])
    out["rss_mib"] = round(report["rss_kib"] / 1024, 1) if report.get("rss_kib") else None
    out["peak_rss_mib"] = round(report["hwm_kib"] / 1024, 1) if report.get("hwm_kib") else None
    if report.get("journeys") is not None:
        out["journeys_held"] = report["journeys"]
    return out


async def run_join(
    env: BenchEnv,
    records: Sequence[tuple[str, Record]],
    profile_dir: Path | None,
    limit: float = 3600,
) -> dict[str, Any]:
    """(a) passthrough and (b) joiner over the same pre-produced signed records."""
    await produce(env, records)
    # A co-partitioned topic of the deployment that no bench step reads (the joiner restores
    # its state from the changelog, so the passthrough's copies must never land there).
    passthrough_out = env.settings.topics.protected(load_catalog().life_experiences[0].id)
    count = len(records)
    worker = await start_worker(
        env, "passthrough", _group("pass"), idle=0, out_topic=passthrough_out
    )
    (report,) = await _until([worker], count, limit)
    a = _summary(report)
    profile = profile_dir / "joiner.txt" if profile_dir is not None else None
    worker = await start_worker(env, "joiner", _group("join"), idle=0, profile=profile)
    (report,) = await _until([worker], count, limit)
    b = _summary(report)
    for name, figures in (("passthrough", a), ("joiner", b)):
        if figures["events"] != len(records):
            raise CxError(f"{name} consumed {figures['events']} of {len(records)} records")
    return {
        "passthrough": a,
        "joiner": b,
        "ratio_b_over_a": ratio(b["events_per_s"], a["events_per_s"]),
    }


async def run_memory(
    bench_env: Any, steps: Sequence[int], measure_events: int, limit: float = 7200
) -> dict[str, Any]:
    """Per step N: open N journeys (one event each) through a joiner, then time a second
    joiner process (same state) on ``measure_events`` further events to existing journeys.

    ``bench_env`` is an async factory ``() -> BenchEnv`` so every step starts from empty
    topics and state.
    """
    out: dict[str, Any] = {"measure_events": measure_events, "steps": {}}
    for journeys in steps:
        async with cleaned_up(await bench_env()) as env:
            group = _group("mem")
            began = time.perf_counter()
            await produce(env, open_journey_records(env, journeys, seed=journeys))
            produced_s = time.perf_counter() - began
            fill_worker = await start_worker(env, "joiner", group, idle=0)
            (fill,) = await _until([fill_worker], journeys, limit)
            more = min(measure_events, journeys)
            await produce(env, open_journey_records(env, more, seed=journeys, offset=1))
            measure_worker = await start_worker(env, "joiner", group, idle=0)
            (measured,) = await _until([measure_worker], more, limit)
            out["steps"][str(journeys)] = {
                "open_journeys": journeys,
                "fill": _summary(fill),
                "at_size": _summary(measured),
                "prepare_and_produce_s": round(produced_s, 1),
            }
    sizes = [str(n) for n in steps]
    if len(sizes) >= 2:
        first = out["steps"][sizes[0]]["at_size"]["events_per_s"]
        last = out["steps"][sizes[-1]]["at_size"]["events_per_s"]
        out["throughput_largest_over_smallest"] = ratio(last, first)
    return out


async def _scale_round(
    env: BenchEnv, records: Sequence[tuple[str, Record]], processes: int, limit: float = 3600
) -> dict[str, Any]:
    group = _group(f"scale{processes}")
    workers = []
    for instance in range(processes):
        worker = await start_worker(env, "joiner", group, instance=str(instance), idle=0)
        await worker.wait_assigned()
        workers.append(worker)
    # Let the last join's rebalance settle on every member before records arrive.
    await asyncio.sleep(2.0)
    produce_start = time.time()
    await produce(env, records)
    reports = await _until(workers, len(records), limit)
    figures = combined_rate(reports)
    # The workers were idle until the records arrived: time from the first send instead.
    last = max((float(r["last_at"]) for r in reports if r.get("last_at")), default=None)
    if last is not None:
        figures["seconds"] = round(last - produce_start, 3)
        figures["events_per_s"] = rate(figures["events"], last - produce_start)
    figures["per_process_events"] = [int(r["records"]) for r in reports]
    return figures


async def run_scale(make: Any, records_for: Any, counts: Sequence[int] = (1, 2)) -> dict[str, Any]:
    """Joiner throughput with 1 and 2 processes in one group, each on fresh topics; the
    workers are started and assigned first, then the records are produced, and the rate
    runs from the first send to the last commit (so it is capped by the producer's rate,
    which the publish section shows is several times the joiner's)."""
    out: dict[str, Any] = {}
    for processes in counts:
        async with cleaned_up(await make()) as env:
            out[f"{processes}_process"] = await _scale_round(env, records_for(env), processes)
    one = out.get("1_process", {}).get("events_per_s")
    two = out.get("2_process", {}).get("events_per_s")
    out["ratio_2_over_1"] = ratio(two, one)
    return out
