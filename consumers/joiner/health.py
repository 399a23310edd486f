"""Riding out a Kafka outage: backoff and status of the joiner, quiet aiokafka logs.

While no broker answers, aiokafka retries fetches and connections by itself every
``retry_backoff_ms`` and logs an ERROR each time (dozens per second). The joiner instead
reports the outage once per backoff step (:class:`OutageTracker`, exponential up to a
cap), never counts the time as idle, and the CLI rate-limits aiokafka's repeated
warnings and errors (:class:`RepeatedLogFilter`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["OutageTracker", "RepeatedLogFilter"]


@dataclass
class OutageTracker:
    """When Kafka became unreachable, and how long to wait before looking again.

    Call :meth:`unreachable` on every check that finds no broker connection (it returns
    the next delay: ``initial``, doubling, capped at ``cap``) and :meth:`reachable` once
    a connection is back (it returns the outage's length, or None if there was none).
    """

    initial: float = 0.5
    cap: float = 10.0
    since: datetime | None = None
    started: float = 0.0
    attempts: int = 0

    @property
    def down(self) -> bool:
        """True while an outage is under way."""
        return self.since is not None

    def unreachable(self, now: float, wall: datetime | None = None) -> float:
        """Record a failed check at monotonic ``now``; the delay before the next one."""
        if self.since is None:
            self.since = wall or datetime.now(UTC)
            self.started = now
            self.attempts = 0
        delay = min(self.cap, self.initial * 2.0**self.attempts)
        self.attempts += 1
        return delay

    def reachable(self, now: float) -> float | None:
        """Record a successful check; the outage's length in seconds, if there was one."""
        if self.since is None:
            return None
        length = now - self.started
        self.since = None
        self.attempts = 0
        return length

    def status(self, delay: float) -> str:
        """The one-line status of the outage (for a WARNING)."""
        assert self.since is not None
        at = self.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"kafka unreachable since {at}, retrying in {delay:g}s"


@dataclass
class RepeatedLogFilter(logging.Filter):
    """Let one of each repeated WARNING/ERROR of ``prefix`` loggers through per ``interval``.

    Records are grouped by logger and message template (not the formatted text, which
    carries changing details); the first of a group passes, the same group is then
    dropped for ``interval`` seconds, and the next one that passes says how many were
    dropped. Attach it to a handler: filters on a logger do not see its children's records.
    """

    prefix: str = "aiokafka"
    interval: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a repeat inside the interval; True otherwise (annotated if repeats)."""
        if record.levelno < logging.WARNING or not (
            record.name == self.prefix or record.name.startswith(self.prefix + ".")
        ):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        passed = self._seen.get(key)
        if passed is not None and now - passed[0] < self.interval:
            self._seen[key] = (passed[0], passed[1] + 1)
            return False
        self._seen[key] = (now, 0)
        if passed is not None and passed[1]:
            record.msg = f"{record.msg} ({passed[1]} similar messages suppressed)"
        return True
