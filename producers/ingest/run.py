"""One ingestion run: rows parsed, prepared, rejected or delivered in batches, and counted.

A few batches are held at a time whatever the file size: the good rows of one batch are
delivered while the next is read and prepared.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from broker.errors import LinkageKeyMissing
from contracts.errors import ContractViolation
from producers.deid import RawRecord
from producers.errors import DeidentificationError, PiiLeak
from producers.ingest.rejects import Reject, RejectsWriter, reject_for
from producers.ingest.rows import Row, parse_row
from producers.parallel import BatchPreparer, LocalPreparer, Outcome
from producers.pipeline import DeliveryPipeline, cooperatively
from producers.publisher import DeliveryResult, DeliveryStatus, EventPreparer, PreparedEvent

__all__ = ["Deliver", "IngestSummary", "ingest"]


@dataclass(slots=True)
class IngestSummary:
    """Counts of one ingestion run."""

    rows: int = 0
    published: int = 0
    spooled: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        """Rows turned into events (sent or spooled)."""
        return self.published + self.spooled


Deliver = Callable[[Sequence[PreparedEvent]], Awaitable[Sequence[DeliveryResult]]]

#: Refusals that reject a row (anything else aborts the ingestion).
_REJECTED: Final = (ContractViolation, DeidentificationError, PiiLeak, LinkageKeyMissing)


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: One batch's rows, each parsed into its line and raw record or reject.
_Parsed = list[tuple[int, RawRecord | Reject]]


async def ingest(
    rows: Iterable[Row],
    preparer: EventPreparer | BatchPreparer,
    deliver: Deliver | None,
    rejects: RejectsWriter,
    *,
    batch_size: int = 500,
    on_batch: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Prepare every row, reject the bad ones and deliver the good ones in batches.

    ``deliver`` (e.g. :meth:`AgencyPublisher.deliver`) returns one result per event with a
    ``status`` of ``"sent"`` or ``"spooled"``; None prepares without publishing (dry run:
    good rows count as published). Rows are taken ``batch_size`` at a time; the good ones of
    a batch are delivered together while the next batch is read and prepared (in this
    process with an :class:`EventPreparer`, or in worker processes with a
    :class:`~producers.parallel.ParallelPreparer`, which then also prepares one batch ahead
    while this process parses the next). A few batches are held at a time, whatever the file
    size.
    """
    run = _Run(deliver, rejects, on_batch)
    batches: BatchPreparer = (
        LocalPreparer(preparer.prepare) if isinstance(preparer, EventPreparer) else preparer
    )
    # A worker pool prepares in the background: keep one batch queued for it.
    ahead_limit = 0 if isinstance(batches, LocalPreparer) else 1
    pending: deque[tuple[_Parsed, Awaitable[list[Outcome]]]] = deque()
    async with DeliveryPipeline(run.delivered) as pipeline:
        try:
            for chunk in _chunks(rows, batch_size):
                parsed = await _parse(chunk)
                raws = [item for _, item in parsed if isinstance(item, RawRecord)]
                pending.append((parsed, batches.submit(raws)))
                while len(pending) > ahead_limit:
                    await run.finish(*pending.popleft(), pipeline)
            while pending:
                await run.finish(*pending.popleft(), pipeline)
        finally:
            for _, outcomes in pending:  # an error left batches unprepared: close them
                if asyncio.iscoroutine(outcomes):
                    outcomes.close()
    return run.summary


async def _parse(chunk: list[Row]) -> _Parsed:
    """Each row's line and raw record or reject, letting other tasks run now and then."""
    parsed: _Parsed = []
    async for row in cooperatively(chunk):
        parsed.append((row.line, parse_row(row)))
    return parsed


class _Run:
    """One run's counts, and where its rejects and its finished batches go."""

    def __init__(
        self,
        deliver: Deliver | None,
        rejects: RejectsWriter,
        on_batch: Callable[[IngestSummary], None] | None,
    ) -> None:
        self.summary = IngestSummary()
        self._deliver = deliver
        self._rejects = rejects
        self._on_batch = on_batch

    def reject(self, item: Reject) -> None:
        """Write one reject and count it."""
        self._rejects.write(item)
        self.summary.rejected += 1
        self.summary.reasons[item.reason.value] += 1

    def delivered(self, results: Sequence[DeliveryResult]) -> None:
        """Count one delivered batch (the pipeline calls this as each delivery ends)."""
        for result in results:
            if result.status is DeliveryStatus.SPOOLED:
                self.summary.spooled += 1
            else:
                self.summary.published += 1
        if self._on_batch is not None:
            self._on_batch(self.summary)

    async def finish(
        self,
        parsed: _Parsed,
        outcomes: Awaitable[list[Outcome]],
        pipeline: DeliveryPipeline[Sequence[DeliveryResult]],
    ) -> None:
        """Reject what failed in one batch, and start delivering the rest."""
        prepared = iter(await outcomes)
        batch: list[PreparedEvent] = []
        for line, item in parsed:
            self.summary.rows += 1
            if isinstance(item, RawRecord):
                outcome = next(prepared)
                if isinstance(outcome, PreparedEvent):
                    batch.append(outcome)
                    continue
                if not isinstance(outcome, _REJECTED):
                    raise outcome
                item = reject_for(line, outcome)
            self.reject(item)
        deliver = self._deliver
        if deliver is None or not batch:
            self.summary.published += len(batch) if deliver is None else 0
            if self._on_batch is not None:
                self._on_batch(self.summary)
        else:
            await pipeline.submit(deliver(batch))
