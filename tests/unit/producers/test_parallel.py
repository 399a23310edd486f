"""Preparation in worker processes: the same records as in this process, value-free errors.

Ed25519 signatures are deterministic, so a record prepared in a worker is byte-identical to
the one prepared here. What comes back from a worker for a refused record is the same
value-free error; an unexpected failure comes back as PreparationFailed naming its class
only, never the value it choked on.
"""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from itertools import islice
from pathlib import Path

import pytest

from broker.errors import SigningKeyMissing
from broker.keyring import Keyring
from contracts.envelope import Record
from contracts.errors import ContractViolation, FieldProblem
from producers import DeliveryResult, DeliveryStatus, PiiLeak, PreparedEvent, RawRecord
from producers.errors import PreparationFailed
from producers.parallel import LocalPreparer, ParallelPreparer, PreparerSpec
from producers.simulator.engine import Simulation
from producers.simulator.policy import policy_for
from producers.simulator.publish import (
    Deliver,
    SimulationPreparer,
    publish_deliveries,
    simulation_preparer,
)
from tests.support.keyrings import keyring_for
from tests.support.raw_records import T0, raw

# A marker no real field holds: it must never come back from a worker.
SECRET = "Zzyzx-Quillfeather"


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("parallel") / "keyring")


def _simulated(count: int) -> list[RawRecord]:
    return [d.record for d in islice(Simulation(count // 3 + 10, seed=3).deliveries(), count)]


def _born_on_the_event_day() -> RawRecord:
    # Publishing it would disclose the date of birth: the guard refuses it (PiiLeak).
    return raw(date_of_birth=T0.date(), started_at=T0 - timedelta(minutes=5))


def _broken() -> RawRecord:
    # Built without validation so that preparing it fails inside the worker with an error
    # whose message holds the value (KeyError: 'Zzyzx-...'): it must not travel back.
    return RawRecord.model_construct(**{**raw().__dict__, "kind": SECRET})


async def test_workers_prepare_exactly_what_this_process_prepares(keyring: Keyring) -> None:
    raws = _simulated(300)
    local = [SimulationPreparer(keyring).prepare(r) for r in raws]
    async with simulation_preparer(keyring, workers=2) as parallel:
        first = parallel.submit(raws[:150])
        second = parallel.submit(raws[150:])  # submitted before the first is awaited
        remote = await first + await second
    assert remote == local
    assert all(isinstance(p, PreparedEvent) for p in remote)


async def test_refusals_come_back_as_the_same_value_free_errors(keyring: Keyring) -> None:
    records = [raw(), _born_on_the_event_day(), _broken(), raw()]
    spec = PreparerSpec(keyring.path, agency="usda-fns", policy_for=policy_for)
    async with ParallelPreparer(spec, workers=1, chunk=3) as parallel:
        outcomes = await parallel.submit(records)
    assert isinstance(outcomes[0], PreparedEvent) and isinstance(outcomes[3], PreparedEvent)
    leak = outcomes[1]
    assert isinstance(leak, PiiLeak)
    assert (leak.field, leak.location, leak.pattern) == ("date_of_birth", "value", False)
    failed = outcomes[2]
    assert isinstance(failed, PreparationFailed)
    assert str(failed) == "KeyError while preparing a record"
    assert SECRET not in repr(outcomes) and SECRET not in str(failed)


async def test_the_local_preparer_returns_refusals_and_raises_the_rest() -> None:
    def prepare(record: RawRecord) -> PreparedEvent:
        if record.city == "Refused":
            raise PiiLeak("city", "value")
        if record.city == "Broken":
            raise KeyError(SECRET)
        return PreparedEvent(record.event_id, None)  # type: ignore[arg-type]

    local = LocalPreparer(prepare)
    outcomes = await local.submit([raw(), raw(city="Refused")])
    assert isinstance(outcomes[0], PreparedEvent)
    assert isinstance(outcomes[1], PiiLeak)
    with pytest.raises(KeyError):
        await local.submit([raw(city="Broken")])


async def test_another_agencys_record_is_refused_by_an_agency_preparer(keyring: Keyring) -> None:
    spec = PreparerSpec(keyring.path, agency="ssa", policy_for=policy_for)
    async with ParallelPreparer(spec, workers=1) as parallel:
        (outcome,) = await parallel.submit([raw()])  # a usda-fns record
    assert type(outcome).__name__ == "AgencyMismatch"


async def test_a_missing_signing_key_is_reported_before_any_worker_starts(tmp_path: Path) -> None:
    empty = Keyring(tmp_path / "keyring")
    empty.init([], [])
    with pytest.raises(SigningKeyMissing, match="ssa"):
        async with ParallelPreparer(PreparerSpec(empty.path, agency="ssa"), workers=1):
            pass


def _through_a_pipe(error: Exception) -> Exception:
    copy: Exception = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    return copy


def test_refusals_survive_the_pipe() -> None:
    leak = _through_a_pipe(PiiLeak("ssn", "header ce_id", pattern=True))
    assert isinstance(leak, PiiLeak)
    assert (leak.field, leak.location, leak.pattern) == ("ssn", "header ce_id", True)
    violation = _through_a_pipe(
        ContractViolation("bad", (FieldProblem("wait_seconds", "too_big", "too big"),))
    )
    assert isinstance(violation, ContractViolation)
    assert violation.problems[0].path == "wait_seconds" and str(violation) == "bad"


def test_bad_arguments_are_refused(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="worker"):
        ParallelPreparer(PreparerSpec(keyring.path), workers=0)
    with pytest.raises(ValueError, match="chunk"):
        ParallelPreparer(PreparerSpec(keyring.path), chunk=0)


async def test_simulated_publishing_with_workers_sends_the_same_records(keyring: Keyring) -> None:
    deliveries = list(islice(Simulation(40, seed=4).deliveries(), 150))
    sent: dict[str, dict[str, list[PreparedEvent]]] = {"here": {}, "workers": {}}

    def deliver_for(where: str) -> Callable[[str], Awaitable[Deliver]]:
        async def opened(agency: str) -> Deliver:
            async def deliver(events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
                sent[where].setdefault(agency, []).extend(events)
                return [DeliveryResult(e.event_id, DeliveryStatus.SENT, agency) for e in events]

            return deliver

        return opened

    here = await publish_deliveries(
        deliveries, SimulationPreparer(keyring).prepare, deliver_for("here"), batch=32
    )
    async with simulation_preparer(keyring, workers=1) as parallel:
        there = await publish_deliveries(deliveries, parallel, deliver_for("workers"), batch=32)
    assert here.sent == there.sent and here.total_sent == len(deliveries)
    assert sent["workers"] == sent["here"]


def test_a_prepared_event_survives_the_pipe_unchanged() -> None:
    """Workers return PreparedEvent by pickle through its compact __reduce__."""
    from uuid import uuid4

    event = PreparedEvent(
        uuid4(), Record(b"key", b'{"a":1}', (("ce_id", b"x"), ("content-type", b"json")))
    )
    copy = pickle.loads(pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert copy == event
    assert type(copy.event_id) is type(event.event_id)
    assert copy.record.header("ce_id") == b"x"
