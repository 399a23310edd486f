"""The insights service's metrics count releases, cells, refusals per life experience."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from consumers.insights.metrics import InsightsMetrics
from consumers.insights.service import CatchUpReport, ReleaseSummary


def test_a_round_counts_releases_cells_refusals_and_readiness() -> None:
    registry = CollectorRegistry()
    metrics = InsightsMetrics(registry)
    assert metrics.ready() == "no catch-up round completed yet"
    report = CatchUpReport("having-a-child", journeys=40, weeks_waiting=2, sent=203)
    report.releases = [
        ReleaseSummary("2026-W02.v1", "2026-W02", 120, 30, True, 0.4),
        ReleaseSummary("2026-W03.v1", "2026-W03", 80, 10, False, 0.2),
        ReleaseSummary("2026-W01.v2", "2026-W01", 99, 9, True, 0.0, resent=True),
    ]
    report.refused = ["budget of 2026-W04 exhausted"]
    metrics.observe([report, CatchUpReport("approaching-retirement", journeys=3)])
    value = registry.get_sample_value
    le = {"life_experience": "having-a-child"}
    assert metrics.ready() is None
    assert value("cx_insights_rounds_total") == 1
    assert value("cx_insights_journeys", le) == 40
    assert value("cx_insights_releases_total", {**le, "final": "true"}) == 1  # resent not again
    assert value("cx_insights_releases_total", {**le, "final": "false"}) == 1
    assert value("cx_insights_cells_total", le) == 200
    assert value("cx_insights_cells_suppressed_total", le) == 40
    assert value("cx_insights_releases_refused_total", le) == 1
    assert value("cx_insights_records_sent_total", le) == 203
    assert value("cx_insights_weeks_waiting", le) == 2
    assert value("cx_insights_audit_seconds_count") == 2
    assert value("cx_insights_journeys", {"life_experience": "approaching-retirement"}) == 3
