"""``cxbroker bench --quick`` with tiny counts: every section completes and the results file
is valid JSON with every section's figures. Speed is never checked here."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.workload import delete_prefixed_topics, make_env, security_fields
from broker.admin import admin_client
from cxbroker.cli import main
from tests.support.kafka import KafkaEndpoint
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka

SECTIONS = ("publish", "join", "latency", "memory", "scale")


async def _bench_topics(kafka: KafkaEndpoint, prefix: str = "bench.") -> set[str]:
    async with admin_client(kafka.settings()) as admin:
        return {t for t in await admin.list_topics() if t.startswith(prefix)}


def test_quick_bench_runs_every_section_and_writes_json(
    kafka: KafkaEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = asyncio.run(_bench_topics(kafka))
    monkeypatch.setenv("CX_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("CX_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "results"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "--quick",
            "--events",
            "120",
            "--latency-rate",
            "100",
            "--latency-seconds",
            "1",
            "--max-journeys",
            "60",
            "--partitions",
            "2",
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (path,) = out.glob("*.json")
    doc = json.loads(path.read_text())

    assert set(doc["sections"]) == set(SECTIONS)
    assert doc["machine"]["cores"] >= 1
    assert len(doc["machine"]["load_average_start"]) == 3
    publish = doc["sections"]["publish"]
    peers = ("a_producer_performance", "b_aiokafka", "c_faststream", "d_agency_publisher")
    for peer in (*peers, "d_agency_publisher_workers"):
        assert publish[peer]["events"] == 120, peer
        assert publish[peer]["events_per_s"] > 0, peer
        assert publish[peer]["p99_ms"] >= publish[peer]["p50_ms"] >= 0, peer
    assert publish["ratio_d_over_b"] > 0
    assert publish["ratio_d_workers_over_b"] > 0
    join = doc["sections"]["join"]
    assert join["passthrough"]["events"] == join["joiner"]["events"] == 120
    assert join["ratio_b_over_a"] > 0
    signing = join["snapshot_signing_us"]  # CPU µs per snapshot of its provenance
    assert signing["snapshot: SnapshotSigner.headers (all)"] > 0
    assert signing["snapshot:   primitive: Ed25519 sign"] > 0
    latency = doc["sections"]["latency"]
    assert latency["events"] == 100
    assert latency["samples"] + latency["unmatched"] == 100
    assert latency["samples"] > 0
    warmup = latency["warmup"]  # the --quick warm-up: 1 s at 100/s, summarized apart
    assert warmup["events"] == 100
    assert warmup["samples"] + warmup["unmatched"] == 100
    memory = doc["sections"]["memory"]
    assert set(memory["steps"]) == {"20", "60"}
    for size, step in memory["steps"].items():
        assert step["fill"]["events"] == int(size)
        assert step["at_size"]["journeys_held"] == int(size)
        assert step["at_size"]["peak_rss_mib"] > 0
    scale = doc["sections"]["scale"]
    assert scale["1_process"]["events"] == scale["2_process"]["events"] == 120
    assert len(scale["2_process"]["per_process_events"]) == 2
    assert "(d)/(b)" in result.output

    # Every section deleted the topics it made: none is left (deletions reach the
    # metadata a client reads a moment later).
    async def only_earlier_ones() -> bool:
        return await _bench_topics(kafka) <= before

    asyncio.run(eventually(only_earlier_ones, "the bench's topics deleted", 30))


async def test_cleanup_deletes_the_deployment_topics_unless_kept(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    security = security_fields(kafka.settings())
    kept = await make_env(
        kafka.bootstrap_servers, tmp_path, "kept", 1, security=security, keep_topics=True
    )
    gone = await make_env(
        kafka.bootstrap_servers, tmp_path, "gone", 1, keyring=kept.keyring, security=security
    )
    try:
        made = {
            env.name: await _bench_topics(kafka, env.settings.topic_prefix) for env in (kept, gone)
        }
        assert all(made.values()), made
        for env in (kept, gone):
            env.settings.state_dir.mkdir(parents=True, exist_ok=True)
            (env.settings.state_dir / "joiner.sqlite").write_bytes(b"state")

        await kept.cleanup()
        await gone.cleanup()

        async def gone_deleted() -> bool:
            return not await _bench_topics(kafka, gone.settings.topic_prefix)

        await eventually(gone_deleted, "the cleaned-up deployment's topics deleted", 30)
        assert await _bench_topics(kafka, kept.settings.topic_prefix) == made[kept.name]
        assert not kept.settings.state_dir.exists()
        assert not gone.settings.state_dir.exists()
    finally:
        await delete_prefixed_topics(kept.settings)
        await delete_prefixed_topics(gone.settings)
