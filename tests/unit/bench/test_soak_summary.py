"""The soak's summary: thirds, maxima and the second-half slope per minute."""

from __future__ import annotations

from bench.soak import Sample, summarize


def _samples(rss: list[float]) -> list[Sample]:
    return [
        {"t": 60.0 * i, "joiner_rss_mib": v, "soak_rss_mib": 100.0, "lag": 0}
        for i, v in enumerate(rss)
    ]


def test_a_level_series_after_warm_up_has_no_slope() -> None:
    summary = summarize(_samples([60, 80, 95, 100, 100, 100, 100, 100]))
    rss = summary["joiner_rss_mib"]
    assert rss["second_half_slope_per_min"] == 0.0
    assert rss["max"] == 100
    assert rss["first_third"] == 70.0  # the warm-up shows in the first third only
    assert summary["lag"]["second_half_slope_per_min"] == 0.0


def test_steady_growth_shows_as_a_slope_per_minute() -> None:
    summary = summarize(_samples([60 + 2.5 * i for i in range(10)]))
    assert summary["joiner_rss_mib"]["second_half_slope_per_min"] == 2.5


def test_too_few_samples_give_no_figures() -> None:
    summary = summarize(_samples([60]))
    assert summary["joiner_rss_mib"]["second_half_slope_per_min"] is None
    assert summary["joiner_rss_mib"]["first_third"] is None
