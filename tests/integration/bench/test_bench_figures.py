"""The benchmark's pure helpers: ProducerPerformance parsing, percentiles, worker rates."""

from __future__ import annotations

import pytest

from bench.consume import combined_rate
from bench.publish import parse_perf_summary
from bench.stats import latency_summary, percentile, ratio
from broker.errors import CxError

PERF_OUTPUT = """\
49906 records sent, 9981.2 records/sec (4.87 MB/sec), 1480.4 ms avg latency, 2115.0 ms max latency.
100000 records sent, 11494.252874 records/sec (5.61 MB/sec), 1375.60 ms avg latency, \
2215.00 ms max latency, 1391 ms 50th, 2046 ms 95th, 2169 ms 99th, 2203 ms 99.9th.
"""


def test_perf_summary_is_read_from_the_final_line() -> None:
    figures = parse_perf_summary(PERF_OUTPUT)
    assert figures["events"] == 100000
    assert figures["events_per_s"] == pytest.approx(11494.252874)
    assert (figures["p50_ms"], figures["p99_ms"], figures["max_ms"]) == (1391, 2169, 2215)


def test_perf_output_without_summary_is_an_error() -> None:
    with pytest.raises(CxError, match="no summary"):
        parse_perf_summary("49906 records sent, 9981.2 records/sec (4.87 MB/sec)\n")


def test_percentiles_use_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) is None
    summary = latency_summary([0.001, 0.002, 0.250])
    assert summary == {"p50_ms": 2.0, "p99_ms": 250.0, "max_ms": 250.0, "samples": 3}


def test_ratio_is_none_without_a_denominator() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, None) is None
    assert ratio(None, 2.0) is None


def test_rates_combine_two_workers_over_the_shared_span() -> None:
    reports = [
        {"records": 600, "assigned_at": 10.0, "first_at": 10.5, "first_records": 100,
         "last_at": 12.0},
        {"records": 400, "assigned_at": 10.2, "first_at": 11.0, "first_records": 100,
         "last_at": 12.5},
    ]  # fmt: skip
    figures = combined_rate(reports)
    assert figures["events"] == 1000
    assert figures["seconds"] == 2.5
    assert figures["events_per_s"] == 400.0
    assert figures["steady_events_per_s"] == 400.0  # 800 records over 2.0 s


def test_a_worker_that_saw_nothing_has_no_rate() -> None:
    figures = combined_rate([{"records": 0, "first_at": None}])
    assert figures["events_per_s"] is None
