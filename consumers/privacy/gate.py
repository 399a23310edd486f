"""The release gate: a journey reaches the default tier only inside a group of at least k.

Pure, per joiner partition. The gate holds the journeys that may be released (no longer
active, not released yet) and, per published group (``group_key`` of a 2.0.0 record),
how many journeys were released into it. A pending journey is released at the finest
:class:`~contracts.protected.Precision` where at least k pending journeys share its group;
all of them are released together, in one transaction. Then:

* **batches of k**: every release into a group is itself k records or more, so not even
  the time a record appeared (its Kafka timestamp, its offset) tells it apart from k-1
  others: a journey released alone into an existing group would show roughly when it
  closed, which a reader who knows that date could use to pick it out of its group;

* **at most once per journey**: a released journey is never published again on the
  default tier (later events reach the restricted stream and the insights only), so a
  reader cannot link two records of one journey and intersect their groups;
* **groups only grow**: a record is never retracted and its fields never change, so a
  group that had k members when a record was released keeps them (and gains more);
* **late and partial data**: a journey that is still active is not offered; one that
  becomes active again before its release (a late event) is withdrawn and offered again
  with its new fields; one released already stays as it was published;
* **finest first, coarser once their period has closed**: ``day`` and ``week`` groups are
  tried at once; a coarser precision only once stream time has passed the end of the
  journey's start period at that precision (week for ``path``, month for ``agencies``,
  quarter for ``last``, ``elapsed``, ``status``) plus ``settle`` (default 28 days): the
  journeys of a whole period are pending together when their period's groups are formed,
  so they get the finest groups the period allows (a period's rollover);
* **forgotten together**: a released journey is pruned (and its record tombstoned on the
  default tier) only together with every released journey of its group that is still
  stored, once all of them are past their retention (:meth:`stored_members`); a tombstone
  of its own would be a record at the time its journey closed plus the public retention,
  which a reader who knows when a person's last visit was could use to pick the person's
  record out of its group. A group's journeys start in one period, so this keeps a
  journey at most about that period plus the spread of closing times longer;
* **exactly once**: the gate's whole state is a function of the journeys in the store (a
  released journey keeps its group key in its state, which travels through the
  changelog), so :meth:`restore` after a rollback or a rebalance rebuilds the same gate.

Counting per partition is conservative: a group of k in one partition is a group of at
least k on the topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from contracts.joined import JourneySnapshot
from contracts.protected import PRECISIONS, Precision, ProtectedSnapshot, group_key, protect
from contracts.vocabulary import JourneyStatus

__all__ = ["DEFAULT_SETTLE", "FINE_PRECISIONS", "Release", "ReleaseGate"]

#: Coarser precisions are tried this long after the journey's start period has ended.
DEFAULT_SETTLE = timedelta(days=28)
#: Precisions tried as soon as a journey is pending.
FINE_PRECISIONS: frozenset[Precision] = frozenset({Precision.DAY, Precision.WEEK})

_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Release:
    """One journey released to the default tier, and the group it was released into."""

    key: str
    record: ProtectedSnapshot
    group: str


@dataclass(frozen=True, slots=True)
class _Pending:
    #: The record and group key at every precision, finest first.
    candidates: tuple[tuple[ProtectedSnapshot, str], ...]
    #: Stream time (µs) from which each precision may be used.
    ready_at: tuple[int, ...]


def _us(day: date) -> int:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _period_ends(snapshot: JourneySnapshot) -> dict[Precision, int]:
    """When the journey's start period at each coarse precision ends (µs)."""
    day: date = snapshot.first_event_at.date()
    week_end = day - timedelta(days=day.isoweekday() - 1) + timedelta(days=7)
    month_end = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    first_of_quarter = 3 * ((day.month - 1) // 3) + 1
    quarter_end = date(day.year + (first_of_quarter + 2) // 12, (first_of_quarter + 2) % 12 + 1, 1)
    return {
        Precision.PATH: _us(week_end),
        Precision.AGENCIES: _us(month_end),
        Precision.LAST: _us(quarter_end),
        Precision.ELAPSED: _us(quarter_end),
        Precision.STATUS: _us(quarter_end),
    }


class ReleaseGate:
    """Decides which journeys of one partition are released, and at which precision.

    ``k_of`` maps a life experience to its k (``min_group_size`` in the catalog).
    """

    def __init__(self, k_of: Mapping[str, int], *, settle: timedelta = DEFAULT_SETTLE) -> None:
        self.k_of = dict(k_of)
        self.settle_us = settle // timedelta(microseconds=1)
        self.released: Counter[str] = Counter()
        self._pending: dict[str, _Pending] = {}
        self._members: dict[str, set[str]] = {}
        #: Released journeys still in the store, per group.
        self._stored: dict[str, set[str]] = {}

    @property
    def pending(self) -> int:
        """Journeys waiting for a large enough group."""
        return len(self._pending)

    def clear(self) -> None:
        """Forget everything (before :meth:`restore`)."""
        self.released.clear()
        self._pending.clear()
        self._members.clear()
        self._stored.clear()

    def stored_members(self, group: str) -> frozenset[str]:
        """The released journeys of ``group`` still in the store (pruned together)."""
        return frozenset(self._stored.get(group, ()))

    def forget(self, key: str, group: str) -> None:
        """A released journey of ``group`` was pruned."""
        members = self._stored.get(group)
        if members is not None:
            members.discard(key)
            if not members:
                del self._stored[group]

    def restore(self, entries: Iterable[tuple[str, str | None, JourneySnapshot | None]]) -> None:
        """Rebuild from the store: per journey its released group key (or None) and, when
        it is not released, its fine snapshot."""
        self.clear()
        for key, group, snapshot in entries:
            if group is not None:
                self.released[group] += 1
                self._stored.setdefault(group, set()).add(key)
            elif snapshot is not None:
                self.observe(key, snapshot)

    def observe(self, key: str, snapshot: JourneySnapshot) -> None:
        """A journey not released yet changed: pend it if it is no longer active."""
        self.withdraw(key)
        if snapshot.status is JourneyStatus.ACTIVE:
            return
        k = self.k_of[snapshot.life_experience]
        candidates = []
        for precision in PRECISIONS:
            record = protect(snapshot, precision, k=k)
            candidates.append((record, group_key(record)))
        ends = _period_ends(snapshot)
        ready_at = tuple(
            0 if precision in FINE_PRECISIONS else ends[precision] + self.settle_us
            for precision in PRECISIONS
        )
        pending = _Pending(tuple(candidates), ready_at)
        self._pending[key] = pending
        for _record, group in pending.candidates:
            self._members.setdefault(group, set()).add(key)

    def withdraw(self, key: str) -> None:
        """Stop waiting for ``key`` (it became active again, or was released)."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        for _record, group in pending.candidates:
            members = self._members.get(group)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._members[group]

    def due(self, stream_time: int, keys: Iterable[str] | None = None) -> list[Release]:
        """Release what can be released now: the groups of ``keys`` (None: every group).

        Deterministic: groups are visited finest precision first, then in key order.
        """
        if keys is None:
            groups = set(self._members)
        else:
            groups = {
                g for key in keys if key in self._pending for _, g in self._pending[key].candidates
            }
        out: list[Release] = []
        for index, _precision in enumerate(PRECISIONS):
            for group in sorted(groups):
                members = self._members.get(group)
                if not members:
                    continue
                ready = sorted(
                    key
                    for key in members
                    if self._pending[key].candidates[index][1] == group
                    and stream_time >= self._pending[key].ready_at[index]
                )
                if not ready:
                    continue
                record = self._pending[ready[0]].candidates[index][0]
                if len(ready) < record.k:
                    continue
                for key in ready:
                    released = self._pending[key].candidates[index][0]
                    out.append(Release(key, released, group))
                    self.withdraw(key)
                    self._stored.setdefault(group, set()).add(key)
                self.released[group] += len(ready)
        return out

    def day_of(self, stream_time: int) -> int:
        """The stream-time day number (a new one triggers a sweep of every group)."""
        return stream_time // _DAY_US
