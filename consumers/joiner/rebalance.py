"""Partition ownership across rebalances: what this member holds, and what it must restore.

The consumer group moves partitions between members at any time. A revocation waits for
the transaction in flight (it holds :attr:`Ownership.lock`), then closes the stores of the
partitions this member no longer reads. An assignment only queues the new partitions: the
joiner restores their state from the changelog before its next batch. Every change bumps
:attr:`Ownership.generation`, so a batch fetched across a rebalance is rewound, never
processed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.abc import ConsumerRebalanceListener

from consumers.journey.processor import JourneyProcessor
from consumers.state.sqlite import SqliteStore

__all__ = ["Ownership", "Partition", "Rebalance", "rewind"]

log = logging.getLogger("cx.joiner")


@dataclass
class Partition:
    """The local state of one owned partition: its store and the fold over it."""

    store: SqliteStore
    processor: JourneyProcessor


class Ownership:
    """The topic-partitions this member owns and the local state loaded for them.

    ``owned`` holds topic-partitions (one per agency topic and partition number);
    ``parts`` the restored state per partition number; ``pending`` the partition numbers
    assigned but not restored yet.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.generation = 0
        self.owned: set[Any] = set()
        self.pending: set[int] = set()
        self.parts: dict[int, Partition] = {}
        self.assigned_once = False

    def release(self, partition: int) -> None:
        """Close the store of ``partition`` and forget it (restored or pending)."""
        part = self.parts.pop(partition, None)
        if part is not None:
            part.store.close()
        self.pending.discard(partition)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Revocation waits for the in-flight batch; assignment queues restores.

    ``on_assigned`` runs after every assignment (the joiner restarts its idle clock);
    ``on_lost`` before a revocation, to tell a member the group removed (its session
    expired while it stalled: a zombie) from an ordinary rebalance.
    """

    def __init__(
        self,
        ownership: Ownership,
        on_assigned: Callable[[], None],
        on_lost: Callable[[Any], None] | None = None,
    ) -> None:
        self.ownership = ownership
        self.on_assigned = on_assigned
        self.on_lost = on_lost

    async def on_partitions_revoked(self, revoked: Any) -> None:
        ownership = self.ownership
        ownership.generation += 1
        if self.on_lost is not None and revoked:
            self.on_lost(revoked)
        async with ownership.lock:  # the in-flight transaction finishes (or aborts) first
            ownership.owned -= set(revoked)
            kept = {tp.partition for tp in ownership.owned}
            for partition in sorted({tp.partition for tp in revoked} - kept):
                ownership.release(partition)
        log.info("revoked partitions %s", sorted({tp.partition for tp in revoked}))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        ownership = self.ownership
        ownership.generation += 1
        ownership.owned |= set(assigned)
        ownership.pending |= {tp.partition for tp in assigned} - set(ownership.parts)
        self.on_assigned()
        ownership.assigned_once = True
        log.info("assigned partitions %s", sorted({tp.partition for tp in assigned}))


async def rewind(consumer: Any, owned: set[Any], batch: dict[Any, list[Any]]) -> None:
    """Put back a batch fetched around a rebalance (or aborted): not processed.

    Every partition we own goes back to its committed offset (everything we processed is
    committed, and nothing is in flight while we hold the lock), whichever assignment the
    records came from.
    """
    for tp, records in batch.items():
        if records and tp in owned:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
