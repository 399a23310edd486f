"""Section 3, latency: publish → ``JourneySnapshot`` visible to a ``read_committed``
subscriber, at a steady rate.

A joiner worker runs on fresh topics; this process publishes simulated records (no
duplicates, no late deliveries, so each folds into one new snapshot) through the agency
publishers at ``rate`` events/s, and a ``read_committed`` consumer on every
``cx.joined.*`` topic notes when each snapshot arrives. An event's latency runs from the
start of its preparation to the first committed snapshot of its journey after it.

The first ``warmup`` seconds run at the same rate but are summarized apart
(``warmup``): they include the joiner's first transactions, cold caches and the
subscriber's first fetches, which a service pays once, not at a steady rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
import time
from collections import defaultdict, deque
from typing import Any

from bench.consume import start_worker
from bench.stats import latency_summary
from bench.workload import BenchEnv, simulated_raws
from contracts.catalog import load_catalog
from producers.publisher import AgencyPublisher, PreparedEvent
from producers.simulator.publish import SimulationPreparer

__all__ = ["run_latency"]

#: Publishing ticks per second (each tick sends what the rate owes so far).
TICKS_PER_S = 50
#: How long to wait for the last snapshots after publishing stopped.
DRAIN_S = 15.0


async def _subscriber(env: BenchEnv, ready: asyncio.Event, seen: Any) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topics = [env.settings.topics.joined(le.id) for le in load_catalog().life_experiences]
    consumer = AIOKafkaConsumer(
        **env.settings.kafka_client_kwargs(),
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        ready.set()
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    seen(record.key, now)
    finally:
        await consumer.stop()


async def run_latency(
    env: BenchEnv, rate: float, seconds: float, seed: int, warmup: float = 5.0
) -> dict[str, Any]:
    """Publish ``rate * (warmup + seconds)`` events at ``rate``/s; p50/p99 publish →
    snapshot visible of the events after the first ``warmup`` seconds (and, apart, of
    those during them)."""
    warm = max(0, int(rate * warmup))
    total = max(1, int(rate * seconds)) + warm
    raws = simulated_raws(total, seed, duplicates=False)
    worker = await start_worker(env, "joiner", f"bench-lat-{secrets.token_hex(3)}", idle=0)
    await worker.wait_assigned()
    # Per journey key: (event number, preparation start) of events not yet seen joined.
    waiting: dict[bytes, deque[tuple[int, float]]] = defaultdict(deque)
    latencies: list[float] = []
    warm_latencies: list[float] = []

    all_seen = asyncio.Event()

    def seen(key: bytes, now: float) -> None:
        pending = waiting.get(key)
        while pending:
            number, started = pending.popleft()
            (warm_latencies if number < warm else latencies).append(now - started)
        if len(latencies) + len(warm_latencies) >= total:
            all_seen.set()

    ready = asyncio.Event()
    subscriber = asyncio.create_task(_subscriber(env, ready, seen))
    await ready.wait()
    preparer = SimulationPreparer(env.keyring)
    agencies = sorted({raw.agency for raw in raws})
    publishers = {
        a: AgencyPublisher(env.settings, a, keyring=env.keyring, spool=False) for a in agencies
    }
    behind = 0.0
    try:
        for publisher in publishers.values():
            await publisher.__aenter__()
        # The raws and the preparer's caches are long-lived: frozen out of the garbage
        # collector, so its full passes in this (measuring) process do not add to latency.
        gc.collect()
        gc.freeze()
        began = time.perf_counter()
        sent = 0
        while sent < total:
            owed = min(total, int((time.perf_counter() - began) * rate) + 1) - sent
            by_agency: dict[str, list[PreparedEvent]] = {}
            for number, raw in enumerate(raws[sent : sent + owed], start=sent):
                started = time.perf_counter()
                prepared = preparer.prepare(raw)
                waiting[prepared.record.key].append((number, started))
                by_agency.setdefault(raw.agency, []).append(prepared)
            await asyncio.gather(*(publishers[a].deliver(e) for a, e in by_agency.items()))
            sent += owed
            next_at = began + sent / rate
            pause = next_at - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(max(pause, 1 / TICKS_PER_S))
            else:
                behind = max(behind, -pause)
        published_s = time.perf_counter() - began
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_seen.wait(), DRAIN_S)
    finally:
        gc.unfreeze()  # later sections of this process may collect them again
        for publisher in publishers.values():
            await publisher.__aexit__(None, None, None)
        subscriber.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await subscriber
        worker.terminate()
    await worker.finish(limit=60)
    return (
        {
            "target_events_per_s": rate,
            "achieved_events_per_s": round(total / published_s, 1),
            "events": total - warm,
            "max_behind_schedule_ms": round(behind * 1000, 1),
            "unmatched": total - warm - len(latencies),
        }
        | latency_summary(latencies)
        | {
            "warmup": {
                "seconds": warmup,
                "events": warm,
                "unmatched": warm - len(warm_latencies),
            }
            | latency_summary(warm_latencies)
        }
    )
