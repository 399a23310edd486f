"""Publishing a simulation through the agency publishers real agencies use.

Each record is prepared (de-identified, validated, PII-guarded, signed) by an
:class:`~producers.publisher.EventPreparer` made with the token rule of its life experience
(:func:`~producers.simulator.policy.policy_for`): one agency can take part in two life
experiences with different rules (SSA links newborn journeys by name, retirement claims by
SSN), which a single per-publisher policy cannot express. The prepared events are then sent
by the agency's :class:`~producers.publisher.AgencyPublisher` (``deliver``), outage spool
included, in delivery order per agency.

:func:`publish_deliveries` takes the preparer and the delivery functions as arguments, so it
runs without Kafka in tests and in ``--dry-run``; ``--rate`` pacing uses an injectable clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from broker.keyring import Keyring
from contracts.errors import ContractViolation
from producers.deid.raw import RawRecord
from producers.errors import DeidentificationError, PiiLeak
from producers.parallel import BatchPreparer, LocalPreparer, ParallelPreparer, PreparerSpec
from producers.pipeline import DeliveryPipeline
from producers.publisher import DeliveryResult, DeliveryStatus, EventPreparer, PreparedEvent
from producers.simulator.engine import Delivery
from producers.simulator.policy import policy_for

__all__ = [
    "DEFAULT_BATCH",
    "Deliver",
    "PublishTally",
    "SimulationPreparer",
    "chunk_size",
    "publish_deliveries",
    "simulation_preparer",
]

#: Events prepared and sent together when no rate is set.
DEFAULT_BATCH: Final = 500

#: Refusals counted per error class (anything else stops the publishing).
_COUNTED: Final = (DeidentificationError, ContractViolation, PiiLeak)

#: Sends prepared events of one agency, in order (``AgencyPublisher.deliver``).
Deliver = Callable[[Sequence[PreparedEvent]], Awaitable[list[DeliveryResult]]]


class SimulationPreparer:
    """Prepares raw records with the right policy per (agency, life experience).

    One :class:`EventPreparer` per pair, made on first use from ``keyring``; raises
    :class:`~broker.keyring.SigningKeyMissing` / ``LinkageKeyMissing`` when keys are missing.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._preparers: dict[tuple[str, str], EventPreparer] = {}

    def __repr__(self) -> str:
        return f"SimulationPreparer({len(self._preparers)} preparers)"

    def prepare(self, raw: RawRecord) -> PreparedEvent:
        """The signed, de-identified record of ``raw``."""
        pair = (raw.agency, raw.life_experience)
        preparer = self._preparers.get(pair)
        if preparer is None:
            preparer = EventPreparer(raw.agency, self._keyring, policy_for(*pair))
            self._preparers[pair] = preparer
        return preparer.prepare(raw)


def simulation_preparer(keyring: Keyring, workers: int = 0) -> LocalPreparer | ParallelPreparer:
    """A batch preparer for simulated records (use it with ``async with``): in this process
    (``workers=0``, a :class:`SimulationPreparer`) or in ``workers`` worker processes that
    load ``keyring``'s directory and apply the same per-life-experience policies."""
    if workers < 1:
        return LocalPreparer(SimulationPreparer(keyring).prepare)
    return ParallelPreparer(PreparerSpec(keyring.path, policy_for=policy_for), workers=workers)


@dataclass
class PublishTally:
    """What happened to the deliveries (counts only; failures by error class, no values)."""

    prepared: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    spooled: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    @property
    def total_sent(self) -> int:
        """Events acknowledged by Kafka."""
        return sum(self.sent.values())

    @property
    def total_spooled(self) -> int:
        """Events waiting in outage spools."""
        return sum(self.spooled.values())

    @property
    def total_failed(self) -> int:
        """Records that could not be prepared."""
        return sum(self.failed.values())


def chunk_size(rate: float | None, batch: int = DEFAULT_BATCH) -> int:
    """Events per send round: ``batch``, or about a tenth of a second's worth when paced."""
    if rate is None:
        return batch
    return max(1, min(batch, int(rate / 10)))


async def publish_deliveries(
    deliveries: Iterable[Delivery],
    prepare: Callable[[RawRecord], PreparedEvent] | BatchPreparer,
    deliver_for: Callable[[str], Awaitable[Deliver]] | None,
    *,
    rate: float | None = None,
    batch: int = DEFAULT_BATCH,
    on_round: Callable[[PublishTally], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PublishTally:
    """Prepare and send every delivery; ``deliver_for=None`` prepares only (dry run).

    ``prepare`` is a per-record function (run in this process) or a
    :class:`~producers.parallel.BatchPreparer` (e.g. worker processes). A round is sent
    while the next one is prepared; rounds are sent one after another, so each agency's
    order is kept. ``deliver_for(agency)`` returns that agency's send function (opening its
    publisher on first use). With ``rate`` (events per second) rounds are paced so that the
    n-th event is not sent before ``n / rate`` seconds. A record that cannot be prepared
    (PII guard, contract, token input) is counted under its error class and skipped.
    """
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    preparer: BatchPreparer = LocalPreparer(prepare) if callable(prepare) else prepare
    tally = PublishTally()
    size = chunk_size(rate, batch)
    began = clock()
    handled = 0

    def round_done(sent: list[tuple[str, list[DeliveryResult]]]) -> None:
        for agency, delivered in sent:
            for result in delivered:
                target = tally.sent if result.status is DeliveryStatus.SENT else tally.spooled
                target[agency] += 1
        if on_round is not None:
            on_round(tally)

    async def deliver_round(
        by_agency: dict[str, list[PreparedEvent]],
    ) -> list[tuple[str, list[DeliveryResult]]]:
        assert deliver_for is not None
        # Agencies send side by side (each keeps its own order); awaiting them one after
        # another made a round cost one broker round trip per agency.
        senders = [(agency, await deliver_for(agency)) for agency in by_agency]
        results = await asyncio.gather(*(send(by_agency[agency]) for agency, send in senders))
        return [(agency, list(r)) for (agency, _), r in zip(senders, results, strict=True)]

    async def send_round(
        pending: list[Delivery], pipeline: DeliveryPipeline[list[tuple[str, list[DeliveryResult]]]]
    ) -> None:
        nonlocal handled
        by_agency: dict[str, list[PreparedEvent]] = {}
        outcomes = await preparer.submit([delivery.record for delivery in pending])
        for delivery, outcome in zip(pending, outcomes, strict=True):
            if not isinstance(outcome, PreparedEvent):
                if not isinstance(outcome, _COUNTED):
                    raise outcome
                tally.failed[type(outcome).__name__] += 1
                continue
            tally.prepared += 1
            by_agency.setdefault(delivery.record.agency, []).append(outcome)
        handled += len(pending)
        if deliver_for is not None:
            await pipeline.submit(deliver_round(by_agency))
        elif on_round is not None:
            on_round(tally)
        if rate is not None:
            ahead = handled / rate - (clock() - began)
            if ahead > 0:
                await sleep(ahead)

    async with DeliveryPipeline(round_done) as pipeline:
        pending: list[Delivery] = []
        for delivery in deliveries:
            pending.append(delivery)
            if len(pending) >= size:
                await send_round(pending, pipeline)
                pending = []
        if pending:
            await send_round(pending, pipeline)
    return tally
