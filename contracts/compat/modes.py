"""Compatibility modes (Confluent Schema Registry names) and the two directions a schema
change can break. What each mode means is told in :mod:`contracts.compat`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Direction", "Mode"]


class Direction(StrEnum):
    """Which way a change breaks: new reading old (BACKWARD) or old reading new (FORWARD)."""

    BACKWARD = "backward"
    FORWARD = "forward"


class Mode(StrEnum):
    """Compatibility modes (Confluent Schema Registry names)."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def directions(self) -> frozenset[Direction]:
        """Directions this mode enforces."""
        if self is Mode.NONE:
            return frozenset()
        if self.value.startswith("BACKWARD"):
            return frozenset({Direction.BACKWARD})
        if self.value.startswith("FORWARD"):
            return frozenset({Direction.FORWARD})
        return frozenset(Direction)

    @property
    def transitive(self) -> bool:
        """True when every earlier version is checked, not only the previous one."""
        return self.value.endswith("_TRANSITIVE")
