"""Disclosure risk and utility of the journey streams, before and after k-protection.

``python -m bench.disclosure [--journeys 5000] [--partitions 6]`` simulates journeys (the
demo's simulator, de-identified and signed by the agencies' own preparers, then decoded),
folds them as the joiner does (one release gate per partition), and prints JSON:

* ``risk``: group sizes of the fine stream (1.0.0) at second to month precision, and of
  the k-protected stream (2.0.0) as published;
* ``utility``: the demo's questions answered from the fine stream (every journey no longer
  active) and from the protected one: completion rate, median days to complete, stalls
  per hand-off (agency reached last -> next agency), and how many journeys each shows;
* both at the end of the simulated stream (as the demo leaves it) and after a tick a year
  later has closed every journey (``closed``).

Figures only, nothing asserted (tests/unit/consumers/privacy assert the guarantees).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from broker.keyring import Keyring
from consumers.journey.reference import ReferenceResult, reference_run
from consumers.privacy.risk import (
    TimePrecision,
    assess,
    fine_quasi_identifiers,
    protected_quasi_identifiers,
)
from consumers.privacy.utility import utility_of_fine, utility_of_protected
from contracts.catalog import load_catalog
from contracts.envelope import decode
from contracts.events import CxEvent
from contracts.privacy import journey_token_from_digest
from producers.simulator.engine import Simulation
from producers.simulator.publish import SimulationPreparer

__all__ = ["measure", "simulated_events"]


def simulated_events(journeys: int, seed: int) -> list[CxEvent]:
    """The simulator's deliveries for ``journeys`` journeys, as decoded events."""
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        keyring = Keyring(Path(tmp))
        keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
        preparer = SimulationPreparer(keyring)
        events = []
        for delivery in Simulation(journeys, seed).deliveries():
            record = preparer.prepare(delivery.record).record
            events.append(decode(record.key, record.value, record.headers).event)
    return events


def _tick(events: Sequence[CxEvent]) -> list[CxEvent]:
    """One event per life experience a year after the last one: every window passes."""
    last = max(events, key=lambda e: e.occurred_at)
    out = []
    for n, le in enumerate(load_catalog().life_experiences):
        template = next(e for e in events if e.life_experience == le.id)
        data = template.model_dump()
        at = last.occurred_at + timedelta(days=365)
        data.update(
            event_id=UUID(int=n + 1, version=4),
            journey_token=journey_token_from_digest(hashlib.sha256(f"tick-{n}".encode()).digest()),
            occurred_at=at,
        )
        if "started_at" in data:
            data.update(started_at=at - timedelta(minutes=1), ended_at=at)
        out.append(type(template).model_validate(data))
    return out


def _risk(result: ReferenceResult) -> dict[str, Any]:
    finals = list(result.final.values())
    out: dict[str, Any] = {}
    for precision in TimePrecision:
        report = assess((fine_quasi_identifiers(s, precision) for s in finals), k=11)
        out[f"fine_{precision.value}"] = report.as_dict()
    protected = assess((protected_quasi_identifiers(r) for r in result.protected), k=11)
    out["protected"] = protected.as_dict()
    return out


def measure(events: Sequence[CxEvent], partitions: int) -> dict[str, Any]:
    """Risk and utility at the end of ``events`` and after every journey closed."""

    def partition_of(token: str) -> int:
        return int.from_bytes(hashlib.sha256(token.encode()).digest()[:4], "big") % partitions

    order = {le.id: le.agencies for le in load_catalog().life_experiences}
    out: dict[str, Any] = {}
    for label, stream in (("end_of_stream", list(events)), ("closed", [*events, *_tick(events)])):
        result = reference_run(stream, partition_of=partition_of)
        ticks = {e.journey_token for e in stream[len(events) :]}
        result.history = {j: h for j, h in result.history.items() if j[1] not in ticks}
        finals = list(result.final.values())
        out[label] = {
            "journeys": len(finals),
            "risk": _risk(result),
            "utility": {
                "fine": utility_of_fine(finals, order).as_dict(),
                "protected": utility_of_protected(result.protected, order).as_dict(),
                "precision": dict(Counter(r.precision.value for r in result.protected)),
            },
        }
    return out


@click.command()
@click.option("--journeys", type=int, default=5000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--partitions", type=int, default=6, show_default=True)
def main(journeys: int, seed: int, partitions: int) -> None:
    """Print the figures as JSON."""
    events = simulated_events(journeys, seed)
    figures = measure(events, partitions)
    click.echo(json.dumps({"journeys": journeys, "partitions": partitions, **figures}, indent=1))


if __name__ == "__main__":
    main()
