"""CPU cost per event of each step of the publisher's and the joiner's hot paths, without
Kafka: ``python -m bench.costs [--events N]`` prints microseconds per event per step (the
``snapshot:`` steps, the joiner's CloudEvents headers and signature, per snapshot).

The same simulated records as the publish section; each step is timed over all events
in CPU time (``time.process_time``: other work on the host inflates it less than wall
time, though caches and frequency still vary), once, in order: the guard's per-person
caches are cold for ``PiiGuard.__init__`` and warm for ``EventPreparer.prepare``. Every
step runs with what is alive before each chunk of events frozen out of the garbage
collector (see ``_per_event``), so the figures are the steps' own costs: lower bounds of
what a long-running process pays, whose collector also walks its long-lived state. The
joiner steps run on the records the publisher steps made, with an in-memory store.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.workload import simulated_raws
from broker.keyring import Keyring
from consumers.joiner.provenance import SnapshotSigner
from consumers.joiner.validate import check_record
from consumers.journey.processor import Change, JourneyProcessor
from consumers.journey.rules import load_rules
from consumers.journey.state import from_micros
from consumers.state.memory import MemoryStore
from contracts.catalog import load_catalog
from contracts.envelope import Record, decode, encode_unsigned
from contracts.joined import JourneySnapshot
from contracts.provenance import record_headers, snapshot_id
from contracts.registry import load_registry
from contracts.signing import signing_bytes, signing_input
from producers.deid import PiiGuard, deidentify, guard_record
from producers.publisher import EventPreparer
from producers.simulator.policy import policy_for

__all__ = ["joiner_costs", "main", "publisher_costs", "snapshot_changes", "snapshot_signing_costs"]

T = TypeVar("T")


#: Events per timed chunk: what the harness keeps between chunks is frozen out of the
#: garbage collector (see _per_event).
_CHUNK: Final = 1000


def _per_event(
    name: str, items: Sequence[Any], step: Callable[[Any], T], out: dict[str, float]
) -> list[T]:
    """Time ``step`` over ``items`` in CPU time, in chunks of :data:`_CHUNK` events.

    The harness keeps every input and result (hundreds of thousands of objects) alive, which
    a publisher or joiner never does: unfrozen, the collector's full passes walk them ever
    more often and the step looks up to twice as expensive (decode: 43 instead of 23 µs).
    So everything alive is frozen before each chunk (untimed); the step's own garbage is
    still collected while it runs.
    """
    results: list[T] = []
    spent = 0.0
    try:
        for start in range(0, len(items), _CHUNK):
            gc.collect()
            gc.freeze()
            began = time.process_time()
            results += [step(item) for item in items[start : start + _CHUNK]]
            spent += time.process_time() - began
    finally:
        gc.unfreeze()
    out[name] = round(spent / max(1, len(items)) * 1e6, 1)
    return results


def publisher_costs(keyring: Keyring, events: int, seed: int) -> tuple[dict[str, float], list[Any]]:
    """µs per event of EventPreparer.prepare's steps; also returns the signed records."""

    raws = simulated_raws(events, seed)
    linkage = keyring.linkage_keys()
    signers = {a.id: keyring.signer(a.id) for a in load_catalog().agencies}
    preparers: dict[tuple[str, str], EventPreparer] = {}
    for raw in raws:
        pair = (raw.agency, raw.life_experience)
        if pair not in preparers:
            preparers[pair] = EventPreparer(raw.agency, keyring, policy_for(*pair))
    out: dict[str, float] = {}
    return out, _publisher_steps(raws, linkage, signers, preparers, out)


def _publisher_steps(
    raws: Sequence[Any],
    linkage: Any,
    signers: dict[str, Any],
    preparers: dict[tuple[str, str], Any],
    out: dict[str, float],
) -> list[Any]:

    evs = _per_event(
        "deidentify",
        raws,
        lambda r: deidentify(r, linkage, policy_for(r.agency, r.life_experience)),
        out,
    )
    records = _per_event("encode_unsigned", evs, encode_unsigned, out)
    guards = _per_event("PiiGuard.__init__", raws, PiiGuard, out)
    _per_event(
        "guard_record (check)",
        list(zip(records, raws, evs, guards, strict=True)),
        lambda t: guard_record(*t),
        out,
    )
    signed = _per_event(
        "Signer.sign (incl. signing_input)",
        list(zip(records, evs, strict=True)),
        lambda t: signers[t[1].agency].sign(t[0]),
        out,
    )
    # The primitives alone, on the same inputs: what no implementation of the steps avoids.
    key = Ed25519PrivateKey.generate()
    inputs = [signing_input(r) for r in signed]
    _per_event("  primitive: Ed25519 sign", inputs, key.sign, out)
    secret = bytes(32)
    _per_event(
        "  primitive: HMAC-SHA256 (one token)",
        inputs,
        lambda m: hmac.new(secret, m[:64], hashlib.sha256).digest(),
        out,
    )
    _per_event(
        "EventPreparer.prepare (all)",
        raws,
        lambda r: preparers[(r.agency, r.life_experience)].prepare(r),
        out,
    )
    return signed


def joiner_costs(keyring: Keyring, records: Sequence[Record]) -> dict[str, float]:
    """µs per event of the joiner's per-record steps (verification, decoding, folding)."""

    verifier = keyring.public_keyring()
    registry = load_registry()
    out: dict[str, float] = {}
    _per_event("signing_input", records, signing_input, out)
    decoded = _per_event(
        "decode (contract validation)",
        records,
        lambda r: decode(r.key, r.value, r.headers, registry=registry),
        out,
    )
    inputs = [(signing_input(d.record), d) for d in decoded]
    _per_event(
        "Ed25519 verify (verify_bytes)",
        inputs,
        lambda t: verifier.verify_bytes(
            t[1].key_id, t[0], t[1].signature, agency=t[1].event.agency
        ),
        out,
    )
    _per_event(
        "check_record (all of the above)",
        list(zip(records, decoded, strict=True)),
        lambda t: check_record(
            t[1].event.agency, t[0].key, t[0].value, list(t[0].headers), verifier, registry
        ),
        out,
    )
    rules = load_rules()
    store = MemoryStore()
    processor = JourneyProcessor(store, rules)
    store.begin()
    # Includes building the snapshot record's bytes (JourneyState.snapshot_json).
    steps = _per_event(
        "JourneyProcessor.process", decoded, lambda d: processor.process(d.event), out
    )
    changes = [change for step in steps for change in step.changes]
    signer = keyring.deployment_signer("joiner")  # the local ceremony made it
    # Per snapshot (not per event): its CloudEvents headers and signature.
    out.update(snapshot_signing_costs(changes, SnapshotSigner(signer)))
    out["snapshots per event"] = round(len(changes) / max(1, len(decoded)), 2)
    return out


def snapshot_changes(keyring: Keyring, records: Sequence[Record]) -> list[Change]:
    """The snapshots (as the joiner's changes) that folding ``records`` makes; releases to
    the default tier alone (no new 1.0.0 snapshot) are left out: their records are signed
    apart and are far fewer."""
    registry = load_registry()
    processor = JourneyProcessor(MemoryStore(), load_rules())
    processor.store.begin()
    changes: list[Change] = []
    for record in records:
        event = decode(record.key, record.value, record.headers, registry=registry).event
        changes += processor.process(event).changes
    return [c for c in changes if c.snapshot_json is not None]


def snapshot_signing_costs(changes: Sequence[Change], signer: SnapshotSigner) -> dict[str, float]:
    """µs per snapshot of the joiner's provenance: CloudEvents headers and Ed25519 signature
    (what #18 added to every snapshot record), and its parts."""
    out: dict[str, float] = {}
    _per_event(
        "snapshot: SnapshotSigner.headers (all)",
        changes,
        lambda c: signer.headers(c, c.journey_token.encode("ascii")),
        out,
    )
    unsigned = _per_event(
        "snapshot:   CloudEvents headers (ce_id UUIDv5, ce_time)",
        changes,
        lambda c: record_headers(
            JourneySnapshot,
            ce_id=snapshot_id(c.life_experience, c.journey_token, c.version),
            source=signer.owner,
            time=from_micros(c.last_us),
            life_experience=c.life_experience,
        ),
        out,
    )
    inputs = [
        signing_bytes(
            c.journey_token.encode(),
            c.snapshot_json or b"",
            [*h, ("ce_cxkeyid", b"joiner-bench-sig")],
        )
        for c, h in zip(changes, unsigned, strict=True)
    ]
    key = Ed25519PrivateKey.generate()
    _per_event("snapshot:   primitive: Ed25519 sign", inputs, key.sign, out)
    return out


@click.command()
@click.option("--events", type=int, default=5000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def main(events: int, seed: int) -> None:
    """Print µs per event of each hot-path step as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        catalog = load_catalog()
        keyring = Keyring(Path(tmp) / "keyring")
        keyring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
        publisher, signed = publisher_costs(keyring, events, seed)
        joiner = joiner_costs(keyring, signed)
    print(json.dumps({"events": events, "publisher_us": publisher, "joiner_us": joiner}, indent=2))


if __name__ == "__main__":
    main()
