"""The zombie scenario: two joiners in one group, one frozen (SIGSTOP) past its session.

Events trickle in at a steady rate (so the joiners are in the middle of transactions),
and in each round one joiner is frozen at a seeded progress point, stays frozen until the
other owns every partition and has gone on with them (or waits for the frozen one's
pending transaction, as KIP-447 asks), then thawed (SIGCONT); the round ends once the
thawed joiner logged that it was fenced and both hold partitions again. Afterwards the
rest is published at full speed, both joiners stop cleanly, and the ``read_committed``
joined output must equal the reference fold: every journey's versions 1..n exactly once.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from contracts.envelope import Record
from tests.support.joiner import (
    Env,
    JoinerProcess,
    assert_matches_reference,
    count_committed_snapshots,
    joined_history,
    noisy,
    partition_of,
    reference,
    sign,
    start_joiner,
)
from tests.support.journeys import make_workload
from tests.support.kafka import client_kwargs

__all__ = ["RoundsResult", "zombie_rounds"]

#: The broker's smallest session (group.min.session.timeout.ms).
SESSION = ("--session-timeout", "6")
ALL_PARTITIONS = "assigned partitions [0, 1, 2]"
#: Deliveries per second while the rounds run.
RATE = 60
#: Deliveries per round at RATE (a round lasts about 25 s).
PER_ROUND = 1500
_ASSIGNED = re.compile(r"assigned partitions \[\d")
_WAITING = ("waiting for a pending transactional offset commit", "waiting for an open transaction")


@dataclass
class RoundsResult:
    """What the rounds did, for the test's report."""

    rounds: int = 0
    events: int = 0
    #: Rounds in which the new owner waited for the frozen joiner's transaction.
    waited: int = 0
    #: "was fenced" lines per thawed joiner and round.
    fenced: list[int] = field(default_factory=list)
    #: The thawed joiner was refused at its offset commit (not only removed from the group).
    refused: int = 0


async def _trickle(
    env: Env, records: list[tuple[str, Record]], sent: list[int], fast: asyncio.Event
) -> None:
    """Produce ``records`` at RATE per second, at full speed once ``fast`` is set."""
    producer = AIOKafkaProducer(
        **client_kwargs(env.settings.bootstrap_servers), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        step = max(1, RATE // 10)
        while sent[0] < len(records):
            chunk = records[sent[0] : sent[0] + (len(records) if fast.is_set() else step)]
            futures = []
            for topic, record in chunk:
                futures.append(
                    await producer.send(
                        topic,
                        record.value,
                        key=record.key,
                        partition=partition_of(record.key.decode("ascii")),
                        headers=list(record.headers),
                    )
                )
            await asyncio.gather(*futures)
            sent[0] += len(chunk)
            if not fast.is_set():
                # Pacing of the load (not a wait for an outcome): 0.1 s per step.
                await asyncio.wait([asyncio.ensure_future(fast.wait())], timeout=0.1)
    finally:
        await producer.stop()


async def _until(
    check: Callable[[], Awaitable[bool]], limit: float, what: str, *joiners: JoinerProcess
) -> None:
    async with asyncio.timeout(limit):
        while not await check():
            for joiner in joiners:
                if joiner.proc.poll() is not None:
                    raise AssertionError(f"joiner exited early ({what}): {joiner.output()[-3000:]}")
            await asyncio.sleep(0.1)


def _after(joiner: JoinerProcess, mark: int) -> str:
    return joiner.output()[mark:]


async def _one_round(
    env: Env,
    name: str,
    victim: JoinerProcess,
    survivor: JoinerProcess,
    point: int,
    publisher: asyncio.Task[None],
    result: RoundsResult,
) -> None:
    """Freeze ``victim`` once the progress gauge passes ``point``, thaw it after the
    takeover, and wait until it said it was fenced and both joiners hold partitions."""

    async def progressed() -> bool:
        return publisher.done() or await count_committed_snapshots(env.settings) >= point

    await _until(progressed, 120, f"{name}: progress point", victim, survivor)
    mark = len(survivor.output())
    victim.proc.send_signal(signal.SIGSTOP)
    try:

        async def survivor_owns_all() -> bool:
            return ALL_PARTITIONS in _after(survivor, mark)

        await _until(survivor_owns_all, 90, f"{name}: takeover", survivor)
        taken = await count_committed_snapshots(env.settings)

        async def survivor_went_on() -> bool:
            if any(w in _after(survivor, mark) for w in _WAITING):
                return True  # it waits for the frozen joiner's pending transaction
            return publisher.done() or await count_committed_snapshots(env.settings) >= taken + 10

        await _until(survivor_went_on, 90, f"{name}: survivor goes on", survivor)
        result.waited += any(w in _after(survivor, mark) for w in _WAITING)
    finally:
        victim_mark, survivor_mark = len(victim.output()), len(survivor.output())
        victim.proc.send_signal(signal.SIGCONT)

    async def fenced_and_back() -> bool:
        # The thawed joiner says it was fenced and rejoins; the rebalance that its
        # rejoining starts gives the survivor a new assignment too.
        text = _after(victim, victim_mark)
        back = _ASSIGNED.search(text) and _ASSIGNED.search(_after(survivor, survivor_mark))
        return "was fenced" in text and back is not None

    await _until(fenced_and_back, 120, f"{name}: thawed joiner fenced", victim, survivor)
    text = _after(victim, victim_mark)
    result.fenced.append(text.count("was fenced"))
    result.refused += "was fenced by the group coordinator" in text
    result.rounds += 1


async def zombie_rounds(
    env: Env,
    rounds: int,
    seed: int,
    *,
    disturb: Callable[[int], Awaitable[None]] | None = None,
) -> RoundsResult:
    """Run the scenario (``disturb(round)`` runs at the start of every round) and check
    the output against the reference; return what happened."""
    rng = random.Random(seed)
    # About 44 events per journey of each life experience, and a third more deliveries.
    journeys = max(20, rounds * PER_ROUND * 3 // (4 * 44))
    events = make_workload(seed, journeys)
    records = sign(env, noisy(events, seed))
    result = RoundsResult(events=len(events))
    joiners = [
        start_joiner(env, name, *SESSION, "--max-batch", "20", until_idle=False)
        for name in ("a", "b")
    ]
    sent, fast = [0], asyncio.Event()
    publisher = asyncio.create_task(_trickle(env, records, sent, fast))
    try:

        async def both_assigned() -> bool:
            return all(_ASSIGNED.search(j.output()) for j in joiners)

        await _until(both_assigned, 90, "both joiners assigned", *joiners)
        for round_ in range(rounds):
            if disturb is not None:
                await disturb(round_)
            victim, survivor = joiners[round_ % 2], joiners[1 - round_ % 2]
            point = await count_committed_snapshots(env.settings) + rng.randint(5, 80)
            await _one_round(env, f"round {round_}", victim, survivor, point, publisher, result)
        fast.set()
        await asyncio.wait_for(publisher, 300)
        total = len(events)

        async def all_joined() -> bool:
            history = await joined_history(env.settings)
            return sum(len(snaps) for snaps in history.values()) >= total

        await _until(all_joined, 300, "everything joined", *joiners)
    finally:
        fast.set()
        publisher.cancel()
        for joiner in joiners:
            if joiner.proc.poll() is None:
                joiner.proc.send_signal(signal.SIGCONT)
                joiner.proc.send_signal(signal.SIGTERM)
    for joiner in joiners:
        await joiner.finish(120)
    history = await joined_history(env.settings)
    assert_matches_reference(history, reference(events))
    assert sum(len(snaps) for snaps in history.values()) == len(events)
    return result
