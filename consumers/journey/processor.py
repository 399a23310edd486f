"""The fold engine of one partition: events in, changed journeys and snapshots out.

Pure with respect to Kafka: it reads and writes a :class:`~consumers.state.base.PartitionStore`
and returns what changed; the Kafka layer turns that into changelog records and snapshots,
and the reference fold runs the very same engine over an in-memory store.

Per accepted event: the journey's state absorbs it (a duplicate event id changes
nothing), the partition's stream time (the largest event time seen) advances, the
journey gets one new snapshot version, and every other journey whose window has passed
in stream time is closed with one more snapshot version. A closed journey keeps a due
time too: when it closed plus its life experience's retention. Once stream time passes
it, the journey is pruned (its state, with its dedup set of event ids, is deleted and
the Kafka layer tombstones it). Closing and pruning are driven by event time only, so a
replay in the same order gives the same output.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from consumers.journey.rules import JoinRules, duration_micros
from consumers.journey.state import JourneyState, journey_key, to_micros
from consumers.privacy.gate import ReleaseGate
from consumers.state.base import PartitionStore
from contracts.events import CxEvent
from contracts.joined import JourneySnapshot
from contracts.vocabulary import JourneyStatus

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_GRACE",
    "STREAM_TIME_META",
    "Change",
    "JourneyProcessor",
    "Pruned",
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
    """One new version of one journey: its serialized state, due time and snapshot.

    A release to the default tier is a change too: the state then records the group it was
    released into, ``protected_json`` holds the 2.0.0 record and ``snapshot_json`` is None
    (the journey itself did not change, so there is no new 1.0.0 version).
    """

    key: str
    state: bytes
    #: Stream time (µs) at which the journey closes, or once closed is pruned.
    due: int | None
    life_experience: str
    journey_token: str
    #: The snapshot record's value (``JourneySnapshot`` JSON, as ``model_dump_json`` writes
    #: it), or None for a release only.
    snapshot_json: bytes | None
    #: The ``ProtectedSnapshot`` (2.0.0) released to the default tier by this change, if any.
    protected_json: bytes | None = None
    #: The journey's ``snapshot_version`` and ``last_event_at`` (µs since the epoch): what
    #: the 1.0.0 record's deterministic ``ce_id`` and its ``ce_time`` are made of.
    version: int = 0
    last_us: int = 0

    @property
    def snapshot(self) -> JourneySnapshot:
        """The snapshot as a model (parsed from :attr:`snapshot_json` on each access)."""
        if self.snapshot_json is None:
            raise ValueError("a release-only change carries no 1.0.0 snapshot")
        return JourneySnapshot.model_validate_json(self.snapshot_json)


@dataclass(frozen=True, slots=True)
class Pruned:
    """A journey forgotten: closed for longer than its life experience's retention."""

    key: str
    life_experience: str
    journey_token: str
    #: Whether its 2.0.0 record was released (only then is it tombstoned on the default
    #: tier: a tombstone of a never-released journey would tell when it closed).
    released: bool = False


@dataclass(slots=True)
class Step:
    """What processing one event did (changes, then prunings, in that order)."""

    duplicate: bool = False
    late: bool = False
    changes: list[Change] = field(default_factory=list)
    pruned: list[Pruned] = field(default_factory=list)


class JourneyProcessor:
    """Folds the events of one partition into journeys kept in ``store``.

    With ``protect`` (the default) a :class:`~consumers.privacy.gate.ReleaseGate` decides
    when a journey's 2.0.0 record may be released to the default tier (k per life
    experience from the rules); its state is rebuilt from the store on :meth:`reload`.
    """

    def __init__(
        self,
        store: PartitionStore,
        rules: JoinRules,
        *,
        grace: timedelta = DEFAULT_GRACE,
        cache_size: int = DEFAULT_CACHE_SIZE,
        protect: bool = True,
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
        self.gate = (
            ReleaseGate({le: r.min_group_size for le, r in rules.by_id.items()})
            if protect
            else None
        )
        self._gate_day: int | None = None
        self.reload()

    def reload(self) -> None:
        """Re-read everything from the store (after a rollback or a restore)."""
        self._cache.clear()
        raw = self.store.get_meta(STREAM_TIME_META)
        self.stream_time = int(raw) if raw is not None else None
        self._next_due = self.store.min_due()
        if self.gate is not None:
            self.gate.restore(self._gate_entries())
            self._gate_day = (
                None if self.stream_time is None else self.gate.day_of(self.stream_time)
            )

    def _gate_entries(self) -> Iterator[tuple[str, str | None, JourneySnapshot | None]]:
        for key, raw in self.store.iter_all():
            state = JourneyState.from_json(raw)
            if state.protected is not None:
                yield key, state.protected, None
            else:
                yield key, None, state.snapshot(self.rules[state.life_experience])

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
        due = state.close_at(rules) + (rules.retention_us if state.closed else 0)
        self.store.put(state.key, value, due)
        if due is not None and (self._next_due is None or due < self._next_due):
            self._next_due = due
        if self.gate is not None and state.protected is None:
            if state.status(rules) is JourneyStatus.ACTIVE:
                self.gate.withdraw(state.key)
            else:
                self.gate.observe(state.key, state.snapshot(rules))
        return Change(
            state.key,
            value,
            due,
            state.life_experience,
            state.journey_token,
            state.snapshot_json(rules),
            version=state.version,
            last_us=state.last_us,
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
        self._close_due(step)
        if self.gate is not None:
            step.changes.extend(self._release([change.key for change in step.changes]))
        return step

    def _release(self, keys: list[str]) -> list[Change]:
        """Release what the gate lets go: the groups of ``keys``, and every group when
        stream time entered a new day (settle times pass with the days)."""
        gate = self.gate
        assert gate is not None and self.stream_time is not None
        day = gate.day_of(self.stream_time)
        sweep = day != self._gate_day
        self._gate_day = day
        releases = gate.due(self.stream_time, None if sweep else keys)
        changes = []
        for release in releases:
            state = self._load(release.key)
            assert state is not None  # the gate only holds stored journeys
            state.protected = release.group
            value = state.to_json()
            rules = self.rules[state.life_experience]
            # Unchanged by the release: closing time, plus the retention once closed.
            due = state.close_at(rules) + (rules.retention_us if state.closed else 0)
            self.store.put(state.key, value, due)
            changes.append(
                Change(
                    state.key,
                    value,
                    due,
                    state.life_experience,
                    state.journey_token,
                    None,
                    release.record.model_dump_json().encode(),
                    version=state.version,
                    last_us=state.last_us,
                )
            )
        return changes

    def _close_due(self, step: Step) -> None:
        """Close every open journey whose window ended before stream time, and prune every
        closed one whose retention ended before it."""
        if self.stream_time is None or self._next_due is None:
            return
        if self._next_due >= self.stream_time:
            return
        closed_now: set[str] = set()
        waits: dict[str, int | None] = {}  # per release group, computed once a pass
        postponed: set[str] = set()
        for key, raw in self.store.iter_due(self.stream_time - 1):
            if key in closed_now or key in postponed:
                # Closed (or postponed) in this pass (a store may list it again under its
                # new due time): pruned by a later event, whichever store holds it.
                continue
            state = self._load(key, raw)
            assert state is not None  # iter_due only yields stored keys
            if state.closed:
                group = state.protected
                if group is not None and self.gate is not None:
                    if group not in waits:
                        waits[group] = self._group_wait(group, closed_now)
                    wait = waits[group]
                    if wait is not None:
                        postponed.add(key)
                        self.store.put(key, state.to_json(), wait)
                        continue
                self.store.delete(key)
                self._cache.pop(key, None)
                if self.gate is not None:
                    if group is None:
                        self.gate.withdraw(key)  # never released: forgotten with the journey
                    else:
                        self.gate.forget(key, group)
                step.pruned.append(
                    Pruned(key, state.life_experience, state.journey_token, group is not None)
                )
            else:
                state.closed = True
                closed_now.add(key)
                step.changes.append(self._write(state))
        self._next_due = self.store.min_due()

    def _group_wait(self, group: str, closed_now: set[str]) -> int | None:
        """None when every stored released journey of ``group`` is closed and past its
        retention (they are pruned together, in this pass); else the time to look again.

        A released journey's own tombstone would be a record at its closing time plus the
        public retention, singling it out of its group (:mod:`consumers.privacy.gate`).
        """
        assert self.gate is not None and self.stream_time is not None
        latest, ready = 0, True
        for member in sorted(self.gate.stored_members(group)):
            state = self._load(member)
            if state is None:
                continue
            rules = self.rules[state.life_experience]
            latest = max(latest, state.close_at(rules) + rules.retention_us)
            ready = ready and state.closed and member not in closed_now
        return None if ready and latest < self.stream_time else latest

    def journeys(self) -> int:
        """Number of journeys held by the store."""
        return self.store.count()
