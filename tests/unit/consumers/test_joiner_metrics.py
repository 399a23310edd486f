"""The joiner's metrics follow its counters; readiness says why not (no Kafka)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from broker.settings import Settings
from consumers.joiner.engine import Joiner
from consumers.joiner.metrics import JoinerMetrics
from consumers.joiner.stats import JoinerStats


def batch(topic: str, records: int, seconds: float, **counts: int) -> JoinerStats:
    stats = JoinerStats(
        records=records,
        events=counts.get("events", records),
        snapshots=counts.get("snapshots", 0),
        dead_letters=counts.get("dead_letters", 0),
        transactions=1,
        transaction_seconds=seconds,
        topics=Counter({topic: records}),
    )
    if stats.dead_letters:
        stats.reasons["bad-signature"] = stats.dead_letters
        stats.events -= stats.dead_letters
    return stats


def test_counters_histogram_and_labels_follow_merged_batches(tmp_path: Path) -> None:
    joiner = Joiner(Settings(state_dir=tmp_path))
    joiner.stats.records = 5  # counted before metrics were attached: kept
    joiner.stats.topics["cx.events.ssa"] = 5
    registry = CollectorRegistry()
    JoinerMetrics(joiner, registry)
    assert registry.get_sample_value("cx_joiner_records_total", {"topic": "cx.events.ssa"}) == 5

    joiner.stats.merge(batch("cx.events.ssa", 10, 0.03, snapshots=9))
    joiner.stats.merge(batch("cx.events.irs", 4, 0.2, dead_letters=1))
    value = registry.get_sample_value
    assert value("cx_joiner_records_total", {"topic": "cx.events.ssa"}) == 15
    assert value("cx_joiner_records_total", {"topic": "cx.events.irs"}) == 4
    assert value("cx_joiner_dead_letters_total", {"reason": "bad-signature"}) == 1
    assert value("cx_joiner_snapshots_total") == 9
    assert value("cx_joiner_transactions_total") == 2
    assert value("cx_joiner_transaction_seconds_count") == 2
    assert value("cx_joiner_transaction_seconds_bucket", {"le": "0.05"}) == 1
    assert value("cx_joiner_transaction_seconds_bucket", {"le": "0.25"}) == 2
    assert value("cx_joiner_ready") == 0
    text = generate_latest(registry).decode()
    # Only names, reason codes and topics as label values.
    labels = {
        part.split("=")[0]
        for line in text.splitlines()
        if "{" in line and not line.startswith("#")
        for part in line.split("{", 1)[1].split("}", 1)[0].split(",")
    }
    assert labels <= {"topic", "partition", "reason", "le"}


def test_readiness_names_what_is_missing(tmp_path: Path) -> None:
    joiner = Joiner(Settings(state_dir=tmp_path))
    metrics = JoinerMetrics(joiner, CollectorRegistry())
    assert metrics.ready() == "not connected to Kafka yet"
    joiner._consumer = object()
    assert metrics.ready() == "no partitions assigned yet"
    joiner._ownership.assigned_once = True
    joiner._ownership.pending |= {0, 3}
    assert metrics.ready() == "restoring the state of 2 partition(s)"
    joiner._ownership.pending.clear()
    assert metrics.ready() is None
    joiner.outage.unreachable(0.0)
    assert metrics.ready() == "Kafka unreachable"


def test_stats_file_round_trip_keeps_topics_and_time() -> None:
    stats = batch("cx.events.ssa", 3, 0.5)
    back = JoinerStats.from_json(stats.to_json())
    assert back.topics == Counter({"cx.events.ssa": 3})
    assert back.transaction_seconds == 0.5
    assert JoinerStats.from_json('{"records": 2}').topics == Counter()
