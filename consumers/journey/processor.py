"""The fold engine of one partition: events in, changed journeys and snapshots out.

Pure with respect to Kafka: it reads and writes a :class:`~consumers.state.base.PartitionStore`
and returns what changed; the Kafka layer turns that into changelog records and snapshots,
and the reference fold runs the very same engine over an in-memory store.

Per accepted event: the journey's state absorbs it (a duplicate event id changes
nothing), the partition's stream time (the largest event time seen) advances, the
journey gets one new snapshot version, and every other journey whose window has passed
in stream time is closed with one more snapshot version. Closing is driven by event time
only, so a replay in the same order gives the same output.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta

from consumers.journey.rules import JoinRules, duration_micros
from consumers.journey.state import JourneyState, journey_key, to_micros
from consumers.state.base import PartitionStore
from contracts.events import CxEvent
from contracts.joined import JourneySnapshot

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_GRACE",
    "STREAM_TIME_META",
    "Change",
    "JourneyProcessor",
    "Step",
]

#: Events up to this far behind their journey's latest event are not counted as late.
DEFAULT_GRACE = timedelta(hours=1)
#: Journeys kept deserialized in RAM per partition; the rest stay on disk.
DEFAULT_CACHE_SIZE = 4096
#: Store meta name of the partition's stream time (µs).
STREAM_TIME_META = "stream_time"


@dataclass(frozen=True, slots=True)
class Change:
    """One new version of one journey: its serialized state, due time and snapshot."""

    key: str
    state: bytes
    #: Stream time (µs) at which the journey closes; None once closed.
    due: int | None
    life_experience: str
    journey_token: str
    #: The snapshot record's value (``JourneySnapshot`` JSON, as ``model_dump_json`` writes it).
    snapshot_json: bytes
    #: The snapshot's ``snapshot_version`` and ``last_event_at`` (µs since the epoch): what
    #: the record's deterministic ``ce_id`` and its ``ce_time`` are made of.
    version: int = 0
    last_us: int = 0

    @property
    def snapshot(self) -> JourneySnapshot:
        """The snapshot as a model (parsed from :attr:`snapshot_json` on each access)."""
        return JourneySnapshot.model_validate_json(self.snapshot_json)


@dataclass(slots=True)
class Step:
    """What processing one event did."""

    duplicate: bool = False
    late: bool = False
    changes: list[Change] = field(default_factory=list)


class JourneyProcessor:
    """Folds the events of one partition into journeys kept in ``store``."""

    def __init__(
        self,
        store: PartitionStore,
        rules: JoinRules,
        *,
        grace: timedelta = DEFAULT_GRACE,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.store = store
        self.rules = rules
        if grace < timedelta(0):
            raise ValueError("grace must not be negative")
        self.grace_us = duration_micros(grace)
        self.cache_size = max(1, cache_size)
        self._cache: OrderedDict[str, JourneyState] = OrderedDict()
        self.stream_time: int | None = None
        self._next_due: int | None = None
        self.reload()

    def reload(self) -> None:
        """Re-read everything from the store (after a rollback or a restore)."""
        self._cache.clear()
        raw = self.store.get_meta(STREAM_TIME_META)
        self.stream_time = int(raw) if raw is not None else None
        self._next_due = self.store.min_due()

    def _load(self, key: str, raw: bytes | None = None) -> JourneyState | None:
        state = self._cache.get(key)
        if state is not None:
            self._cache.move_to_end(key)
            return state
        if raw is None:
            raw = self.store.get(key)
        if raw is None:
            return None
        state = JourneyState.from_json(raw)
        self._remember(key, state)
        return state

    def _remember(self, key: str, state: JourneyState) -> None:
        self._cache[key] = state
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _write(self, state: JourneyState) -> Change:
        rules = self.rules[state.life_experience]
        state.version += 1
        value = state.to_json()
        due = None if state.closed else state.close_at(rules)
        self.store.put(state.key, value, due)
        if due is not None and (self._next_due is None or due < self._next_due):
            self._next_due = due
        return Change(
            state.key,
            value,
            due,
            state.life_experience,
            state.journey_token,
            state.snapshot_json(rules),
            state.version,
            state.last_us,
        )

    def process(self, event: CxEvent) -> Step:
        """Fold one validated event; return the journeys it changed (or closed)."""
        rules = self.rules[event.life_experience]
        key = journey_key(event.life_experience, event.journey_token)
        state = self._load(key)
        if state is None:
            state = JourneyState(event.life_experience, event.journey_token)
            self._remember(key, state)
        elif str(event.event_id) in state.seen:
            return Step(duplicate=True)

        late = state.apply(event, self.grace_us)
        at = to_micros(event.occurred_at)
        if self.stream_time is None or at > self.stream_time:
            self.stream_time = at
            self.store.put_meta(STREAM_TIME_META, str(at))
        # A journey reopens when an event moves its window past stream time again, and a
        # (late) event that leaves it behind stream time closes it in the same version.
        state.closed = state.close_at(rules) < self.stream_time
        step = Step(late=late, changes=[self._write(state)])
        step.changes.extend(self._close_due())
        return step

    def _close_due(self) -> list[Change]:
        """Close every open journey whose window ended before stream time."""
        if self.stream_time is None or self._next_due is None:
            return []
        if self._next_due >= self.stream_time:
            return []
        changes = []
        for key, raw in self.store.iter_due(self.stream_time - 1):
            state = self._load(key, raw)
            assert state is not None  # iter_due only yields stored keys
            state.closed = True
            changes.append(self._write(state))
        self._next_due = self.store.min_due()
        return changes

    def journeys(self) -> int:
        """Number of journeys held by the store."""
        return self.store.count()
