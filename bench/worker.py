"""A benchmark worker process: the joiner, or a raw consume → transactional produce
passthrough, run until idle, reporting progress as JSON lines on stdout.

``python -m bench.worker joiner|passthrough --group G --instance I --idle S [--profile F]``
with ``CX_*`` variables naming the deployment (``--idle 0``: run until SIGTERM).
Lines written: ``{"event": "assigned"}`` once
partitions are assigned, ``{"event": "progress", "records": n}`` as records are committed
(at most every 100 ms), then one ``{"event": "done", ...}`` with the record count, the wall
times of the first and last committed batch, the records of the first batch (excluded from
rates: it includes start-up) and the process's RSS. A separate process measures only the
consumer (the benchmark's own memory and CPU stay out), and two of them make the scale run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from bench.machine import rss_kib
from bench.profiling import profiled
from broker.settings import Settings
from consumers import Joiner
from contracts.catalog import load_catalog

__all__ = ["Progress", "main", "run_joiner", "run_passthrough"]

# How often the progress monitor samples the counters (cheap: two attribute reads).
_SAMPLE_S = 0.01
# How often (at most) a changed record count is reported to the parent.
_REPORT_S = 0.1
_POLL_MS = 250
# Same batching as the joiner: up to max_batch records, 50 ms linger for fetched ones.
_LINGER_MS = 50


@dataclass
class Progress:
    """Counters a run reports (wall-clock times, so runs in two processes combine)."""

    records: int = 0
    assigned_at: float | None = None
    first_at: float | None = None
    first_records: int = 0
    last_at: float | None = None
    journeys: int | None = None
    rss_kib: int | None = None
    hwm_kib: int | None = None

    def observe(self, records: int) -> None:
        """Note the committed record count at this moment."""
        if records == self.records:
            return
        now = time.time()
        if self.first_at is None:
            self.first_at, self.first_records = now, records
        self.records, self.last_at = records, now


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def _monitor(count: Callable[[], int], assigned: Callable[[], bool], out: Progress) -> None:
    announced = False
    reported, reported_at = 0, 0.0
    while True:
        out.observe(count())
        if out.records != reported and time.monotonic() - reported_at >= _REPORT_S:
            reported, reported_at = out.records, time.monotonic()
            _emit("progress", records=reported)
        if not announced and assigned():
            out.assigned_at = time.time()
            _emit("assigned")
            announced = True
        await asyncio.sleep(_SAMPLE_S)


async def run_joiner(
    settings: Settings, group: str, instance: str, idle: float, max_batch: int
) -> Progress:
    """Run the joiner until idle; return its progress and RSS."""

    progress = Progress()
    joiner = Joiner(
        settings,
        group=group,
        instance=instance,
        until_idle=idle if idle > 0 else None,
        max_batch=max_batch,
        status_interval=3600,
    )
    async with joiner:
        # SIGTERM ends the run after the batch in flight (the latency section stops it so).
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, joiner.stop_soon)
        monitor = asyncio.create_task(
            _monitor(lambda: joiner.stats.records, lambda: joiner.assigned, progress)
        )
        try:
            await joiner.run()
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        progress.observe(joiner.stats.records)
        progress.journeys = joiner.journeys()
    memory = rss_kib()
    progress.rss_kib, progress.hwm_kib = memory["rss_kib"], memory["hwm_kib"]
    return progress


async def _fetch(consumer: Any, max_batch: int) -> dict[Any, list[Any]]:
    batch: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=_POLL_MS, max_records=max_batch)
    count = sum(len(r) for r in batch.values())
    if not count:
        return batch
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _LINGER_MS / 1000
    while count < max_batch and (left := deadline - loop.time()) > 0:
        more = await consumer.getmany(timeout_ms=int(left * 1000), max_records=max_batch - count)
        added = sum(len(r) for r in more.values())
        if not added:
            break
        for tp, records in more.items():
            batch.setdefault(tp, []).extend(records)
        count += added
    return batch


async def run_passthrough(
    settings: Settings, group: str, instance: str, idle: float, max_batch: int, out_topic: str
) -> Progress:
    """Consume the agency topics (read_committed) and copy every record to ``out_topic``
    in one transaction per batch with the consumed offsets: the joiner's Kafka work
    without verification, decoding, folding or state."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor

    topics = sorted(settings.topics.agency(a.id) for a in load_catalog().agencies)
    kwargs = settings.kafka_client_kwargs()
    producer = AIOKafkaProducer(
        transactional_id=f"{group}.{instance}",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        **kwargs,
    )
    consumer = AIOKafkaConsumer(
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),
        **kwargs,
    )
    progress = Progress()
    records = 0
    await producer.start()
    await consumer.start()
    try:
        consumer.subscribe(topics)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        last_activity: float | None = None
        monitor = asyncio.create_task(
            _monitor(lambda: records, lambda: bool(consumer.assignment()), progress)
        )
        try:
            while not stopping.is_set():
                batch = await _fetch(consumer, max_batch)
                items = [(tp, rs) for tp, rs in batch.items() if rs]
                if not items:
                    if consumer.assignment() and last_activity is None:
                        last_activity = loop.time()
                    idle_for = loop.time() - (last_activity or loop.time())
                    if idle > 0 and last_activity is not None and idle_for >= idle:
                        break
                    continue
                await producer.begin_transaction()
                futures = []
                offsets = {}
                for tp, rs in items:
                    for record in rs:
                        futures.append(
                            await producer.send(
                                out_topic,
                                record.value,
                                key=record.key,
                                partition=tp.partition,
                                headers=list(record.headers or ()),
                            )
                        )
                    offsets[tp] = rs[-1].offset + 1
                await producer.send_offsets_to_transaction(offsets, group)
                await asyncio.gather(*futures)
                await producer.commit_transaction()
                records += sum(len(rs) for _, rs in items)
                last_activity = loop.time()
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        progress.observe(records)
    finally:
        await consumer.stop()
        await producer.stop()
    memory = rss_kib()
    progress.rss_kib, progress.hwm_kib = memory["rss_kib"], memory["hwm_kib"]
    return progress


@click.command()
@click.argument("mode", type=click.Choice(["joiner", "passthrough"]))
@click.option("--group", required=True)
@click.option("--instance", default="0")
@click.option("--idle", type=float, default=3.0)
@click.option("--max-batch", type=int, default=1000)
@click.option("--out-topic", default="")
@click.option("--profile", type=click.Path(path_type=Path), default=None)
def main(
    mode: str,
    group: str,
    instance: str,
    idle: float,
    max_batch: int,
    out_topic: str,
    profile: Path | None,
) -> None:
    """Run one worker and print its progress as JSON lines."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # aiokafka warns about retried sends and rebalances, which are part of what is measured.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    settings = Settings()
    if mode == "joiner":
        job = run_joiner(settings, group, instance, idle, max_batch)
    else:
        job = run_passthrough(settings, group, instance, idle, max_batch, out_topic)
    if profile is None:
        progress = asyncio.run(job)
    else:
        with profiled(profile):
            progress = asyncio.run(job)
    _emit("done", **asdict(progress))


if __name__ == "__main__":
    main()
