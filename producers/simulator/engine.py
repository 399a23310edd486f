"""The simulation: journeys arriving over time, their records delivered like agencies send them.

Journeys start as a Poisson process over ``config.span`` from ``start`` (stretched when more
than ``config.max_journeys_per_day`` would start per day). Each journey is
planned from its own ``random.Random`` (seeded from the simulation seed and its number);
arrivals, person reuse and delivery quirks come from the simulation's own ``Random``.
No global random state and no wall clock are used, so one seed gives one data set.

Records are delivered in event-time order, streamed through a heap: once the next journey
starts, nothing earlier can appear any more, so memory holds only journeys in progress
(a few thousand at the default arrival cap, whatever the number of journeys).
Two delivery quirks are deliberate and marked on each :class:`Delivery`:

* **late** deliveries arrive hours to days after their event time (a batch that missed its
  upload), so they come after later events of the same journey;
* **duplicate** deliveries repeat an earlier record with the same ``event_id`` (a resend
  after a timeout), so consumers must deduplicate.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from contracts.catalog import load_catalog
from producers.deid.raw import RawRecord
from producers.simulator.draw import chance, lognormal_delay, weighted
from producers.simulator.journeys import plan_journey
from producers.simulator.people import Person, make_person
from producers.simulator.profiles import birth_window, life_experience_profile

__all__ = ["COLUMNS", "DEFAULT_START", "Delivery", "Simulation", "SimulationConfig", "simulate"]

#: Start of simulated time when none is given (a fixed instant, never the wall clock).
DEFAULT_START: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

# People a returning journey may be drawn from (the most recent ones; bounds memory).
_POOL_SIZE: Final = 5000
_REUSE_TRIES: Final = 8


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Knobs of a simulation; the defaults give realistic proportions."""

    #: Journeys start spread over this period.
    span: timedelta = timedelta(days=60)
    #: Share of records delivered late (after later records of the same journey).
    late_rate: float = 0.03
    #: Share of records delivered a second time with the same event id.
    duplicate_rate: float = 0.02
    #: Share of journeys lived by someone already in another life experience.
    second_life_experience_rate: float = 0.1
    #: At most this many journeys start per day on average: more journeys stretch the span,
    #: which bounds the journeys in progress at once (and so the memory the ordering needs).
    max_journeys_per_day: float = 250.0
    #: Relative frequency of each life experience (default: all equally likely).
    life_experience_weights: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        for name in ("late_rate", "duplicate_rate", "second_life_experience_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.span <= timedelta(0):
            raise ValueError("span must be positive")
        if self.max_journeys_per_day <= 0:
            raise ValueError("max_journeys_per_day must be positive")

    def arrival_span(self, journeys: int) -> timedelta:
        """The period over which ``journeys`` journeys start."""
        return max(self.span, timedelta(days=journeys / self.max_journeys_per_day))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One record as delivered, with what the simulator knows about it (for tests/demo).

    ``row`` holds the record's columns as the agency wrote them (identity formats vary by
    agency); ``record`` is the validated :class:`RawRecord`. Both hold synthetic PII.
    """

    record: RawRecord
    row: Mapping[str, Any] = field(repr=False)
    journey: int
    person: int
    delivered_at: datetime
    late: bool = False
    duplicate: bool = False


@dataclass(order=True, slots=True)
class _Pending:
    """A planned record waiting for its delivery time: plain columns, validated on release
    (a validated record takes about as much memory again)."""

    delivered_at: datetime
    sequence: int
    columns: Mapping[str, Any] = field(compare=False)
    journey: int = field(compare=False)
    person: int = field(compare=False)
    late: bool = field(compare=False)
    duplicate: bool = field(compare=False)

    def delivery(self) -> Delivery:
        record = RawRecord.model_validate(self.columns)
        row = {column: self.columns.get(column) for column in COLUMNS}
        return Delivery(
            record,
            row,
            self.journey,
            self.person,
            self.delivered_at,
            late=self.late,
            duplicate=self.duplicate,
        )


COLUMNS: Final[tuple[str, ...]] = tuple(RawRecord.model_fields)


class Simulation:
    """A seeded simulation of ``journeys`` journeys; iterate :meth:`deliveries` (once or more).

    Every call of :meth:`deliveries` replays the same data from the seed.
    """

    def __init__(
        self,
        journeys: int,
        seed: int,
        start: datetime | None = None,
        config: SimulationConfig | None = None,
    ) -> None:
        if journeys < 0:
            raise ValueError("journeys must be zero or more")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.journeys = journeys
        self.seed = seed
        self.start = start or DEFAULT_START
        self.config = config or SimulationConfig()
        #: Journeys planned so far in the current :meth:`deliveries` run (for progress bars).
        self.journeys_started = 0

    def __repr__(self) -> str:
        return f"Simulation(journeys={self.journeys}, seed={self.seed})"

    def deliveries(self) -> Iterator[Delivery]:
        """Every delivery in delivery order."""
        rng = random.Random(self.seed)
        catalog = load_catalog()
        weights = dict(
            self.config.life_experience_weights or {le.id: 1.0 for le in catalog.life_experiences}
        )
        for le_id in weights:
            catalog.life_experience(le_id)  # unknown ids fail early, with UnknownEntry
        mean_gap = self.config.arrival_span(self.journeys).total_seconds() / max(self.journeys, 1)
        pool: deque[tuple[Person, set[str]]] = deque(maxlen=_POOL_SIZE)
        heap: list[_Pending] = []
        sequence = 0
        people = 0
        arrival = self.start
        self.journeys_started = 0
        for index in range(self.journeys):
            arrival += timedelta(seconds=round(rng.expovariate(1.0) * mean_gap))
            while heap and heap[0].delivered_at <= arrival:
                yield heapq.heappop(heap).delivery()
            le_id = weighted(rng, weights)
            journey_rng = random.Random(f"cx-broker simulator/{self.seed}/{index}")
            person = _returning_person(rng, pool, le_id, arrival, self.config)
            if person is None:
                window = birth_window(life_experience_profile(le_id), arrival.date())
                person = make_person(journey_rng, people, born_between=window)
                people += 1
                pool.append((person, {le_id}))
            for planned in sorted(
                plan_journey(journey_rng, person, le_id, arrival), key=lambda p: p.occurred_at
            ):
                late = chance(rng, self.config.late_rate)
                delivered = planned.occurred_at + (
                    lognormal_delay(rng, timedelta(hours=18), 1.0, low=timedelta(hours=1))
                    if late
                    else timedelta(0)
                )
                copies = [delivered]
                if chance(rng, self.config.duplicate_rate):
                    copies.append(
                        delivered
                        + lognormal_delay(rng, timedelta(minutes=30), 1.5, low=timedelta(seconds=5))
                    )
                for number, at in enumerate(copies):
                    pending = _Pending(
                        at, sequence, planned.columns, index, person.number, late, number > 0
                    )
                    heapq.heappush(heap, pending)
                    sequence += 1
            self.journeys_started = index + 1
        while heap:
            yield heapq.heappop(heap).delivery()


def _returning_person(
    rng: random.Random,
    pool: deque[tuple[Person, set[str]]],
    life_experience: str,
    on: datetime,
    config: SimulationConfig,
) -> Person | None:
    """Someone from an earlier journey who now lives ``life_experience`` too, or None."""
    if not pool or not chance(rng, config.second_life_experience_rate):
        return None
    youngest, oldest = life_experience_profile(life_experience).ages
    for _ in range(_REUSE_TRIES):
        person, lived = pool[rng.randrange(len(pool))]
        if life_experience not in lived and youngest <= person.age_on(on.date()) <= oldest:
            lived.add(life_experience)
            return person
    return None


def simulate(
    journeys: int,
    seed: int,
    start: datetime | None = None,
    config: SimulationConfig | None = None,
) -> Iterator[RawRecord]:
    """Raw agency records of ``journeys`` synthetic journeys, in delivery order.

    Same arguments, same records (including event ids). Duplicated deliveries appear twice
    (same ``event_id``); use :class:`Simulation` to see which deliveries are late or repeated.
    """
    for delivery in Simulation(journeys, seed, start, config).deliveries():
        yield delivery.record
