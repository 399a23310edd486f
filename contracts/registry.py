"""The registry of every contract version, and upcasting of older minor versions.

A record names its contract and version in ``ce_dataschema``. The registry maps that
pair to the frozen model of exactly that version; within one major version the newest
model can represent everything an older minor could, so older records are validated
against their own model and then upcast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Final

from contracts.errors import UnknownEntry
from contracts.events import (
    ApplicationStatus,
    ApplicationStatusV1_0,
    ContractModel,
    CxEvent,
    Feedback,
    FeedbackV1_0,
    ServiceInteraction,
    reason_code_known,
)
from contracts.insights import InsightCell, InsightRelease
from contracts.joined import InsightCellV1_0, InsightCellV1_1, JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = [
    "CONTRACT_NAME_PATTERN",
    "SEMVER_PATTERN",
    "ContractEntry",
    "ContractKind",
    "Registry",
    "Upcaster",
    "load_registry",
    "parse_semver",
]

SEMVER_PATTERN: Final = re.compile(
    r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"
)
CONTRACT_NAME_PATTERN: Final = re.compile(r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$")

Upcaster = Callable[[ContractModel], ContractModel]


def parse_semver(version: str) -> tuple[int, int, int]:
    """``"1.2.3"`` → ``(1, 2, 3)``; raises ValueError for anything else."""
    match = SEMVER_PATTERN.match(version)
    if match is None:
        raise ValueError("not a MAJOR.MINOR.PATCH version")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


class ContractKind(StrEnum):
    """Where a contract travels: agency topics, joined topics or insight topics."""

    EVENT = "event"
    JOURNEY = "journey"
    INSIGHT = "insight"


def _additive_upcast(target: type[ContractModel]) -> Upcaster:
    # Minor versions only add optional fields, so the old fields carry over unchanged.
    def upcast(old: ContractModel) -> ContractModel:
        return target.model_validate(old.model_dump())

    return upcast


def _application_status_from_1_0(old: ContractModel) -> ContractModel:
    # 1.0.0 took any code of the right shape; 1.1.0 only the agency's catalog codes. A code
    # the catalog does not list may be anything a careless system typed: it is dropped.
    assert isinstance(old, ApplicationStatusV1_0)
    fields = old.model_dump()
    code = old.reason_code
    if code is not None and not reason_code_known(old.agency, code):
        fields["reason_code"] = None
    return ApplicationStatus.model_validate(fields)


@dataclass(frozen=True)
class ContractEntry:
    """One version of one contract."""

    model: type[ContractModel]
    kind: ContractKind
    #: Turns an instance of this version into the newest version of the same major.
    upcast: Upcaster | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The contract name, e.g. ``service-interaction``."""
        return self.model.contract_name

    @property
    def version(self) -> str:
        """The semantic version, e.g. ``1.0.0``."""
        return self.model.contract_version

    @property
    def semver(self) -> tuple[int, int, int]:
        """The version as a comparable tuple."""
        return parse_semver(self.version)

    @property
    def urn(self) -> str:
        """``urn:cx:contract:<name>:<version>``."""
        return self.model.contract_urn()


class Registry:
    """Every contract version; immutable after construction."""

    def __init__(self, entries: tuple[ContractEntry, ...]) -> None:
        self._entries = tuple(sorted(entries, key=lambda e: (e.name, e.semver)))
        by_key = {(e.name, e.version): e for e in self._entries}
        if len(by_key) != len(self._entries):
            raise ValueError("a contract version is registered twice")
        for entry in self._entries:
            if CONTRACT_NAME_PATTERN.match(entry.name) is None:
                raise ValueError(f"bad contract name {entry.name!r}")
        self._by_key = by_key
        # The registry never changes, and decoding asks these questions for every record:
        # answer them from indexes built once instead of scanning and re-parsing versions.
        versions: dict[str, list[ContractEntry]] = {}
        for entry in self._entries:
            versions.setdefault(entry.name, []).append(entry)
        self._versions = {name: tuple(found) for name, found in versions.items()}
        self._majors = {
            name: frozenset(e.semver[0] for e in found) for name, found in self._versions.items()
        }
        # Entries are sorted oldest first, so the last write per key is the newest.
        self._latest: dict[tuple[str, int | None], ContractEntry] = {}
        for entry in self._entries:
            self._latest[(entry.name, None)] = entry
            self._latest[(entry.name, entry.semver[0])] = entry
        # Per registered model class: its entry and the newest entry of its major.
        self._upcast_targets = {
            entry.model: (entry, self._latest[(entry.name, entry.semver[0])])
            for entry in self._entries
        }

    @property
    def entries(self) -> tuple[ContractEntry, ...]:
        """All entries, sorted by name then version."""
        return self._entries

    def names(self) -> tuple[str, ...]:
        """Contract names, sorted."""
        return tuple(sorted({entry.name for entry in self._entries}))

    def versions(self, name: str) -> tuple[ContractEntry, ...]:
        """Every version of ``name``, oldest first (empty when unknown)."""
        return self._versions.get(name, ())

    def majors(self, name: str) -> frozenset[int]:
        """Major versions registered for ``name``."""
        return self._majors.get(name, frozenset())

    def get(self, name: str, version: str) -> ContractEntry:
        """Exactly this version of this contract."""
        try:
            return self._by_key[(name, version)]
        except KeyError:
            raise UnknownEntry(f"no contract {name} {version} in the registry") from None

    def latest(self, name: str, major: int | None = None) -> ContractEntry:
        """The newest version of ``name`` (within ``major`` if given)."""
        try:
            return self._latest[(name, major)]
        except KeyError:
            raise UnknownEntry(f"no contract {name} in the registry") from None

    def entry_of(self, model: type[ContractModel]) -> ContractEntry:
        """The entry registered for a model class."""
        return self.get(model.contract_name, model.contract_version)

    def upcast(self, instance: ContractModel) -> ContractModel:
        """``instance`` as the newest version of its major (unchanged if already newest)."""
        model = type(instance)
        known = self._upcast_targets.get(model)
        if known is None:
            # A class registered only by name and version (or not at all: UnknownEntry).
            entry = self.entry_of(model)
            target = self.latest(entry.name, entry.semver[0])
        else:
            entry, target = known
        if target.version == entry.version:
            return instance
        upcast = entry.upcast or _additive_upcast(target.model)
        return upcast(instance)

    def event_models(self) -> tuple[type[CxEvent], ...]:
        """Current event models (newest of the highest major), one per event contract."""
        models: list[type[CxEvent]] = []
        for name in self.names():
            model = self.latest(name).model
            if issubclass(model, CxEvent):
                models.append(model)
        return tuple(models)


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    """The registry of this code base's contract versions."""
    return Registry(
        (
            ContractEntry(ServiceInteraction, ContractKind.EVENT),
            ContractEntry(
                ApplicationStatusV1_0, ContractKind.EVENT, upcast=_application_status_from_1_0
            ),
            ContractEntry(ApplicationStatus, ContractKind.EVENT),
            ContractEntry(FeedbackV1_0, ContractKind.EVENT),
            ContractEntry(Feedback, ContractKind.EVENT),
            ContractEntry(JourneySnapshot, ContractKind.JOURNEY),
            ContractEntry(ProtectedSnapshot, ContractKind.JOURNEY),
            ContractEntry(InsightCellV1_0, ContractKind.INSIGHT),
            ContractEntry(InsightCellV1_1, ContractKind.INSIGHT),
            ContractEntry(InsightCell, ContractKind.INSIGHT),
            ContractEntry(InsightRelease, ContractKind.INSIGHT),
        )
    )
