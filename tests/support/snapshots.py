"""Hand-made and seeded-random ``JourneySnapshot``s for the insights tests (no real data)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from contracts.catalog import load_catalog
from contracts.events import A11_DRIVERS
from contracts.joined import AgencyStep, DriverAverages, EventCounts, JourneySnapshot
from contracts.privacy import journey_token_from_digest
from contracts.vocabulary import STAGE_ORDER, JourneyStatus, Stage

__all__ = ["journey", "random_journeys", "random_week", "token"]


def token(n: int) -> str:
    """A syntactically valid journey token derived from a test number (not from anyone)."""
    return journey_token_from_digest(hashlib.sha256(f"test-journey-{n}".encode()).digest())


def journey(
    n: int,
    *,
    life_experience: str = "recovering-from-a-disaster",
    start: datetime = datetime(2026, 3, 2, 9, tzinfo=UTC),
    steps: tuple[tuple[str, Stage], ...] = (("fema", Stage.APPLY),),
    days: float = 1.0,
    status: JourneyStatus = JourneyStatus.ACTIVE,
    version: int = 1,
    satisfaction: float | None = None,
) -> JourneySnapshot:
    """One snapshot: agencies reached in order, one hour apart, elapsed ``days`` in all."""
    end = start + timedelta(days=days)
    agency_steps = tuple(
        AgencyStep(
            agency=agency,
            stage=stage,
            first_event_at=start + timedelta(hours=i),
            last_event_at=end if i == len(steps) - 1 else start + timedelta(hours=i),
            events=1,
        )
        for i, (agency, stage) in enumerate(steps)
    )
    return JourneySnapshot(
        journey_token=token(n),
        life_experience=life_experience,
        agencies=agency_steps,
        first_event_at=start,
        last_event_at=end,
        elapsed_seconds=(end - start).total_seconds(),
        event_counts=EventCounts(total=len(steps) + 1, service_interaction=len(steps) + 1),
        drivers=DriverAverages(
            responses=0 if satisfaction is None else 1, satisfaction=satisfaction
        ),
        status=status,
        snapshot_version=version,
    )


def random_journeys(
    count: int, *, seed: int, life_experience: str = "recovering-from-a-disaster", days: int = 10
) -> list[JourneySnapshot]:
    """``count`` journeys spread over ``days`` days, with 1-3 versions each (all returned)."""
    rng = random.Random(seed)
    le = load_catalog().life_experience(life_experience)
    agencies = list(le.agencies)
    out: list[JourneySnapshot] = []
    base = datetime(2026, 3, 2, 8, tzinfo=UTC)
    for n in range(count):
        start = base + timedelta(days=rng.randrange(days), minutes=rng.randrange(600))
        reached = agencies[: rng.randint(1, len(agencies))]
        steps = tuple((a, rng.choice(STAGE_ORDER)) for a in reached)
        status = rng.choice(list(JourneyStatus))
        versions = rng.randint(1, 3)
        for version in range(1, versions + 1):
            final = version == versions
            out.append(
                journey(
                    n,
                    life_experience=life_experience,
                    start=start,
                    steps=steps if final else steps[:1],
                    days=rng.uniform(0.1, 40.0) if final else 0.05,
                    status=status if final else JourneyStatus.ACTIVE,
                    version=version,
                    satisfaction=rng.choice([None, 1.0, 2.5, 4.0, 5.0]),
                )
            )
    return out


def random_week(
    count: int,
    *,
    seed: int,
    life_experience: str = "recovering-from-a-disaster",
    start: datetime = datetime(2026, 3, 2, 8, tzinfo=UTC),
    final: bool = False,
    first: int = 0,
) -> list[JourneySnapshot]:
    """``count`` latest snapshots of journeys that started in the ISO week of ``start``
    (a Monday): agencies reached in catalog order from a random first one, later stages
    rarer, a status mix (no active journey when ``final``), A-11 answers for about a third
    of the journeys. Journey numbers start at ``first``."""
    rng = random.Random(seed)
    agencies = list(load_catalog().life_experience(life_experience).agencies)
    statuses = [JourneyStatus.COMPLETED, JourneyStatus.STALLED, JourneyStatus.EXPIRED]
    if not final:
        statuses.append(JourneyStatus.ACTIVE)
    out: list[JourneySnapshot] = []
    for n in range(first, first + count):
        begin = rng.choices(range(len(agencies)), [5] + [2] * (len(agencies) - 1))[0]
        k = min(len(agencies) - begin, 1 + int(rng.expovariate(1.0)))
        steps = tuple(
            (a, rng.choices(STAGE_ORDER, (3, 6, 4, 3, 4, 1))[0])
            for a in agencies[begin : begin + k]
        )
        snap = journey(
            n,
            life_experience=life_experience,
            start=start + timedelta(days=rng.randrange(7), minutes=rng.randrange(600)),
            steps=steps,
            days=rng.uniform(1, 60),
            status=rng.choices(statuses, [5, 2, 2, 3][: len(statuses)])[0],
        )
        answers = {
            driver: rng.choice([1.0, 2.0, 3.0, 4.0, 4.5, 5.0]) if rng.random() < 0.35 else None
            for driver in A11_DRIVERS
        }
        out.append(snap.model_copy(update={"drivers": DriverAverages(responses=1, **answers)}))
    return out
