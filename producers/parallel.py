"""Batch preparation of raw records, in this process or in worker processes.

Preparing a record (de-identify, validate, guard, sign) costs more CPU than sending it.
A bulk publisher (file ingestion, the simulator, the benchmark) hands whole batches to a
:class:`BatchPreparer` and gets, per record and in order, either the
:class:`~producers.publisher.PreparedEvent` or the value-free error that refused it:

* :class:`LocalPreparer` prepares in this process, giving the event loop a turn every few
  records so that the previous batch's delivery progresses meanwhile;
* :class:`ParallelPreparer` prepares in worker processes (``spawn``: nothing is inherited
  but the arguments), so preparation runs on other cores beside the sending. Each worker
  builds its own preparers from the keyring *directory* (keys never cross the pipe); raw
  records go to it over a local pipe and only prepared records and value-free errors come
  back. A worker never lets an exception escape: an error that is not a :data:`Refusal`
  (a :class:`~broker.errors.CxError` or :class:`~contracts.errors.ContractError`, whose
  messages name fields, never values) comes back as :class:`PreparationFailed` naming only
  its class.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol
from uuid import UUID

from broker.errors import CxError
from broker.keyring import Keyring
from contracts.envelope import Record
from contracts.errors import ContractError
from producers.deid import DeidPolicy, RawRecord
from producers.errors import PreparationFailed
from producers.pipeline import YIELD_EVERY
from producers.publisher import EventPreparer, PreparedEvent

__all__ = [
    "BatchPreparer",
    "LocalPreparer",
    "Outcome",
    "ParallelPreparer",
    "PreparerSpec",
    "Refusal",
    "default_workers",
]

#: The errors that refuse a record: their messages name fields and rules, never values.
Refusal = CxError | ContractError
#: Per raw record, in order: the prepared event or the error that refused it.
Outcome = PreparedEvent | Refusal
_REFUSALS: Final = (CxError, ContractError)

#: Records per task sent to a worker: large enough to amortize the pipe, small enough to
#: spread a batch over several workers.
CHUNK: Final = 100


class BatchPreparer(Protocol):
    """Prepares batches of raw records; see the module documentation."""

    def submit(self, raws: Sequence[RawRecord]) -> Awaitable[list[Outcome]]:
        """Start preparing ``raws``; the awaitable gives one outcome per record, in order."""
        ...


def default_workers() -> int:
    """Worker processes a bulk publisher uses by default: one per core beyond the first
    (the first sends), none on a single core."""
    return max(0, (os.cpu_count() or 1) - 1)


class LocalPreparer:
    """A :class:`BatchPreparer` over a per-record ``prepare`` function, in this process.

    A :data:`Refusal` from ``prepare`` becomes the record's outcome; other errors
    propagate (as they would from a plain loop).
    """

    def __init__(self, prepare: Callable[[RawRecord], PreparedEvent]) -> None:
        self._prepare = prepare

    def __repr__(self) -> str:
        return "LocalPreparer()"

    async def __aenter__(self) -> LocalPreparer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def submit(self, raws: Sequence[RawRecord]) -> Awaitable[list[Outcome]]:
        """Prepare ``raws`` when awaited, yielding to the event loop every few records."""
        return self._prepare_all(raws)

    async def _prepare_all(self, raws: Sequence[RawRecord]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        prepare = self._prepare
        for count, raw in enumerate(raws, 1):
            try:
                outcomes.append(prepare(raw))
            except _REFUSALS as exc:
                outcomes.append(exc)
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return outcomes


@dataclass(frozen=True, slots=True)
class PreparerSpec:
    """What a worker needs to build its preparers (picklable; holds no key material).

    ``agency`` limits the records to one agency (others are refused with
    :class:`~producers.publisher.AgencyMismatch`, as by :class:`EventPreparer`); None
    accepts every agency. The policy of a record is ``policy_for(agency, life experience)``
    when given (a module-level function, e.g. the simulator's), else ``policy``.
    """

    keyring_dir: Path
    agency: str | None = None
    policy: DeidPolicy | None = None
    policy_for: Callable[[str, str], DeidPolicy] | None = None

    def preparer(self, keyring: Keyring, agency: str, life_experience: str) -> EventPreparer:
        """The preparer of one (agency, life experience) pair."""
        policy = self.policy_for(agency, life_experience) if self.policy_for else self.policy
        return EventPreparer(self.agency or agency, keyring, policy)


class _WorkerPreparer:
    """The preparers of one worker process, made on first use per (agency, life experience)."""

    def __init__(self, spec: PreparerSpec) -> None:
        self._spec = spec
        self._keyring = Keyring(spec.keyring_dir)
        self._preparers: dict[tuple[str, str], EventPreparer] = {}

    def prepare(self, raw: RawRecord) -> PreparedEvent:
        pair = (raw.agency, raw.life_experience)
        preparer = self._preparers.get(pair)
        if preparer is None:
            preparer = self._spec.preparer(self._keyring, *pair)
            self._preparers[pair] = preparer
        return preparer.prepare(raw)


# The worker's preparers: ProcessPoolExecutor runs module-level functions, so the state the
# initializer builds lives here, in the worker process only (the parent never sets it).
_worker: dict[str, _WorkerPreparer] = {}

#: A prepared record as it crosses the pipe: event id bytes, key, value, headers.
_Headers = tuple[tuple[str, bytes], ...]
# event id, key, value, headers, and the overlap copies (key, value, headers) of a rotation.
_Wire = tuple[bytes, bytes, bytes, _Headers, tuple[tuple[bytes, bytes, _Headers], ...]]


def _start_worker(spec: PreparerSpec) -> None:
    _worker["preparer"] = _WorkerPreparer(spec)


def _ready() -> bool:
    return "preparer" in _worker


def _value_free(exc: Exception) -> Refusal:
    """``exc`` if it is a refusal that survives pickling, else a PreparationFailed."""
    if isinstance(exc, _REFUSALS):
        try:
            # Our own object, checked before the pipe pickles it (not untrusted data).
            pickle.loads(pickle.dumps(exc))  # noqa: S301
        except Exception:  # any pickling problem: send the class name only
            return PreparationFailed(f"{type(exc).__name__} while preparing a record")
        return exc
    return PreparationFailed(f"{type(exc).__name__} while preparing a record")


def _prepare_chunk(raws: list[RawRecord]) -> list[_Wire | Refusal]:
    """Run in a worker: prepare every record; errors become value-free outcomes."""
    out: list[_Wire | Refusal] = []
    try:
        preparer = _worker["preparer"]
    except KeyError:
        return [PreparationFailed("the worker has no preparer")] * len(raws)
    for raw in raws:
        try:
            prepared = preparer.prepare(raw)
        except Exception as exc:  # nothing but value-free errors may leave the worker
            out.append(_value_free(exc))
            continue
        record = prepared.record
        extra = tuple((r.key, r.value, r.headers) for r in prepared.extra)
        out.append((prepared.event_id.bytes, record.key, record.value, record.headers, extra))
    return out


def _outcomes(chunks: list[list[_Wire | Refusal]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for chunk in chunks:
        for item in chunk:
            if isinstance(item, _REFUSALS):
                outcomes.append(item)
            else:
                event_id, key, value, headers, extra = item
                outcomes.append(
                    PreparedEvent(
                        UUID(bytes=event_id),
                        Record(key, value, headers),
                        tuple(Record(*copy) for copy in extra),
                    )
                )
    return outcomes


class ParallelPreparer:
    """A :class:`BatchPreparer` running :class:`EventPreparer`\\ s in worker processes.

    ``async with ParallelPreparer(spec, workers=2) as preparer:`` starts the workers and
    waits until each has loaded the keyring; ``await preparer.submit(raws)`` then prepares
    a batch spread over them. Submit the next batch before awaiting the previous one to
    keep the workers busy while this process sends.
    """

    def __init__(self, spec: PreparerSpec, *, workers: int = 1, chunk: int = CHUNK) -> None:
        if workers < 1:
            raise ValueError("a ParallelPreparer needs at least one worker")
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        self.spec = spec
        self.workers = workers
        self._chunk = chunk
        self._pool: ProcessPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"ParallelPreparer(workers={self.workers}, agency={self.spec.agency!r})"

    async def __aenter__(self) -> ParallelPreparer:
        # The parent checks the keyring first: a missing key is one clear error, here.
        if self.spec.agency is not None:
            Keyring(self.spec.keyring_dir).signer(self.spec.agency)
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.spec,),
        )
        loop = asyncio.get_running_loop()
        try:
            ready = await asyncio.gather(
                *(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers))
            )
            if not all(ready):
                raise PreparationFailed("a preparation worker did not start")
        except BrokenProcessPool:
            await self._shutdown()
            raise PreparationFailed("a preparation worker process did not start") from None
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def submit(self, raws: Sequence[RawRecord]) -> Awaitable[list[Outcome]]:
        """Send ``raws`` to the workers now; the awaitable gives their outcomes in order."""
        if self._pool is None:
            raise CxError("the ParallelPreparer is not started; use `async with`")
        loop = asyncio.get_running_loop()
        size = self._chunk
        futures = [
            loop.run_in_executor(self._pool, _prepare_chunk, list(raws[i : i + size]))
            for i in range(0, len(raws), size)
        ]
        return _gathered(futures)


async def _gathered(futures: list[asyncio.Future[list[_Wire | Refusal]]]) -> list[Outcome]:
    try:
        return _outcomes(await asyncio.gather(*futures))
    except BrokenProcessPool:
        raise PreparationFailed("a preparation worker process stopped") from None
