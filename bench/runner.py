"""Run the benchmark sections, write ``<out>/<UTC timestamp>.json`` and render a table.

Sections run one after another (peers of one section back to back), each on fresh topics,
so their figures compare within a run; absolute numbers depend on the host and its load,
which the results record (load average before and after every section).
"""

from __future__ import annotations

import gc
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from bench import consume, costs, latency, publish
from bench.machine import load_average, machine_info
from bench.stats import ratio
from bench.workload import BenchEnv, cleaned_up, make_env, make_payload, security_fields
from broker.errors import CxError
from broker.kafka.jars import KAFKA_VERSION
from consumers.joiner.provenance import SnapshotSigner

__all__ = [
    "SECTIONS",
    "BenchConfig",
    "render_table",
    "run_bench",
    "security_fields",
    "write_results",
]

SECTIONS: Final = ("publish", "join", "latency", "memory", "scale")


@dataclass(frozen=True)
class BenchConfig:
    """What to run and how big."""

    bootstrap: str
    events: int = 100_000
    sections: tuple[str, ...] = SECTIONS
    partitions: int = 6
    latency_rate: float = 1000.0
    latency_seconds: float = 30.0
    latency_warmup: float = 5.0
    journey_steps: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    max_journeys: int = 100_000
    memory_measure_events: int = 10_000
    seed: int = 7
    profile_dir: Path | None = None
    work_dir: Path | None = None
    quick: bool = False
    #: Leave every section's topics on the broker (default: deleted after the section).
    keep_topics: bool = False
    notes: list[str] = field(default_factory=list)
    #: How clients authenticate (``bench.workload.security_fields``); never written out.
    security: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise CxError(f"unknown bench sections: {', '.join(sorted(unknown))}")
        if self.events < 1:
            raise CxError("--events must be at least 1")

    @property
    def steps(self) -> tuple[int, ...]:
        """The journey counts of the memory section that ``max_journeys`` allows."""
        return tuple(n for n in self.journey_steps if n <= self.max_journeys)


async def _publish(config: BenchConfig, make: Callable[[str], Any], logs: Path) -> dict[str, Any]:
    async with cleaned_up(await make("publish")) as env:
        return await _publish_on(env, config, logs)


async def _publish_on(env: BenchEnv, config: BenchConfig, logs: Path) -> dict[str, Any]:
    payload = make_payload(env, config.events, config.seed)
    out: dict[str, Any] = {
        "events": config.events,
        "mean_value_bytes": payload.mean_value_bytes,
        "mean_record_bytes": payload.mean_record_bytes,
        "in_flight_window": publish.IN_FLIGHT,
    }
    out["a_producer_performance"] = publish.run_producer_performance(
        env, payload.topics[0], config.events, payload.mean_value_bytes, logs
    )
    # The payload (raw records, signed records, models: hundreds of thousands of objects) is
    # the harness's, not a peer's: frozen out of the collector's passes for every peer alike.
    # Unfrozen, each peer's gen-2 collections walk all of it, and the figures depend more on
    # when those fall than on the peer (raw aiokafka swung 11k-35k events/s run to run).
    gc.collect()
    gc.freeze()
    try:
        out["b_aiokafka"] = await publish.run_aiokafka(env, payload)
        gc.collect()
        out["c_faststream"] = await publish.run_faststream(env, payload)
        gc.collect()
        profile = config.profile_dir / "publisher.txt" if config.profile_dir else None
        out["d_agency_publisher"] = await publish.run_publisher(env, payload, profile)
        gc.collect()
        # The same, preparing in a worker process (`cxbroker publish --workers 1`): the
        # publisher's work is CPU-bound Python, so a second core is its one big lever.
        out["d_agency_publisher_workers"] = await publish.run_publisher(env, payload, workers=1)
    finally:
        gc.unfreeze()
    out["gc_frozen_payload"] = True
    out["ratio_d_workers_over_b"] = ratio(
        out["d_agency_publisher_workers"]["events_per_s"], out["b_aiokafka"]["events_per_s"]
    )
    out["ratio_d_over_b"] = ratio(
        out["d_agency_publisher"]["events_per_s"], out["b_aiokafka"]["events_per_s"]
    )
    return out


async def _join(config: BenchConfig, make: Callable[[str], Any]) -> dict[str, Any]:
    async with cleaned_up(await make("join")) as env:
        payload = make_payload(env, config.events, config.seed)
        records = [(t, p.record) for t, p in zip(payload.topics, payload.prepared, strict=True)]
        out = await consume.run_join(env, records, config.profile_dir)
        # CPU µs per snapshot of what every snapshot record now carries: CloudEvents
        # headers and the joiner deployment's Ed25519 signature (issue #18).
        changes = costs.snapshot_changes(env.keyring, [p.record for p in payload.prepared])
        signer = env.keyring.deployment_signer("joiner")
        out["snapshot_signing_us"] = costs.snapshot_signing_costs(changes, SnapshotSigner(signer))
    out["events"] = config.events
    return out


async def _latency(config: BenchConfig, make: Callable[[str], Any]) -> dict[str, Any]:
    async with cleaned_up(await make("latency")) as env:
        out = await latency.run_latency(
            env,
            config.latency_rate,
            config.latency_seconds,
            config.seed + 1,
            warmup=config.latency_warmup,
        )
    return out


async def _memory(config: BenchConfig, make: Callable[[str], Any]) -> dict[str, Any]:
    out = await consume.run_memory(
        lambda: make("memory"), config.steps, config.memory_measure_events
    )
    skipped = [n for n in config.journey_steps if n > config.max_journeys]
    out["skipped_steps"] = skipped
    return out


async def _scale(config: BenchConfig, make: Callable[[str], Any]) -> dict[str, Any]:
    def records_for(env: BenchEnv) -> list[Any]:
        payload = make_payload(env, config.events, config.seed + 2)
        return [(t, p.record) for t, p in zip(payload.topics, payload.prepared, strict=True)]

    out = await consume.run_scale(lambda: make("scale"), records_for)
    out["events"] = config.events
    return out


async def run_bench(config: BenchConfig, console: Console | None = None) -> dict[str, Any]:
    """Run the chosen sections; return the results document."""
    console = console or Console(stderr=True)
    work = config.work_dir or Path(tempfile.mkdtemp(prefix="cx-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    keyring_holder: dict[str, Any] = {}

    async def make(name: str) -> BenchEnv:
        env = await make_env(
            config.bootstrap,
            work,
            name,
            config.partitions,
            keyring_holder.get("keyring"),
            security=config.security,
            keep_topics=config.keep_topics,
        )
        keyring_holder.setdefault("keyring", env.keyring)
        return env

    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(KAFKA_VERSION),
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(config).items()
            if k not in ("bootstrap", "work_dir", "notes", "security")
        },
        "sections": {},
    }
    runners: dict[str, Callable[[], Any]] = {
        "publish": lambda: _publish(config, make, work / "logs"),
        "join": lambda: _join(config, make),
        "latency": lambda: _latency(config, make),
        "memory": lambda: _memory(config, make),
        "scale": lambda: _scale(config, make),
    }
    try:
        for name in SECTIONS:
            if name not in config.sections:
                continue
            console.print(f"[bold]bench:[/] {name} …")
            began = time.perf_counter()
            load_before = load_average()
            figures = await runners[name]()
            figures["wall_s"] = round(time.perf_counter() - began, 1)
            figures["load_average_before"] = load_before
            figures["load_average_after"] = load_average()
            results["sections"][name] = figures
    finally:
        if config.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["targets"] = targets(results["sections"])
    return results


def targets(sections: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets next to the measured values (reported, never asserted)."""
    out: dict[str, Any] = {}
    if "publish" in sections:
        out["publish_d_over_b>=0.5"] = sections["publish"]["ratio_d_over_b"]
        out["publish_d_workers_over_b"] = sections["publish"].get("ratio_d_workers_over_b")
    if "join" in sections:
        out["join_b_over_a>=0.4"] = sections["join"]["ratio_b_over_a"]
    if "latency" in sections:
        out["latency_p99_ms<=250"] = sections["latency"]["p99_ms"]
    if "memory" in sections:
        steps = sections["memory"]["steps"]
        if steps:
            largest = steps[max(steps, key=int)]
            out["memory_largest_step"] = int(max(steps, key=int))
            out["memory_peak_rss_mib_at_largest<=400"] = largest["at_size"]["peak_rss_mib"]
            out["memory_throughput_largest_over_smallest>=0.8"] = sections["memory"].get(
                "throughput_largest_over_smallest"
            )
    return out


def write_results(results: dict[str, Any], out_dir: Path) -> Path:
    """Write ``<out_dir>/<UTC timestamp>.json``; returns the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    return path


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_table(results: dict[str, Any]) -> Table:
    """One row per measured peer: events/s, p50/p99 where measured, and notes."""
    table = Table(title=f"cx-broker bench ({results['started_at']})")
    for column in ("section", "peer", "events", "events/s", "p50 ms", "p99 ms", "note"):
        table.add_column(column, justify="right" if column.startswith(("ev", "p")) else "left")
    s = results["sections"]
    if "publish" in s:
        p = s["publish"]
        for key, label in (
            ("a_producer_performance", "(a) Kafka ProducerPerformance"),
            ("b_aiokafka", "(b) raw aiokafka"),
            ("c_faststream", "(c) FastStream"),
            ("d_agency_publisher", "(d) AgencyPublisher"),
            ("d_agency_publisher_workers", "(d) AgencyPublisher + 1 worker process"),
        ):
            f = p.get(key)
            if f is None:  # results written before that peer existed
                continue
            note = ""
            if key == "d_agency_publisher":
                note = f"(d)/(b) = {_fmt(p['ratio_d_over_b'], 3)}"
            elif key == "d_agency_publisher_workers":
                note = f"(d)/(b) = {_fmt(p['ratio_d_workers_over_b'], 3)}"
            table.add_row(
                "publish",
                label,
                _fmt(f["events"]),
                _fmt(f["events_per_s"]),
                _fmt(f["p50_ms"]),
                _fmt(f["p99_ms"]),
                note,
            )
    if "join" in s:
        j = s["join"]
        table.add_row(
            "join",
            "(a) passthrough",
            _fmt(j["passthrough"]["events"]),
            _fmt(j["passthrough"]["events_per_s"]),
            "",
            "",
            "",
        )
        table.add_row(
            "join",
            "(b) joiner",
            _fmt(j["joiner"]["events"]),
            _fmt(j["joiner"]["events_per_s"]),
            "",
            "",
            f"(b)/(a) = {_fmt(j['ratio_b_over_a'], 3)}",
        )
        signing = j.get("snapshot_signing_us", {}).get("snapshot: SnapshotSigner.headers (all)")
        if signing is not None:
            table.add_row(
                "join",
                "snapshot signing (CPU)",
                "",
                "",
                "",
                "",
                f"{_fmt(signing)} µs per snapshot (CloudEvents headers + Ed25519)",
            )
    if "latency" in s:
        lat = s["latency"]
        table.add_row(
            "latency",
            "publish → snapshot",
            _fmt(lat["events"]),
            _fmt(lat["achieved_events_per_s"]),
            _fmt(lat["p50_ms"]),
            _fmt(lat["p99_ms"]),
            f"unmatched {lat['unmatched']}; first {_fmt(lat['warmup']['seconds'])} s "
            f"apart: p99 {_fmt(lat['warmup']['p99_ms'])} ms",
        )
    if "memory" in s:
        for size, step in s["memory"]["steps"].items():
            at = step["at_size"]
            table.add_row(
                "memory",
                f"joiner @ {int(size):,} open",
                _fmt(at["events"]),
                _fmt(at["events_per_s"]),
                "",
                "",
                f"peak RSS {_fmt(at['peak_rss_mib'])} MiB "
                f"(fill {_fmt(step['fill']['peak_rss_mib'])} MiB)",
            )
        if s["memory"].get("skipped_steps"):
            table.add_row(
                "memory",
                "skipped (--max-journeys)",
                "",
                "",
                "",
                "",
                ", ".join(f"{n:,}" for n in s["memory"]["skipped_steps"]),
            )
    if "scale" in s:
        sc = s["scale"]
        for key in ("1_process", "2_process"):
            if key in sc:
                f = sc[key]
                note = f"2/1 = {_fmt(sc['ratio_2_over_1'], 3)}" if key == "2_process" else ""
                table.add_row(
                    "scale",
                    f"joiner x {key[0]}",
                    _fmt(f["events"]),
                    _fmt(f["events_per_s"]),
                    "",
                    "",
                    note,
                )
    machine = results["machine"]
    table.caption = (
        f"{machine['cores']} cores, {_fmt(machine['ram_mib'])} MiB, Python {machine['python']}, "
        f"Kafka {machine['kafka_version']}, load {machine['load_average_start']}"
    )
    return table
