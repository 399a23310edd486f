"""Generated populations for the disclosure tests: many journeys, late events, rollovers."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import UUID

from contracts.catalog import load_catalog
from contracts.events import CxEvent
from tests.support.journeys import T0, make_event, make_workload, token

__all__ = ["closing_tick", "population"]


def closing_tick(after: timedelta, seed: int = 0, per_life_experience: int = 1) -> list[CxEvent]:
    """Events ``after`` past T0 (``per_life_experience`` new journeys each, so that every
    partition gets one): stream time moves on, every journey whose window has passed is
    closed (and weeks and months roll over)."""
    rng = random.Random(seed)
    catalog = load_catalog()
    out = []
    for le in [le for le in catalog.life_experiences for _ in range(per_life_experience)]:
        participant = le.participants[0]
        out.append(
            make_event(
                "interaction",
                agency=participant.agency,
                service_id=participant.services[0],
                life_experience=le.id,
                journey_token=token(rng),
                at=T0 + after,
                event_id=UUID(int=rng.getrandbits(128), version=4),
                stage="discover",
            )
        )
    return out


def population(
    seed: int,
    per_life_experience: int,
    *,
    span_days: int = 90,
    late_share: float = 0.05,
    close_after_days: int = 400,
    ticks: int = 1,
) -> list[CxEvent]:
    """Journeys starting over ``span_days`` in delivery order: a share of events delivered
    late (hours to weeks after later events), then ``ticks`` events per life experience
    ``close_after_days`` after the span that close every journey."""
    rng = random.Random(seed)
    events = make_workload(seed, per_life_experience, span=timedelta(days=span_days))
    late = [e for e in events if rng.random() < late_share]
    held = {id(e) for e in late}
    order = [e for e in events if id(e) not in held]
    for event in late:
        # Deliver it after events up to ~3 weeks later than its own time.
        limit = event.occurred_at + timedelta(hours=rng.randint(2, 500))
        at = next((i for i, e in enumerate(order) if e.occurred_at > limit), len(order))
        order.insert(at, event)
    tick = closing_tick(timedelta(days=span_days + close_after_days), seed, ticks)
    return order + tick
