"""The disclosure-risk report counts exactly what a brute-force pass over the journeys does."""

from __future__ import annotations

import random
from collections.abc import Hashable

from consumers.privacy.risk import (
    SIZE_BANDS,
    TimePrecision,
    assess,
    fine_quasi_identifiers,
)
from tests.support.snapshots import random_journeys


def _brute_force_size(rows: list[dict[str, Hashable]], i: int, fields: list[str]) -> int:
    return sum(1 for other in rows if all(other[f] == rows[i][f] for f in fields))


def test_figures_match_a_brute_force_count() -> None:
    rng = random.Random(5)
    rows: list[dict[str, Hashable]] = [
        {"a": rng.randrange(4), "b": rng.randrange(3), "c": rng.randrange(30)} for _ in range(400)
    ]
    report = assess(rows, k=11)
    fields = ["a", "b", "c"]
    sizes = [_brute_force_size(rows, i, fields) for i in range(len(rows))]
    assert report.journeys == 400
    assert report.unique == sum(1 for s in sizes if s == 1)
    assert report.below_k == sum(1 for s in sizes if s < 11)
    assert report.smallest_group == min(sizes)
    assert report.groups == len({(r["a"], r["b"], r["c"]) for r in rows})
    for label, low, high in SIZE_BANDS:
        assert report.bands[label] == sum(
            1 for s in sizes if s >= low and (high is None or s <= high)
        )
    assert sum(report.bands.values()) == 400
    for dropped in fields:
        kept = [f for f in fields if f != dropped]
        unique = sum(1 for i in range(len(rows)) if _brute_force_size(rows, i, kept) == 1)
        assert report.unique_without[dropped] == unique / 400


def test_the_time_field_drives_uniqueness_of_fine_snapshots() -> None:
    snapshots = {s.journey_token: s for s in random_journeys(300, seed=3, days=30)}
    seconds = assess((fine_quasi_identifiers(s) for s in snapshots.values()), k=11)
    months = assess(
        (fine_quasi_identifiers(s, TimePrecision.MONTH) for s in snapshots.values()), k=11
    )
    assert seconds.unique_share > 0.95
    assert months.unique_share < seconds.unique_share
    # Dropping the times removes most of the uniqueness; dropping the status does not.
    assert seconds.unique_without["times"] < seconds.unique_without["status"]
    assert seconds.metrics()["cx_disclosure_unique_share"] == seconds.unique_share


def test_an_empty_stream_has_no_risk_figures() -> None:
    report = assess([], k=11)
    assert report.journeys == 0 and report.unique_share == 0.0 and report.smallest_group == 0
