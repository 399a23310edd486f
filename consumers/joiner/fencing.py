"""Zombie fencing around the joiner's transactions (exactly-once v2, KIP-447).

A member that stalled past its session timeout lost its partitions; when it wakes, its
next transactional offset commit carries a stale generation and the group coordinator
refuses it (:class:`~broker.errors.GroupFenced`): the transaction aborts, the member
logs that it was fenced and waits for the rebalance that follows.

A member that receives partitions starts where the previous owner's *last decided*
transaction left them: the committed offsets are fetched with ``RequireStable`` (a
transaction still holding offsets pending must end first), and the consumer is moved
there (it may have read its committed offsets before they were stable).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from broker.errors import GroupFenced
from broker.kafka.kip447 import fetch_stable_offsets, group_metadata
from consumers.state.recovery import OPEN_TRANSACTION_WAIT

__all__ = ["FENCED", "FENCED_OUT", "Fencing", "seek_to_stable", "stable_offsets"]

log = logging.getLogger("cx.joiner")

#: The log line of a fenced joiner (tests look for "was fenced").
FENCED = (
    "joiner %s was fenced by the group coordinator (a zombie: it stalled past its session "
    "timeout and lost its partitions): %s; transaction aborted, rejoining"
)

#: The log line of a joiner that learns from its heartbeat that the group removed it.
FENCED_OUT = (
    "joiner %s was fenced out of the group (its session expired while it stalled): "
    "partitions %s revoked, its open transaction cannot commit their offsets; rejoining"
)


async def stable_offsets(
    consumer: Any, tps: Iterable[Any], within: float = OPEN_TRANSACTION_WAIT
) -> dict[Any, int | None]:
    """The group's committed offsets of ``tps`` once no transaction holds them pending;
    empty (the consumer's own view then) if that takes longer than ``within`` seconds."""
    tps = list(tps)
    if not tps:
        return {}
    try:
        return await fetch_stable_offsets(consumer, tps, within=within)
    except TimeoutError:
        log.warning("committed offsets not stable within %.0f s: reading on from them", within)
        return {}


async def seek_to_stable(consumer: Any, offsets: dict[Any, int | None]) -> None:
    """Move the consumer to ``offsets`` (None: no commit yet, from the beginning)."""
    for tp, offset in offsets.items():
        if offset is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)


class Fencing:
    """What one joiner knows about being fenced: how often, and since which generation.

    ``fenced_in`` is the ownership generation in which the member learned it was fenced:
    no batch is processed until a rebalance moved past it.
    """

    def __init__(self, transactional_id: str) -> None:
        self.transactional_id = transactional_id
        self.count = 0
        self.fenced_in: int | None = None

    def refused(self, exc: GroupFenced, generation: int) -> None:
        """The coordinator refused a transaction's offsets (it was aborted)."""
        self.count += 1
        self.fenced_in = generation
        log.warning(FENCED, self.transactional_id, exc)

    def before_revoke(self, consumer: Any, revoked: Any) -> None:
        """Log a revocation that comes from the group removing this member."""
        if not group_metadata(consumer).joined:
            self.count += 1
            log.warning(FENCED_OUT, self.transactional_id, sorted({tp.partition for tp in revoked}))
