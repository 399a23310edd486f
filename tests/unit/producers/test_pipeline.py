"""DeliveryPipeline and cooperatively: one delivery in flight, in order, errors not lost."""

from __future__ import annotations

import asyncio

import pytest

from producers.pipeline import DeliveryPipeline, cooperatively


async def test_deliveries_run_one_at_a_time_in_order_while_the_caller_works() -> None:
    log: list[str] = []
    results: list[int] = []
    release = {n: asyncio.Event() for n in range(3)}

    async def deliver(n: int) -> int:
        log.append(f"start {n}")
        await release[n].wait()
        log.append(f"end {n}")
        return n

    async with DeliveryPipeline(results.append) as pipeline:
        await pipeline.submit(deliver(0))
        await asyncio.sleep(0)
        # Delivery 0 runs while "the caller prepares" the next batch.
        assert log == ["start 0"] and pipeline.in_flight
        log.append("prepared 1")
        release[0].set()
        await pipeline.submit(deliver(1))  # waits for 0 first
        release[1].set()
        release[2].set()
        await pipeline.submit(deliver(2))
    assert results == [0, 1, 2]
    assert log == ["start 0", "prepared 1", "end 0", "start 1", "end 1", "start 2", "end 2"]
    assert not pipeline.in_flight


async def test_a_failed_delivery_is_raised_at_the_next_submit_and_stops_the_rest() -> None:
    started: list[int] = []

    async def deliver(n: int) -> int:
        started.append(n)
        if n == 0:
            raise RuntimeError("broker said no")
        return n

    with pytest.raises(RuntimeError, match="broker said no"):
        async with DeliveryPipeline[int]() as pipeline:
            await pipeline.submit(deliver(0))
            await pipeline.submit(deliver(1))
    assert started == [0]  # delivery 1 was never started


async def test_a_callers_error_wins_and_the_delivery_in_flight_still_finishes() -> None:
    finished: list[int] = []

    async def deliver(n: int) -> int:
        await asyncio.sleep(0.01)
        finished.append(n)
        return n

    with pytest.raises(ValueError, match="bad row"):
        async with DeliveryPipeline[int]() as pipeline:
            await pipeline.submit(deliver(7))
            raise ValueError("bad row")
    assert finished == [7]


async def test_cancelling_the_caller_cancels_the_delivery_in_flight() -> None:
    entered = asyncio.Event()
    cancelled: list[bool] = []

    async def deliver() -> int:
        entered.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return 0

    async def caller() -> None:
        async with DeliveryPipeline[int]() as pipeline:
            await pipeline.submit(deliver())
            await asyncio.sleep(60)

    task = asyncio.create_task(caller())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [True]


async def test_cooperatively_yields_every_n_items_and_keeps_the_order() -> None:
    ticks: list[int] = []
    seen: list[int] = []

    async def ticker() -> None:
        while True:
            ticks.append(len(seen))
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    async for item in cooperatively(range(10), every=4):
        seen.append(item)
    task.cancel()
    assert seen == list(range(10))
    # The other task ran after items 4 and 8 and at no other point in between.
    assert ticks[1:] == [4, 8]
    with pytest.raises(ValueError, match="every"):
        async for _ in cooperatively(range(1), every=0):
            pass
