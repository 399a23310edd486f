"""What planning a journey writes: :class:`PlannedRecord`, and the journey's book of them.

Apart from the journey's storyline (:mod:`~producers.simulator.journeys`) and the contact
model (:mod:`~producers.simulator.contacts`), which both write records through it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.catalog import LifeExperience
from producers.simulator.people import Person
from producers.simulator.profiles import agency_profile

__all__ = ["PlannedRecord"]


@dataclass(frozen=True, slots=True)
class PlannedRecord:
    """One raw record a journey produces: when it happened, at which agency, its columns."""

    occurred_at: datetime
    agency: str
    #: Columns of :class:`~producers.deid.raw.RawRecord` (identity included), by field name.
    columns: Mapping[str, Any]


@dataclass
class _Journey:
    """Mutable state while one journey is planned (local to :func:`plan_journey`)."""

    rng: random.Random
    person: Person
    life_experience: LifeExperience
    records: list[PlannedRecord] = field(default_factory=list)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, str | None] = field(default_factory=dict)

    def identity(self, agency: str) -> dict[str, Any]:
        """The person's identity columns as ``agency`` writes them (same at every event)."""
        if agency not in self.identities:
            profile = agency_profile(agency)
            columns = profile.identity.render(self.person)
            account = None
            if profile.account_prefix is not None:
                account = f"{profile.account_prefix}{self.rng.randint(10_000_000, 99_999_999)}"
            columns["account_number"] = account
            self.identities[agency] = columns
        return self.identities[agency]

    def emit(self, agency: str, at: datetime, facts: dict[str, Any]) -> None:
        """Add one record: identity, a deterministic event id, and the given facts."""
        columns = {
            **self.identity(agency),
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "agency": agency,
            "life_experience": self.life_experience.id,
            "occurred_at": at,
            **facts,
        }
        self.records.append(PlannedRecord(at, agency, columns))
