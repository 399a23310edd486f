"""Publisher metrics: counts by agency and outcome, spool depth and age (no Kafka)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry

from contracts.envelope import Record
from producers.metrics import PublisherMetrics
from producers.spool import Spool


def test_counts_and_spool_depth_bytes_and_age(tmp_path: Path) -> None:
    now = [1_000.0]
    spool = Spool(tmp_path / "ssa").open()
    try:
        registry = CollectorRegistry()
        metrics = PublisherMetrics(registry, spools=lambda: {"ssa": spool}, clock=lambda: now[0])
        value = registry.get_sample_value
        assert metrics.ready() == "publishers not started yet"
        assert value("cx_publisher_spool_depth", {"agency": "ssa"}) == 0
        assert value("cx_publisher_spool_age_seconds", {"agency": "ssa"}) == 0

        spool.append([Record(b"k", b"v1", ()), Record(b"k", b"v2", ())])
        assert spool.pending_since is not None
        now[0] = spool.pending_since + 42
        metrics.started, metrics.records = True, 3
        metrics.sent["ssa"], metrics.spooled["ssa"] = 1, 2
        metrics.refused = Counter({"PiiLeak": 1})
        assert metrics.ready() is None
        assert value("cx_publisher_records_total") == 3
        assert value("cx_publisher_events_total", {"agency": "ssa", "outcome": "sent"}) == 1
        assert value("cx_publisher_events_total", {"agency": "ssa", "outcome": "spooled"}) == 2
        assert value("cx_publisher_refused_total", {"reason": "PiiLeak"}) == 1
        assert value("cx_publisher_spool_depth", {"agency": "ssa"}) == 2
        assert value("cx_publisher_spool_bytes", {"agency": "ssa"}) == spool.size > 0
        assert value("cx_publisher_spool_age_seconds", {"agency": "ssa"}) == 42

        end = sum(1 for _ in spool.pending())
        offsets = [offset for offset, _ in spool.pending()]
        spool.commit(offsets[-1], end)
        assert spool.pending_since is None
        assert value("cx_publisher_spool_age_seconds", {"agency": "ssa"}) == 0
    finally:
        spool.close()


def test_a_reopened_spool_with_records_has_an_age(tmp_path: Path) -> None:
    with Spool(tmp_path / "irs") as spool:
        spool.append([Record(b"k", b"v", ())])
    with Spool(tmp_path / "irs") as again:
        assert len(again) == 1 and again.pending_since is not None
