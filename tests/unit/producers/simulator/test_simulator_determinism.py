"""Same seed, same data: records, event ids and file bytes depend only on the arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producers.simulator import (
    DEFAULT_START,
    Simulation,
    SimulationConfig,
    simulate,
    simulate_to_files,
)


def _dump(journeys: int, seed: int) -> list[dict[str, object]]:
    return [r.model_dump() for r in simulate(journeys, seed)]


def test_same_seed_gives_identical_records_including_event_ids() -> None:
    first = _dump(60, 5)
    assert first == _dump(60, 5)
    assert len(first) > 300


def test_a_different_seed_gives_different_records() -> None:
    a, b = _dump(60, 5), _dump(60, 6)
    assert {r["event_id"] for r in a}.isdisjoint({r["event_id"] for r in b})
    assert [r["last_name"] for r in a] != [r["last_name"] for r in b]


def test_a_simulation_replays_identically_when_iterated_twice() -> None:
    simulation = Simulation(40, 3)
    once = [(d.record.event_id, d.delivered_at, d.duplicate) for d in simulation.deliveries()]
    again = [(d.record.event_id, d.delivered_at, d.duplicate) for d in simulation.deliveries()]
    assert once == again
    assert simulation.journeys_started == 40


def test_start_shifts_time_and_nothing_reads_the_clock() -> None:
    start = datetime(2030, 6, 1, tzinfo=UTC)
    shifted = list(simulate(30, 9, start))
    default = list(simulate(30, 9))
    assert min(r.occurred_at for r in shifted) >= start
    assert min(r.occurred_at for r in default) >= DEFAULT_START
    assert max(r.occurred_at for r in default) < DEFAULT_START + timedelta(days=400)
    # Same seed: the same people and facts, only moved in time.
    assert [(r.agency, r.kind, r.stage) for r in shifted] == [
        (r.agency, r.kind, r.stage) for r in default
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_files_are_byte_identical_for_the_same_seed(tmp_path: Path, fmt: str) -> None:
    for run in ("a", "b", "c"):
        simulate_to_files(50, 21 if run != "c" else 22, tmp_path / run, fmt)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all(name.endswith(f".{fmt}") for name in names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    differs = [
        (tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes()
        for n in names
        if (tmp_path / "c" / n).exists()
    ]
    assert differs and all(differs)


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="duplicate_rate"):
        SimulationConfig(duplicate_rate=1.5)
    with pytest.raises(ValueError, match="span"):
        SimulationConfig(span=timedelta(0))
    with pytest.raises(ValueError, match="timezone"):
        Simulation(1, 1, datetime(2026, 1, 1))  # naive: refused
