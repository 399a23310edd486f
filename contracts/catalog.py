"""The life-experience catalog and the agency registry, read from packaged JSON data.

The joiner, the simulator and the topic plan read their rules from here: which agencies
take part in a life experience (in the order a journey usually meets them), which
services each agency offers and at which stages, how long a journey stays open without
events, and when it counts as completed. Adding an agency or a life experience is a
change to ``contracts/catalog/*.json`` only.

Topic names (DESIGN.md §3) are derived from the ids: ``cx.events.<agency>``,
``cx.joined.<life-experience>``, ``cx.insights.<life-experience>`` and ``cx.deadletter``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from importlib import resources
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from contracts.errors import CatalogError, UnknownEntry, describe_validation_error
from contracts.privacy import TokenRule
from contracts.vocabulary import Stage

__all__ = [
    "AGENCY_ID_PATTERN",
    "DEADLETTER_TOPIC",
    "DEFAULT_RETENTION",
    "LIFE_EXPERIENCE_ID_PATTERN",
    "REASON_CODE_PATTERN",
    "SERVICE_ID_PATTERN",
    "Agency",
    "AgencyId",
    "AgencySlug",
    "Catalog",
    "FreeTextPolicy",
    "LifeExperience",
    "LifeExperienceId",
    "LifeExperienceSlug",
    "Milestone",
    "Participant",
    "Service",
    "ServiceId",
    "ServiceSlug",
    "agency_topic",
    "insights_topic",
    "joined_topic",
    "load_catalog",
    "parse_catalog",
    "protected_topic",
]

AGENCY_ID_PATTERN: Final = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
#: The shape of an agency's reason code (which codes exist is the catalog's business).
REASON_CODE_PATTERN: Final = r"^[A-Z][A-Z0-9_-]{1,31}$"
LIFE_EXPERIENCE_ID_PATTERN: Final = r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$"
SERVICE_ID_PATTERN: Final = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]\.[a-z][a-z0-9-]{0,62}[a-z0-9]$"

DEADLETTER_TOPIC: Final = "cx.deadletter"
#: How long a closed journey is kept when its life experience names no ``retention``.
DEFAULT_RETENTION: Final = timedelta(days=400)

# Shapes only; membership in the catalog is checked by the *Id types below. JSON Schemas
# carry the shape, so adding an agency does not change any contract's schema.
AgencySlug = Annotated[str, StringConstraints(max_length=32, pattern=AGENCY_ID_PATTERN)]
LifeExperienceSlug = Annotated[
    str, StringConstraints(max_length=64, pattern=LIFE_EXPERIENCE_ID_PATTERN)
]
ServiceSlug = Annotated[str, StringConstraints(max_length=97, pattern=SERVICE_ID_PATTERN)]


def agency_topic(agency_id: str) -> str:
    """The topic an agency publishes its events to."""
    return f"cx.events.{agency_id}"


def joined_topic(life_experience_id: str) -> str:
    """The compacted topic of joined journey snapshots of a life experience."""
    return f"cx.joined.{life_experience_id}"


def protected_topic(life_experience_id: str) -> str:
    """The compacted topic of k-protected journey snapshots of a life experience."""
    return f"cx.protected.{life_experience_id}"


def insights_topic(life_experience_id: str) -> str:
    """The topic of suppressed aggregate insight cells of a life experience."""
    return f"cx.insights.{life_experience_id}"


class _CatalogModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_CatalogModel):
    """One service an agency offers, and the journey stages it serves."""

    id: ServiceSlug
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    stages: tuple[Stage, ...] = Field(min_length=1)

    @property
    def agency(self) -> str:
        """Id of the agency offering this service (the part before the first dot)."""
        return self.id.split(".", 1)[0]


class Agency(_CatalogModel):
    """An agency in the registry: id, display name, reason codes, services; its topic is
    derived. ``reason_codes`` are the only codes an ``application-status`` event of the
    agency may carry (a closed list: a code is never free text)."""

    id: AgencySlug
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    reason_codes: tuple[
        Annotated[str, StringConstraints(max_length=32, pattern=REASON_CODE_PATTERN)], ...
    ] = Field(min_length=1)
    services: tuple[Service, ...] = Field(min_length=1)

    @property
    def topic(self) -> str:
        """``cx.events.<id>``: the only topic this agency may write."""
        return agency_topic(self.id)

    @model_validator(mode="after")
    def _services_are_own(self) -> Agency:
        for service in self.services:
            if service.agency != self.id:
                raise ValueError(f"service {service.id} does not start with '{self.id}.'")
        if len(set(self.reason_codes)) != len(self.reason_codes):
            raise ValueError(f"agency {self.id} lists a reason code twice")
        return self


class Participant(_CatalogModel):
    """An agency taking part in a life experience with some of its services."""

    agency: AgencySlug
    services: tuple[ServiceSlug, ...] = Field(min_length=1)


class Milestone(_CatalogModel):
    """A (agency, stage) pair; a journey is completed once it reached all its milestones."""

    agency: AgencySlug
    stage: Stage


class FreeTextPolicy(StrEnum):
    """Whether a life experience shares customers' free-text comments (PRIVACY.md, 3).

    ``off`` (the default): comments never leave the agency. ``scrubbed``: comments are
    shared after allow-list scrubbing (``producers.deid.scrub``) and the PII guard.
    """

    OFF = "off"
    SCRUBBED = "scrubbed"


class LifeExperience(_CatalogModel):
    """A cross-agency life experience and the rules the joiner applies to its journeys."""

    id: LifeExperienceSlug
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    #: A journey with no event for this long is expired and closed.
    window: timedelta
    #: A journey with no event for this long (but less than ``window``) is stalled.
    stall_after: timedelta
    #: A closed journey is forgotten this long after it closed (data minimisation): the
    #: joiner deletes its state and tombstones it in the changelog and the joined topic.
    retention: timedelta = DEFAULT_RETENTION
    #: The token rule every participating agency links people with. Tokens made by
    #: different rules never match, so the agencies of a life experience agree on one
    #: (name + DOB + ZIP3 where a participant holds no SSNs, e.g. FEMA or USDA FNS).
    token_rule: TokenRule
    #: Whether feedback comments are shared at all; off unless the catalog turns them on.
    free_text: FreeTextPolicy = FreeTextPolicy.OFF
    #: Participating agencies in the order a journey typically meets them.
    participants: tuple[Participant, ...] = Field(min_length=1)
    #: The journey is completed when every milestone is reached.
    completion: tuple[Milestone, ...] = Field(min_length=1)
    #: k: every journey on the default tier's protected topic shares what it publishes
    #: with at least this many journeys (PRIVACY.md, invariant 9).
    min_group_size: int = Field(default=11, ge=2, le=1000)

    @property
    def agencies(self) -> tuple[str, ...]:
        """Participating agency ids in typical journey order."""
        return tuple(participant.agency for participant in self.participants)

    @cached_property
    def services(self) -> frozenset[str]:
        """Ids of every service that belongs to this life experience (computed once)."""
        return frozenset(s for participant in self.participants for s in participant.services)

    @property
    def joined_topic(self) -> str:
        """``cx.joined.<id>``."""
        return joined_topic(self.id)

    @property
    def protected_topic(self) -> str:
        """``cx.protected.<id>``."""
        return protected_topic(self.id)

    @property
    def insights_topic(self) -> str:
        """``cx.insights.<id>``."""
        return insights_topic(self.id)

    def participant(self, agency_id: str) -> Participant | None:
        """This life experience's participation of ``agency_id``, or None."""
        for participant in self.participants:
            if participant.agency == agency_id:
                return participant
        return None

    @model_validator(mode="after")
    def _consistent(self) -> LifeExperience:
        if not timedelta(0) < self.stall_after < self.window:
            raise ValueError("need 0 < stall_after < window")
        if self.retention <= timedelta(0):
            raise ValueError("retention must be positive")
        agencies = self.agencies
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency is listed twice among the participants")
        for milestone in self.completion:
            if milestone.agency not in agencies:
                raise ValueError(f"milestone agency {milestone.agency} does not participate")
        return self


class Catalog(_CatalogModel):
    """Every agency and life experience, cross-checked; lookups raise :class:`UnknownEntry`."""

    agencies: tuple[Agency, ...]
    life_experiences: tuple[LifeExperience, ...]

    @model_validator(mode="after")
    def _cross_check(self) -> Catalog:
        agencies = {agency.id: agency for agency in self.agencies}
        if len(agencies) != len(self.agencies):
            raise ValueError("duplicate agency id")
        services = {s.id: s for agency in self.agencies for s in agency.services}
        if len(services) != sum(len(agency.services) for agency in self.agencies):
            raise ValueError("duplicate service id")
        life = {le.id: le for le in self.life_experiences}
        if len(life) != len(self.life_experiences):
            raise ValueError("duplicate life experience id")
        for le in self.life_experiences:
            for participant in le.participants:
                if participant.agency not in agencies:
                    raise ValueError(f"{le.id}: unknown agency {participant.agency}")
                for service_id in participant.services:
                    service = services.get(service_id)
                    if service is None or service.agency != participant.agency:
                        raise ValueError(f"{le.id}: {service_id} is not a service of its agency")
            # LifeExperience already checked that every milestone agency participates.
            stages_by_agency = {
                p.agency: {stage for s in p.services for stage in services[s].stages}
                for p in le.participants
            }
            for milestone in le.completion:
                if milestone.stage not in stages_by_agency[milestone.agency]:
                    raise ValueError(f"{le.id}: no service of {milestone.agency} serves the stage")
        return self

    # Lookup indexes, built on first use and kept in the instance's __dict__ (the model is
    # frozen): plain attribute reads, where pydantic private attributes cost ~1 µs each
    # through BaseModel.__getattr__, and every event validation looks ids up.
    @cached_property
    def _agencies(self) -> dict[str, Agency]:
        return {agency.id: agency for agency in self.agencies}

    @cached_property
    def _life_experiences(self) -> dict[str, LifeExperience]:
        return {le.id: le for le in self.life_experiences}

    @cached_property
    def _services(self) -> dict[str, Service]:
        return {s.id: s for agency in self.agencies for s in agency.services}

    def agency(self, agency_id: str) -> Agency:
        """The agency with this id."""
        try:
            return self._agencies[agency_id]
        except KeyError:
            raise UnknownEntry("not in the agency registry") from None

    def life_experience(self, life_experience_id: str) -> LifeExperience:
        """The life experience with this id."""
        try:
            return self._life_experiences[life_experience_id]
        except KeyError:
            raise UnknownEntry("not in the life-experience catalog") from None

    def service(self, service_id: str) -> Service:
        """The service with this id."""
        try:
            return self._services[service_id]
        except KeyError:
            raise UnknownEntry("not in the service catalog") from None

    def life_experiences_of(self, agency_id: str) -> tuple[LifeExperience, ...]:
        """Life experiences in which ``agency_id`` takes part."""
        return tuple(le for le in self.life_experiences if le.participant(agency_id))

    def agency_topics(self) -> tuple[str, ...]:
        """``cx.events.<agency>`` for every agency in the registry."""
        return tuple(agency.topic for agency in self.agencies)

    def topics(self) -> tuple[str, ...]:
        """Every public topic of DESIGN.md §3 (internal joiner topics are not listed)."""
        return (
            *self.agency_topics(),
            *(le.joined_topic for le in self.life_experiences),
            *(le.protected_topic for le in self.life_experiences),
            *(le.insights_topic for le in self.life_experiences),
            DEADLETTER_TOPIC,
        )


def parse_catalog(agencies: Any, life_experiences: Any) -> Catalog:
    """Build a :class:`Catalog` from the two JSON documents (already parsed)."""
    try:
        return Catalog.model_validate(
            {
                "agencies": agencies["agencies"],
                "life_experiences": life_experiences["life_experiences"],
            }
        )
    except ValidationError as exc:
        raise CatalogError(str(describe_validation_error(exc, "the catalog"))) from exc
    except (KeyError, TypeError) as exc:
        raise CatalogError(
            "catalog documents need top-level 'agencies' / 'life_experiences'"
        ) from exc


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalog (``contracts/catalog/*.json``), parsed and checked once."""
    data = resources.files("contracts").joinpath("catalog")
    agencies = json.loads(data.joinpath("agencies.json").read_text(encoding="utf-8"))
    life = json.loads(data.joinpath("life-experiences.json").read_text(encoding="utf-8"))
    return parse_catalog(agencies, life)


def _known(kind: str, lookup: str) -> AfterValidator:
    # Every decoded event asks this for its agency, life experience and service; the
    # packaged catalog never changes, so each id's answer is looked up once (bounded, as
    # unknown ids come from untrusted records).
    @lru_cache(maxsize=1024)
    def known(value: str) -> bool:
        try:
            getattr(load_catalog(), lookup)(value)
        except UnknownEntry:
            return False
        return True

    def check(value: str) -> str:
        if not known(value):
            raise ValueError(f"not a known {kind} (see the contracts catalog)")
        return value

    return AfterValidator(check)


AgencyId = Annotated[AgencySlug, _known("agency id", "agency")]
"""An agency id that exists in the agency registry."""
LifeExperienceId = Annotated[LifeExperienceSlug, _known("life-experience id", "life_experience")]
"""A life-experience id that exists in the catalog."""
ServiceId = Annotated[ServiceSlug, _known("service id", "service")]
"""A service id (``<agency>.<service>``) that exists in the catalog."""
