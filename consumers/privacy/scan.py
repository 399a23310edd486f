"""Scanning journey streams for their disclosure risk: from a file or from the topics.

A scan keeps the latest record of each journey (what a compacted topic converges to, and
what a reader holds at the end) and reports, per stream, the figures of
:func:`consumers.privacy.risk.assess`: the fine journeys (1.0.0, ``cx.joined.<le>``) at a
chosen time precision, the k-protected ones (2.0.0, ``cx.protected.<le>``) as published.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from broker.settings import Settings
from consumers.errors import InsightsError
from consumers.insights.topics import read_to_end
from consumers.privacy.risk import (
    RiskReport,
    TimePrecision,
    assess,
    fine_quasi_identifiers,
    protected_quasi_identifiers,
)
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = ["Scan", "read_streams", "scan_lines"]


@dataclass
class Scan:
    """The latest record per journey of each stream, and how many records were unusable."""

    fine: dict[tuple[str, str], JourneySnapshot] = field(default_factory=dict)
    protected: dict[tuple[str, str], ProtectedSnapshot] = field(default_factory=dict)
    invalid: int = 0

    def add(self, raw: bytes | str) -> None:
        """One JSON record of either contract (told apart by its fields)."""
        try:
            data = json.loads(raw)
            if isinstance(data, dict) and "precision" in data:
                record = ProtectedSnapshot.model_validate(data)
                self.protected[(record.life_experience, record.journey_token)] = record
            else:
                snapshot = JourneySnapshot.model_validate(data)
                key = (snapshot.life_experience, snapshot.journey_token)
                old = self.fine.get(key)
                if old is None or old.snapshot_version <= snapshot.snapshot_version:
                    self.fine[key] = snapshot
        except (ValueError, ValidationError):
            # Never echo the record: count it.
            self.invalid += 1

    def fine_report(self, precision: TimePrecision, k: int) -> RiskReport:
        """Risk of the fine journeys read at ``precision``."""
        return assess((fine_quasi_identifiers(s, precision) for s in self.fine.values()), k=k)

    def protected_report(self, k: int) -> RiskReport:
        """Risk of the k-protected journeys as published."""
        return assess((protected_quasi_identifiers(r) for r in self.protected.values()), k=k)


def scan_lines(lines: Iterable[str]) -> Scan:
    """A scan of JSON lines (blank lines skipped)."""
    scan = Scan()
    for line in lines:
        if line.strip():
            scan.add(line)
    return scan


async def read_streams(
    settings: Settings,
    life_experiences: Iterable[str],
    *,
    fine: bool,
    protected: bool,
    within: float = 60.0,
) -> Scan:
    """Read the chosen journey topics of ``life_experiences`` to their ends."""
    scan = Scan()

    def handle(record: ConsumerRecord[bytes, bytes]) -> None:
        if record.value is not None:
            scan.add(record.value)

    for life_experience in life_experiences:
        topics = []
        if fine:
            topics.append(settings.topics.joined(life_experience))
        if protected:
            topics.append(settings.topics.protected(life_experience))
        for topic in topics:
            try:
                await read_to_end(settings, topic, handle, within=within)
            except InsightsError as exc:
                raise InsightsError(f"privacy report: {exc}") from None
    return scan
