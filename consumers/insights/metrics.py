"""The insights service's Prometheus metrics: what each round read, released and refused.

Labels are life experience ids of the catalog only: never a cell value, a count of a
cell or a token. A release is published only when its disclosure audit passed, so the
release counters are the audit's passes; refusals (a DP budget that would be exceeded)
are counted apart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from consumers.insights.service import CatchUpReport

__all__ = ["InsightsMetrics"]

_LE = ["life_experience"]


class InsightsMetrics:
    """Counters and gauges of ``cxbroker insights --serve`` in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.completed = 0
        self.rounds = Counter("cx_insights_rounds", "Catch-up rounds completed.", registry=registry)
        self.journeys = Gauge(
            "cx_insights_journeys",
            "Joined journeys read in the last round (records in).",
            _LE,
            registry=registry,
        )
        self.invalid = Counter(
            "cx_insights_invalid_records",
            "Joined records that were not valid snapshots (skipped).",
            _LE,
            registry=registry,
        )
        self.releases = Counter(
            "cx_insights_releases",
            "Releases published after passing the disclosure audit (final: no journey "
            "of the week still active).",
            [*_LE, "final"],
            registry=registry,
        )
        self.refused = Counter(
            "cx_insights_releases_refused",
            "Releases not published: the week's privacy budget would be exceeded.",
            _LE,
            registry=registry,
        )
        self.cells = Counter(
            "cx_insights_cells", "Cells in published releases.", _LE, registry=registry
        )
        self.suppressed = Counter(
            "cx_insights_cells_suppressed",
            "Suppressed cells in published releases (small or complementary).",
            _LE,
            registry=registry,
        )
        self.sent = Counter(
            "cx_insights_records_sent",
            "Records sent to cx.insights.* (cells and manifests; records out).",
            _LE,
            registry=registry,
        )
        self.tombstones = Counter(
            "cx_insights_tombstones",
            "Tombstones sent for cells no current release holds.",
            _LE,
            registry=registry,
        )
        self.waiting = Gauge(
            "cx_insights_weeks_waiting",
            "Weeks not closed (plus grace) yet, so not released.",
            _LE,
            registry=registry,
        )
        self.audit = Histogram(
            "cx_insights_audit_seconds",
            "Time to draft, complement and audit one release.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=registry,
        )
        self.last_round = Gauge(
            "cx_insights_last_round_timestamp_seconds",
            "Unix time the last round completed.",
            registry=registry,
        )

    def observe(self, reports: Sequence[CatchUpReport]) -> None:
        """Count one completed round."""
        for report in reports:
            le = report.life_experience
            self.journeys.labels(le).set(report.journeys)
            self.invalid.labels(le).inc(report.invalid_records)
            self.waiting.labels(le).set(report.weeks_waiting)
            self.refused.labels(le).inc(len(report.refused))
            self.sent.labels(le).inc(report.sent)
            self.tombstones.labels(le).inc(report.tombstones)
            for release in report.releases:
                if release.resent:
                    continue
                self.releases.labels(le, str(release.final).lower()).inc()
                self.cells.labels(le).inc(release.cells)
                self.suppressed.labels(le).inc(release.suppressed)
                self.audit.observe(release.audit_seconds)
        self.rounds.inc()
        self.completed += 1
        self.last_round.set(time.time())

    def ready(self) -> str | None:
        """None once a round completed, else why not."""
        return None if self.completed else "no catch-up round completed yet"
