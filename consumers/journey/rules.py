"""Join rules per life experience, read once from the contracts catalog.

The catalog holds the rules as data (agencies, milestones, window); this module turns
them into the small, hashable values the fold needs and decides a journey's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from types import MappingProxyType

from contracts.catalog import DEFAULT_RETENTION, Catalog, LifeExperience, load_catalog
from contracts.vocabulary import ApplicationState, JourneyStatus, stage_rank

__all__ = [
    "PENDING_APPLICATION_STATES",
    "JoinRules",
    "LifeExperienceRules",
    "duration_micros",
    "load_rules",
]

#: Application states that wait on the government side: a journey closed in one of these
#: stalled at a hand-off rather than ran out.
PENDING_APPLICATION_STATES: frozenset[ApplicationState] = frozenset(
    {
        ApplicationState.SUBMITTED,
        ApplicationState.IN_REVIEW,
        ApplicationState.MORE_INFO_REQUESTED,
    }
)


def duration_micros(delta: timedelta) -> int:
    """A duration in whole microseconds (exact, unlike ``total_seconds() * 1e6``)."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class LifeExperienceRules:
    """What the joiner needs of one life experience."""

    id: str
    #: Participating agencies in catalog order (ties in first-event time sort by this).
    agencies: tuple[str, ...]
    #: (agency, minimum stage rank) pairs that together mean "completed".
    milestones: tuple[tuple[str, int], ...]
    #: A journey with no event for this long (in microseconds of event time) is closed.
    window_us: int
    #: A closed journey is forgotten this long (µs of event time) after it closed.
    retention_us: int = duration_micros(DEFAULT_RETENTION)
    #: k of the default tier's protected stream (``min_group_size`` in the catalog).
    min_group_size: int = 11

    @classmethod
    def from_catalog(cls, life_experience: LifeExperience) -> LifeExperienceRules:
        """Rules of one catalog entry."""
        return cls(
            id=life_experience.id,
            agencies=life_experience.agencies,
            milestones=tuple((m.agency, stage_rank(m.stage)) for m in life_experience.completion),
            window_us=duration_micros(life_experience.window),
            retention_us=duration_micros(life_experience.retention),
            min_group_size=life_experience.min_group_size,
        )

    def agency_order(self, agency: str) -> int:
        """Catalog position of ``agency`` (unknown agencies sort last)."""
        try:
            return self.agencies.index(agency)
        except ValueError:
            return len(self.agencies)

    def completed(self, furthest_stage: Mapping[str, int]) -> bool:
        """True when every milestone's agency reached at least the milestone's stage."""
        return all(furthest_stage.get(agency, -1) >= rank for agency, rank in self.milestones)

    def status(
        self,
        furthest_stage: Mapping[str, int],
        application_state: ApplicationState | None,
        *,
        closed: bool,
    ) -> JourneyStatus:
        """The status of a journey.

        Open: ``completed`` once every milestone is reached, else ``active``. Closed (no
        event for the window): ``completed``; else ``stalled`` when the latest
        application status still waits on the agency (a stuck hand-off); else ``expired``.
        """
        if self.completed(furthest_stage):
            return JourneyStatus.COMPLETED
        if not closed:
            return JourneyStatus.ACTIVE
        if application_state in PENDING_APPLICATION_STATES:
            return JourneyStatus.STALLED
        return JourneyStatus.EXPIRED


@dataclass(frozen=True, slots=True)
class JoinRules:
    """Rules of every life experience in the catalog, by id."""

    by_id: Mapping[str, LifeExperienceRules]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> JoinRules:
        """Rules of every life experience of ``catalog``."""
        return cls(
            MappingProxyType(
                {le.id: LifeExperienceRules.from_catalog(le) for le in catalog.life_experiences}
            )
        )

    def __getitem__(self, life_experience: str) -> LifeExperienceRules:
        return self.by_id[life_experience]

    def with_retention(self, retention: timedelta) -> JoinRules:
        """The same rules with one ``retention`` for every life experience (soaks, tests)."""
        if retention <= timedelta(0):
            raise ValueError("retention must be positive")
        us = duration_micros(retention)
        return JoinRules(
            MappingProxyType({k: replace(r, retention_us=us) for k, r in self.by_id.items()})
        )


def load_rules() -> JoinRules:
    """The rules of the packaged catalog."""
    return JoinRules.from_catalog(load_catalog())
