"""Outage backoff and the aiokafka log throttle of the joiner, without Kafka."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broker.settings import Settings
from consumers.joiner import Joiner
from consumers.joiner.health import OutageTracker, RepeatedLogFilter

WALL = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)


def test_backoff_doubles_up_to_the_cap_and_resets_when_kafka_is_back() -> None:
    tracker = OutageTracker(initial=0.5, cap=10.0)
    assert not tracker.down
    assert tracker.reachable(1.0) is None
    delays = [tracker.unreachable(100.0 + i, WALL) for i in range(8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert tracker.down
    assert tracker.status(4.0) == "kafka unreachable since 2026-03-02T09:00:05Z, retrying in 4s"
    assert tracker.reachable(130.5) == 30.5
    assert not tracker.down
    assert tracker.unreachable(200.0, WALL) == 0.5  # a new outage starts over


def _record(name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeated_aiokafka_errors_pass_once_per_interval_with_a_count() -> None:
    now = [0.0]
    throttle = RepeatedLogFilter(interval=10.0, clock=lambda: now[0])
    template = "Unable connect to node with id %s: %s"
    passed = []
    for step in range(50):  # 25 s of errors, two a second, with changing details
        now[0] = step * 0.5
        record = _record("aiokafka.client", logging.ERROR, template, step % 3, "refused")
        if throttle.filter(record):
            passed.append(record.getMessage())
    assert len(passed) == 3  # at 0 s, 10 s and 20 s
    assert "suppressed" not in passed[0]
    assert passed[1].endswith("(19 similar messages suppressed)")


def test_other_loggers_levels_and_templates_are_not_throttled() -> None:
    throttle = RepeatedLogFilter(clock=lambda: 0.0)
    ours = _record("cx.joiner", logging.WARNING, "status %s", "x")
    info = _record("aiokafka.consumer", logging.INFO, "assigned %s", "x")
    assert all(throttle.filter(ours) for _ in range(5))
    assert all(throttle.filter(info) for _ in range(5))
    assert throttle.filter(_record("aiokafka.conn", logging.ERROR, "first %s", 1))
    assert throttle.filter(_record("aiokafka.conn", logging.ERROR, "second %s", 1))
    assert not throttle.filter(_record("aiokafka.conn", logging.ERROR, "first %s", 2))


async def test_an_unchanged_status_line_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    joiner = Joiner(
        Settings(bootstrap_servers="127.0.0.1:1", state_dir=tmp_path), status_interval=0
    )
    polls = 0

    async def fetch() -> dict[object, list[object]]:
        nonlocal polls
        polls += 1
        if polls == 20:
            joiner.stats.records += 1  # a counter moved: one more status line
        if polls == 40:
            joiner.stop_soon()
        await asyncio.sleep(0)
        return {}

    monkeypatch.setattr(joiner, "_fetch", fetch)
    monkeypatch.setattr(joiner, "_kafka_connected", lambda: True)
    with caplog.at_level(logging.INFO, logger="cx.joiner"):
        await joiner.run()
    status = [r.getMessage() for r in caplog.records if r.getMessage().startswith("status ")]
    assert len(status) == 2, status
    assert status[0] != status[1]
