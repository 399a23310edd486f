"""The joiner's counters: what a status line, a stats file and a supervisor read.

Counts and reason codes only, never a payload value or a token.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["JoinerStats"]

_COUNTERS = ("reasons", "topics")


@dataclass
class JoinerStats:
    """Counters since start (never payload values)."""

    records: int = 0
    events: int = 0
    duplicates: int = 0
    late: int = 0
    dead_letters: int = 0
    snapshots: int = 0
    transactions: int = 0
    restored_records: int = 0
    #: Seconds spent in Kafka transactions, from begin to commit (summed).
    transaction_seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    #: Records consumed per input topic.
    topics: Counter[str] = field(default_factory=Counter)

    def line(self, journeys: int, partitions: list[int]) -> str:
        """One status line."""
        reasons = ",".join(f"{r}={n}" for r, n in sorted(self.reasons.items())) or "-"
        return (
            f"records={self.records} events={self.events} duplicates={self.duplicates} "
            f"late={self.late} snapshots={self.snapshots} dead_letters={self.dead_letters} "
            f"[{reasons}] txns={self.transactions} journeys={journeys} partitions={partitions}"
        )

    def merge(self, other: JoinerStats) -> None:
        """Add ``other``'s counters to these."""
        for f in fields(self):
            if f.name not in _COUNTERS:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.reasons.update(other.reasons)
        self.topics.update(other.topics)

    def to_json(self) -> bytes:
        """The counters as a JSON document (the ``cxbroker join --stats-file`` format)."""
        data: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in _COUNTERS
        }
        data["reasons"] = dict(sorted(self.reasons.items()))
        data["topics"] = dict(sorted(self.topics.items()))
        return json.dumps(data, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> JoinerStats:
        """Counters read back from :meth:`to_json` (missing counters are 0)."""
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("joiner stats must be a JSON object")
        stats = cls(
            reasons=Counter({str(k): int(v) for k, v in raw.get("reasons", {}).items()}),
            topics=Counter({str(k): int(v) for k, v in raw.get("topics", {}).items()}),
        )
        for f in fields(stats):
            if f.name not in _COUNTERS:
                kind = float if f.name == "transaction_seconds" else int
                setattr(stats, f.name, kind(raw.get(f.name, 0)))
        return stats

    @classmethod
    def total(cls, parts: Iterable[JoinerStats]) -> JoinerStats:
        """The sum of ``parts``."""
        result = cls()
        for part in parts:
            result.merge(part)
        return result
