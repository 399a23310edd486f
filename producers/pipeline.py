"""Overlap preparing records (CPU) with delivering the previous batch (network, broker).

A bulk publisher that prepares a batch, then awaits its acknowledgements, then prepares
the next one leaves the CPU idle while the broker works and the broker idle while the CPU
works. :class:`DeliveryPipeline` keeps one delivery in flight while the caller prepares
the next batch, and :func:`cooperatively` gives the event loop a turn every few records
so that the in-flight delivery (aiokafka's sender, the acknowledgements) progresses during
the preparation instead of after it.

Deliveries still run one after another, in submission order: a publisher's per-key order
and its outage-spool handling (:meth:`~producers.publisher.AgencyPublisher.deliver`) are
unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from types import TracebackType
from typing import Final, Generic, TypeVar

__all__ = ["YIELD_EVERY", "DeliveryPipeline", "cooperatively"]

T = TypeVar("T")
R = TypeVar("R")

#: Records prepared between two turns of the event loop (about 5 ms of preparation).
YIELD_EVERY: Final = 50


async def cooperatively(items: Iterable[T], every: int = YIELD_EVERY) -> AsyncIterator[T]:
    """``items`` in order, letting other tasks run after every ``every`` of them."""
    if every < 1:
        raise ValueError("every must be at least 1")
    count = 0
    for item in items:
        yield item
        count += 1
        if count == every:
            count = 0
            await asyncio.sleep(0)


class DeliveryPipeline(Generic[R]):
    """At most one delivery in flight; each result goes to ``on_done`` when it arrives.

    ``async with DeliveryPipeline(on_done) as pipeline:`` then ``await
    pipeline.submit(deliver(batch))`` for each batch: it waits for the previous delivery
    (handing its result to ``on_done``, or raising its error) and starts this one, which
    runs while the caller prepares the next batch. Leaving the block normally waits for the
    last delivery. Leaving it with an error lets the in-flight delivery finish (its records
    are then sent or spooled, as without the pipeline) and raises the caller's error; a
    cancellation cancels the in-flight delivery too.
    """

    def __init__(self, on_done: Callable[[R], object] | None = None) -> None:
        self._on_done = on_done
        self._in_flight: asyncio.Task[R] | None = None

    def __repr__(self) -> str:
        return f"DeliveryPipeline(in_flight={self._in_flight is not None})"

    @property
    def in_flight(self) -> bool:
        """True while a submitted delivery has not been waited for."""
        return self._in_flight is not None

    async def submit(self, delivery: Awaitable[R]) -> None:
        """Wait for the delivery in flight, then start ``delivery`` in the background."""
        try:
            await self.wait()
        except BaseException:
            if isinstance(delivery, Coroutine):
                delivery.close()  # never started: no "coroutine was never awaited" warning
            raise
        self._in_flight = asyncio.ensure_future(delivery)

    async def wait(self) -> None:
        """Wait for the delivery in flight (if any) and hand its result to ``on_done``."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            result = await task
            if self._on_done is not None:
                self._on_done(result)

    async def __aenter__(self) -> DeliveryPipeline[R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.wait()
            return
        task, self._in_flight = self._in_flight, None
        if task is None:
            return
        if isinstance(exc, asyncio.CancelledError):
            task.cancel()
        # The caller's error is the one raised; the delivery's outcome is only collected.
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()
