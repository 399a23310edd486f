"""The joiner's Prometheus metrics and readiness, read from the joiner itself.

Counters come from the joiner's :class:`~consumers.joiner.stats.JoinerStats` at scrape time
(a custom collector: nothing is counted twice and the joiner's code stays as it is); the
transaction-time histogram is fed by :class:`ObservedStats`, which the joiner's per-batch
``stats.merge`` already calls; consumer lag per partition is read from the consumer before
each scrape (:meth:`JoinerMetrics.refresh`). Labels: topic names, partition numbers and
reason codes only, never a payload value or a token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from consumers.joiner.engine import Joiner
from consumers.joiner.stats import JoinerStats

__all__ = ["TRANSACTION_BUCKETS", "JoinerMetrics", "ObservedStats"]

#: Seconds from a batch's begin_transaction to its commit.
TRANSACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ObservedStats(JoinerStats):
    """Joiner counters that also observe each merged batch's transaction time."""

    histogram: Any = None

    def merge(self, other: JoinerStats) -> None:
        """Add ``other`` (one batch's counters); observe its transaction time."""
        super().merge(other)
        if self.histogram is not None and other.transactions:
            self.histogram.observe(other.transaction_seconds / other.transactions)


class JoinerMetrics(Collector):
    """Registers the joiner's metrics in ``registry`` (see README "Metrics and health")."""

    def __init__(self, joiner: Joiner, registry: CollectorRegistry) -> None:
        self.joiner = joiner
        self.lag: dict[tuple[str, int], int] = {}
        histogram = Histogram(
            "cx_joiner_transaction_seconds",
            "Time from a batch's begin_transaction to its commit (one Kafka transaction).",
            buckets=TRANSACTION_BUCKETS,
            registry=registry,
        )
        stats = ObservedStats()
        stats.merge(joiner.stats)
        stats.histogram = histogram
        joiner.stats = stats
        registry.register(self)

    # The joiner's consumer and ownership are read here, in the joiner's own package and
    # event loop, so the engine needs no hooks for metrics.
    def _consumer(self) -> Any:
        return self.joiner._consumer

    def ready(self) -> str | None:
        """None when ready (partitions assigned, their state restored), else why not."""
        joiner = self.joiner
        if self._consumer() is None:
            return "not connected to Kafka yet"
        if joiner.outage.down:
            return "Kafka unreachable"
        if not joiner.assigned:
            return "no partitions assigned yet"
        pending = len(joiner._ownership.pending)
        if pending:
            return f"restoring the state of {pending} partition(s)"
        return None

    async def refresh(self) -> None:
        """Read the consumer lag of every assigned partition (before a scrape)."""
        consumer = self._consumer()
        lag: dict[tuple[str, int], int] = {}
        if consumer is not None:
            for tp in sorted(consumer.assignment()):
                end = consumer.last_stable_offset(tp)
                if end is None:
                    end = consumer.highwater(tp)
                if end is None:
                    continue
                position = await asyncio.wait_for(consumer.position(tp), 2.0)
                lag[(tp.topic, tp.partition)] = max(0, end - position)
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        """The joiner's counters and gauges now."""
        joiner = self.joiner
        stats = joiner.stats
        records = CounterMetricFamily(
            "cx_joiner_records", "Records consumed, by input topic.", labels=["topic"]
        )
        for topic, count in sorted(stats.topics.items()):
            records.add_metric([topic], count)
        yield records
        yield _counter("cx_joiner_events", "Records folded into journeys.", stats.events)
        yield _counter(
            "cx_joiner_snapshots", "Journey snapshots written to cx.joined.*.", stats.snapshots
        )
        dead = CounterMetricFamily(
            "cx_joiner_dead_letters",
            "Records sent to cx.deadletter, by reason code.",
            labels=["reason"],
        )
        for reason, count in sorted(stats.reasons.items()):
            dead.add_metric([reason], count)
        yield dead
        yield _counter("cx_joiner_duplicates", "Duplicate event ids dropped.", stats.duplicates)
        yield _counter(
            "cx_joiner_late_events", "Events later than the grace behind their journey.", stats.late
        )
        yield _counter(
            "cx_joiner_transactions", "Kafka transactions committed.", stats.transactions
        )
        yield _counter(
            "cx_joiner_restored_records",
            "Changelog records read back to restore partition state.",
            stats.restored_records,
        )
        lag = GaugeMetricFamily(
            "cx_joiner_consumer_lag",
            "Records of an assigned partition not consumed yet (last stable offset - position).",
            labels=["topic", "partition"],
        )
        for (topic, partition), value in sorted(self.lag.items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag
        ownership = joiner._ownership
        owned = len(ownership.parts)
        yield _gauge("cx_joiner_partitions_owned", "Partitions whose state is restored.", owned)
        yield _gauge(
            "cx_joiner_partitions_restoring",
            "Partitions assigned whose state is still being restored.",
            len(ownership.pending),
        )
        yield _gauge(
            "cx_joiner_open_journeys",
            "Journeys not closed yet in the state of the owned partitions.",
            sum(part.store.count_open() for part in ownership.parts.values()),
        )
        yield _gauge(
            "cx_joiner_kafka_reachable",
            "1 while the consumer holds a broker connection.",
            int(not joiner.outage.down),
        )
        yield _gauge("cx_joiner_ready", "1 when /readyz answers 200.", int(self.ready() is None))


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
