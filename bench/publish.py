"""Section 1, publish: the same records through four producers, back to back.

(a) Kafka's own ``ProducerPerformance`` (the JVM ceiling) at the payload's mean value size;
(b) raw aiokafka sending the pre-signed records (``acks=all``, idempotent, pipelined);
(c) FastStream publishing the decoded contract models;
(d) ``AgencyPublisher`` end to end: de-identify, validate, guard, sign (``EventPreparer``,
per agency and life experience as the simulator publishes) and ``deliver``.

Latency is per record from the moment it is handed to the producer until its
acknowledgement; for (d) from the moment its round (500 records, the publisher's batch) is
handed to the preparer until the round is acknowledged, because the preparer and
``deliver`` take a whole round at once (the next round's preparation overlaps the delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections import deque
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from bench.profiling import profiled
from bench.stats import latency_summary, rate
from bench.workload import BenchEnv, Payload
from broker.errors import CxError
from broker.kafka.jars import ensure_jars, java_executable
from broker.settings import Settings
from contracts.envelope import decode
from producers.parallel import BatchPreparer, Outcome
from producers.pipeline import DeliveryPipeline
from producers.publisher import AgencyPublisher, DeliveryResult, PreparedEvent
from producers.simulator.publish import DEFAULT_BATCH, simulation_preparer

__all__ = [
    "IN_FLIGHT",
    "PerfSummary",
    "parse_perf_summary",
    "run_aiokafka",
    "run_faststream",
    "run_producer_performance",
    "run_publisher",
]

#: Records in flight at once for the pipelined peers (b) and (c).
IN_FLIGHT = 2000
#: Rounds (d) keeps submitted to worker processes (keeps them busy while it delivers).
PREPARE_AHEAD = 2
#: Producer tuning shared by every peer (the publisher's own settings).
LINGER_MS = 5
MAX_BATCH_BYTES = 256 * 1024

PerfSummary = dict[str, float | int | None]

_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mb>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99\.9th"
)


def parse_perf_summary(output: str) -> PerfSummary:
    """Figures of ProducerPerformance's final summary line (the last one in ``output``)."""
    matches = list(_SUMMARY.finditer(output))
    if not matches:
        raise CxError("ProducerPerformance printed no summary line")
    m = matches[-1]
    return {
        "events": int(m["records"]),
        "events_per_s": float(m["rate"]),
        "mb_per_s": float(m["mb"]),
        "p50_ms": float(m["p50"]),
        "p99_ms": float(m["p99"]),
        "max_ms": float(m["max"]),
        "samples": int(m["records"]),
    }


def java_client_security(settings: Settings) -> dict[str, str]:
    """Kafka Java client properties for the settings' security (empty for PLAINTEXT)."""
    protocol = settings.security_protocol.value
    props: dict[str, str] = {}
    if protocol == "PLAINTEXT":
        return props
    props["security.protocol"] = protocol
    if protocol.startswith("SASL"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        props["sasl.mechanism"] = settings.sasl_mechanism
        props["sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{settings.sasl_username}" password="{password}";'
        )
    if protocol.endswith("SSL") and settings.ca_file is not None:
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = str(settings.ca_file)
    return props


def faststream_security(settings: Settings) -> Any:
    """FastStream's security object for the settings (None for PLAINTEXT)."""
    from faststream.security import SASLScram512

    kwargs = settings.kafka_client_kwargs()
    if not settings.security_protocol.value.startswith("SASL"):
        return None
    return SASLScram512(
        username=kwargs["sasl_plain_username"],
        password=kwargs["sasl_plain_password"],
        ssl_context=kwargs.get("ssl_context"),
        use_ssl="ssl_context" in kwargs,
    )


def run_producer_performance(
    env: BenchEnv, topic: str, events: int, record_size: int, log_dir: Path
) -> PerfSummary:
    """Run Kafka's ProducerPerformance (same acks, idempotence, linger and batch size)."""
    jars = ensure_jars(env.settings.cache_dir)
    log_config = Path(str(files("broker.kafka").joinpath("log4j2.properties")))
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        java_executable(),
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={log_config}",
        f"-Dcx.kafka.logdir={log_dir}",
        "-cp",
        f"{jars}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(events),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={env.settings.resolved_bootstrap()}",
        "acks=all",
        "enable.idempotence=true",
        f"linger.ms={LINGER_MS}",
        f"batch.size={MAX_BATCH_BYTES}",
    ]
    security = java_client_security(env.settings)
    if security:
        # Credentials go in a 0600 file, never on a command line other users can read.
        config = log_dir / "producer-security.properties"
        config.touch(mode=0o600)
        config.write_text("".join(f"{k}={v}\n" for k, v in security.items()))
        cmd += ["--producer.config", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise CxError(f"ProducerPerformance failed ({proc.returncode}):\n{tail}")
    return parse_perf_summary(proc.stdout)


async def _windowed(
    count: int, send: Callable[[int], Awaitable[asyncio.Future[Any]]]
) -> dict[str, Any]:
    """Call ``send(i)`` for every record with at most :data:`IN_FLIGHT` unacknowledged;
    per-record latency from the call to the acknowledgement."""
    latencies: list[float] = []
    window: deque[asyncio.Future[Any]] = deque()

    def done(started: float) -> Callable[[asyncio.Future[Any]], None]:
        def record(future: asyncio.Future[Any]) -> None:
            if not future.cancelled() and future.exception() is None:
                latencies.append(time.perf_counter() - started)

        return record

    began = time.perf_counter()
    for index in range(count):
        if len(window) >= IN_FLIGHT:
            await window.popleft()
        started = time.perf_counter()
        future = await send(index)
        future.add_done_callback(done(started))
        window.append(future)
    await asyncio.gather(*window)
    elapsed = time.perf_counter() - began
    if len(latencies) != count:
        raise CxError(f"{count - len(latencies)} of {count} records were not acknowledged")
    return {
        "events": count,
        "seconds": round(elapsed, 3),
        "events_per_s": rate(count, elapsed),
    } | latency_summary(latencies)


async def run_aiokafka(env: BenchEnv, payload: Payload) -> dict[str, Any]:
    """(b) Pre-serialized, pre-signed records through one idempotent aiokafka producer."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        **env.settings.kafka_client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        max_batch_size=MAX_BATCH_BYTES,
    )
    await producer.start()
    try:
        records = [p.record for p in payload.prepared]

        async def send(i: int) -> asyncio.Future[Any]:
            r = records[i]
            future: asyncio.Future[Any] = await producer.send(
                payload.topics[i], r.value, key=r.key, headers=list(r.headers)
            )
            return future

        return await _windowed(len(records), send)
    finally:
        await producer.stop()


async def run_faststream(env: BenchEnv, payload: Payload) -> dict[str, Any]:
    """(c) FastStream's KafkaBroker publishing the contract models (FastStream serializes
    them; the CloudEvents headers and signature are not sent: FastStream has no hook for
    them, so this peer does less work than (d))."""
    from faststream.kafka import KafkaBroker

    events = [
        decode(p.record.key, p.record.value, p.record.headers).event for p in payload.prepared
    ]
    broker = KafkaBroker(
        env.settings.resolved_bootstrap(),
        security=faststream_security(env.settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        max_batch_size=MAX_BATCH_BYTES,
        logger=None,
    )
    await broker.start()
    try:

        async def send(i: int) -> asyncio.Future[Any]:
            event = events[i]
            future: asyncio.Future[Any] = await broker.publish(
                event,
                payload.topics[i],
                key=event.journey_token.encode("ascii"),
                no_confirm=True,
            )
            return future

        return await _windowed(len(events), send)
    finally:
        await broker.stop()


async def run_publisher(
    env: BenchEnv, payload: Payload, profile: Path | None = None, *, workers: int = 0
) -> dict[str, Any]:
    """(d) Raw records → ``EventPreparer`` → ``AgencyPublisher.deliver``, in rounds of the
    publisher's batch, every agency's round delivered concurrently, as the bulk paths
    publish: the next round is prepared (in this process, or in ``workers`` worker
    processes as ``--workers`` does) while the previous round is delivered."""
    agencies = sorted({raw.agency for raw in payload.raws})
    publishers = {
        a: AgencyPublisher(env.settings, a, keyring=env.keyring, spool=False, linger_ms=LINGER_MS)
        for a in agencies
    }
    latencies: list[float] = []
    sent = 0

    def acknowledged(done: tuple[list[float], list[list[DeliveryResult]], float]) -> None:
        nonlocal sent
        starts, results, acked = done
        sent += sum(1 for rs in results for r in rs if r.partition is not None)
        latencies.extend(acked - s for s in starts)

    async def deliver_round(
        starts: list[float], by_agency: dict[str, list[PreparedEvent]]
    ) -> tuple[list[float], list[list[DeliveryResult]], float]:
        results = await asyncio.gather(
            *(publishers[a].deliver(events) for a, events in by_agency.items())
        )
        # Acknowledged now; the pipeline hands the round over once the next one is ready.
        return starts, results, time.perf_counter()

    async def all_rounds(preparer: BatchPreparer) -> float:
        began = time.perf_counter()
        raws = payload.raws
        rounds = [raws[i : i + DEFAULT_BATCH] for i in range(0, len(raws), DEFAULT_BATCH)]
        ahead: deque[tuple[list[float], Awaitable[list[Outcome]]]] = deque()

        def submit(index: int) -> None:
            if index < len(rounds):
                starts = [time.perf_counter()] * len(rounds[index])
                ahead.append((starts, preparer.submit(rounds[index])))

        # Worker processes prepare in the background: keep the next round queued for them.
        # In this process a round is prepared when awaited: submitting it earlier would only
        # start its latency clock early.
        ahead_rounds = PREPARE_AHEAD if workers else 1
        for index in range(ahead_rounds):
            submit(index)
        async with DeliveryPipeline(acknowledged) as pipeline:
            for index, round_raws in enumerate(rounds):
                starts, outcomes = ahead.popleft()
                prepared = await outcomes
                submit(index + ahead_rounds)
                by_agency: dict[str, list[PreparedEvent]] = {}
                for raw, outcome in zip(round_raws, prepared, strict=True):
                    if not isinstance(outcome, PreparedEvent):
                        raise outcome
                    by_agency.setdefault(raw.agency, []).append(outcome)
                await pipeline.submit(deliver_round(starts, by_agency))
        return time.perf_counter() - began

    async with contextlib.AsyncExitStack() as stack:
        preparer = simulation_preparer(env.keyring, workers)
        await stack.enter_async_context(preparer)
        for publisher in publishers.values():
            await stack.enter_async_context(publisher)
        if profile is None:
            elapsed = await all_rounds(preparer)
        else:
            with profiled(profile):
                elapsed = await all_rounds(preparer)
    count = len(payload.raws)
    if sent != count:
        raise CxError(f"the publishers acknowledged {sent} of {count} records")
    return {
        "events": count,
        "seconds": round(elapsed, 3),
        "events_per_s": rate(count, elapsed),
    } | latency_summary(latencies)
