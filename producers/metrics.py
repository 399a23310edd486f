"""Prometheus metrics of a publishing process (``cxbroker publish``, ``cxbroker simulate``).

A collector that reads, at scrape time, the counts the command keeps anyway (sent and
spooled per agency, refusals by error class) and each agency publisher's outage spool
(depth in records and bytes, age). Labels: agency ids of the catalog and error class
names, never a value of a record or a token.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from producers.spool import Spool

__all__ = ["PublisherMetrics"]


class PublisherMetrics(Collector):
    """Registers ``cx_publisher_*`` in ``registry``; the command updates the counters.

    ``records`` counts records read (rows or simulated records); ``sent`` and ``spooled``
    events per agency; ``refused`` records not publishable, by error class; ``spools``
    returns the open spools per agency.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        spools: Callable[[], Mapping[str, Spool | None]] = dict,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = 0
        self.sent: Counter[str] = Counter()
        self.spooled: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.started = False
        self.spools = spools
        self.clock = clock
        registry.register(self)

    def ready(self) -> str | None:
        """None once publishing started."""
        return None if self.started else "publishers not started yet"

    def collect(self) -> Iterator[Metric]:
        """Counts so far and the spools now."""
        yield CounterMetricFamily(
            "cx_publisher_records", "Records read (file rows or simulated).", value=self.records
        )
        events = CounterMetricFamily(
            "cx_publisher_events",
            "Events by agency and outcome: sent (acknowledged by Kafka) or spooled.",
            labels=["agency", "outcome"],
        )
        for outcome, counts in (("sent", self.sent), ("spooled", self.spooled)):
            for agency, count in sorted(counts.items()):
                events.add_metric([agency, outcome], count)
        yield events
        refused = CounterMetricFamily(
            "cx_publisher_refused",
            "Records not published (contract, PII guard, de-identification), by error class.",
            labels=["reason"],
        )
        for reason, count in sorted(self.refused.items()):
            refused.add_metric([reason], count)
        yield refused
        depth = GaugeMetricFamily(
            "cx_publisher_spool_depth", "Events waiting in the outage spool.", labels=["agency"]
        )
        size = GaugeMetricFamily(
            "cx_publisher_spool_bytes", "Bytes of the outage spool's log.", labels=["agency"]
        )
        age = GaugeMetricFamily(
            "cx_publisher_spool_age_seconds",
            "Seconds since the outage spool last went from empty to holding events (0: empty).",
            labels=["agency"],
        )
        now = self.clock()
        for agency, spool in sorted(self.spools().items()):
            if spool is None:
                continue
            depth.add_metric([agency], len(spool))
            size.add_metric([agency], spool.size)
            since = spool.pending_since
            age.add_metric([agency], 0.0 if since is None or not len(spool) else now - since)
        yield from (depth, size, age)
