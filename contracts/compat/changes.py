"""What the checker reports: one difference between two schemas, and a breaking change of
a contract between two of its versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from contracts.compat.modes import Direction

__all__ = [
    "BREAKS_BACKWARD",
    "BREAKS_BOTH",
    "BREAKS_FORWARD",
    "Change",
    "ChangeKind",
    "Violation",
]


class ChangeKind(StrEnum):
    """What changed between two schemas."""

    FIELD_REMOVED = "field-removed"
    FIELD_ADDED_REQUIRED = "field-added-required"
    FIELD_ADDED_OPTIONAL = "field-added-optional"
    OPTIONAL_MADE_REQUIRED = "optional-made-required"
    REQUIRED_MADE_OPTIONAL = "required-made-optional"
    TYPE_CHANGED = "type-changed"
    TYPE_NARROWED = "type-narrowed"
    TYPE_WIDENED = "type-widened"
    ENUM_NARROWED = "enum-narrowed"
    ENUM_WIDENED = "enum-widened"
    CONSTRAINT_TIGHTENED = "constraint-tightened"
    CONSTRAINT_LOOSENED = "constraint-loosened"
    PATTERN_CHANGED = "pattern-changed"
    FORMAT_CHANGED = "format-changed"
    CONTENT_MODEL_OPENED = "content-model-opened"
    CONTENT_MODEL_CLOSED = "content-model-closed"
    UNION_CHANGED = "union-changed"
    VERSION_REMOVED = "released-version-removed"
    VERSION_MODIFIED = "released-version-modified"


# Values of Change.breaks; a change that breaks neither direction has an empty set.
BREAKS_BACKWARD: Final = frozenset({Direction.BACKWARD})
BREAKS_FORWARD: Final = frozenset({Direction.FORWARD})
BREAKS_BOTH: Final = frozenset(Direction)


@dataclass(frozen=True)
class Change:
    """One difference between an old and a new schema."""

    path: str
    kind: ChangeKind
    detail: str
    breaks: frozenset[Direction]

    def __str__(self) -> str:
        return f"{self.path}: {self.kind.value} ({self.detail})"


@dataclass(frozen=True)
class Violation:
    """A breaking change of contract ``name`` from ``old_version`` to ``new_version``."""

    name: str
    old_version: str
    new_version: str
    change: Change

    def __str__(self) -> str:
        return f"{self.name} {self.old_version} -> {self.new_version}: {self.change}"
