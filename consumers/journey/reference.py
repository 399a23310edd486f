"""The reference fold: the joiner's semantics on plain lists, no Kafka, no disk.

Integration tests compare what the Kafka joiner published with this. It runs the same
:class:`~consumers.journey.processor.JourneyProcessor` per partition over in-memory
stores, feeding events in the given order; the Kafka layer around the processor (what
the tests really check) is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from consumers.journey.processor import DEFAULT_GRACE, JourneyProcessor
from consumers.journey.rules import JoinRules, load_rules
from consumers.state.memory import MemoryStore
from contracts.events import CxEvent
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = ["ReferenceResult", "reference_fold", "reference_run"]

JourneyId = tuple[str, str]


@dataclass
class ReferenceResult:
    """Every snapshot per journey in version order, and counts of what was skipped."""

    history: dict[JourneyId, list[JourneySnapshot]] = field(default_factory=dict)
    #: Every 2.0.0 record released to the default tier, in release order.
    protected: list[ProtectedSnapshot] = field(default_factory=list)
    duplicates: int = 0
    late: int = 0
    #: Journeys pruned (closed past their retention) and not seen again since.
    pruned: set[JourneyId] = field(default_factory=set)

    @property
    def final(self) -> dict[JourneyId, JourneySnapshot]:
        """The latest snapshot per journey still held (what a compacted topic converges
        to: a pruned journey's tombstone removes it)."""
        return {
            journey: snapshots[-1]
            for journey, snapshots in self.history.items()
            if journey not in self.pruned
        }


def reference_run(
    events: Iterable[CxEvent],
    *,
    partition_of: Callable[[str], int] | None = None,
    grace: timedelta = DEFAULT_GRACE,
    rules: JoinRules | None = None,
) -> ReferenceResult:
    """Fold ``events`` in order; ``partition_of(journey_token)`` picks the stream-time scope.

    Without ``partition_of`` every event shares one partition (one stream time).
    """
    rules = rules or load_rules()
    processors: dict[int, JourneyProcessor] = {}
    result = ReferenceResult()
    for event in events:
        partition = partition_of(event.journey_token) if partition_of else 0
        processor = processors.get(partition)
        if processor is None:
            processor = processors[partition] = JourneyProcessor(
                MemoryStore(partition), rules, grace=grace
            )
        step = processor.process(event)
        result.duplicates += step.duplicate
        result.late += step.late
        for change in step.changes:
            if change.protected_json is not None:
                result.protected.append(
                    ProtectedSnapshot.model_validate_json(change.protected_json)
                )
            if change.snapshot_json is None:
                continue
            snapshot = change.snapshot
            journey = (snapshot.life_experience, snapshot.journey_token)
            result.history.setdefault(journey, []).append(snapshot)
            result.pruned.discard(journey)
        for pruned in step.pruned:
            result.pruned.add((pruned.life_experience, pruned.journey_token))
    return result


def reference_fold(
    events: Iterable[CxEvent],
    *,
    partition_of: Callable[[str], int] | None = None,
    grace: timedelta = DEFAULT_GRACE,
    rules: JoinRules | None = None,
) -> dict[JourneyId, JourneySnapshot]:
    """The final snapshot per (life experience, journey token) of folding ``events``."""
    return reference_run(events, partition_of=partition_of, grace=grace, rules=rules).final
