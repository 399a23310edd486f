"""The soak's summary (thirds, maxima, the second-half slope per minute) and state figures."""

from __future__ import annotations

from pathlib import Path

from bench.soak import Sample, state_figures, summarize
from consumers.state import SqliteStore


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


def test_state_figures_count_the_stores_rows_and_the_state_dirs_bytes(tmp_path: Path) -> None:
    state = tmp_path / "joiner"
    assert state_figures(state) == (0, 0)
    stores = [SqliteStore(state / "group" / "0", p) for p in (0, 1)]
    for n, store in enumerate(stores):
        store.begin()
        for i in range(n + 2):
            store.put(f"le|{i}", b"{}")
        store.commit()
    rows, size = state_figures(state)
    for store in stores:
        store.close()
    assert rows == 5
    assert size > 0


def test_the_summary_covers_state_rows_and_bytes() -> None:
    samples: list[Sample] = [
        {"t": 60.0 * i, "state_rows": 100 + 10 * i, "state_mib": 1.0} for i in range(6)
    ]
    summary = summarize(samples)
    assert summary["state_rows"]["second_half_slope_per_min"] == 10.0
    assert summary["state_mib"]["second_half_slope_per_min"] == 0.0
