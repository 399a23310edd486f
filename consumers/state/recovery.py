"""Restoring a partition's store from the compacted changelog topic.

The store records the changelog position it reflects (the next offset to read), and
the joiner commits the store only after the Kafka transaction that wrote the same
changes committed. So after any crash the store is at or behind the changelog, never
ahead; restoring reads from the store's position to the end (``read_committed``: records
of aborted transactions are skipped) and commits the store at the new position.

Before it reads, it waits until no transaction is open on the changelog partitions (the
last stable offset reached the high watermark): only the partition's previous owner
writes there, and a zombie's transaction still open (or committed, its markers still
being written) must end first, or the restored state could miss what it committed. The
wait is bounded (``open_transaction_wait``, above the transaction timeout, after which
the coordinator aborts it); past it the restore goes on from the last stable offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from consumers.state.base import PartitionStore
from consumers.state.changelog import ChangelogEntry, apply_entry

__all__ = ["RestoreResult", "Restorer", "apply_entries"]

log = logging.getLogger("cx.joiner.recovery")

# Short polls: the tail of a partition is often only a transaction marker, which a
# fetch consumes without returning records (getmany would wait out its timeout).
_POLL_MS = 100
#: How long a restore waits for a previous owner's open transaction on the changelog (s):
#: above aiokafka's default transaction timeout (60 s) plus the broker's abort interval.
OPEN_TRANSACTION_WAIT = 80.0


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What one restore did."""

    partition: int
    start: int
    end: int
    records: int
    wiped: bool


def apply_entries(store: PartitionStore, entries: Iterable[ChangelogEntry]) -> int:
    """Apply changelog records in order (caller holds the transaction); return the count."""
    count = 0
    for entry in entries:
        apply_entry(store, entry)
        count += 1
    return count


class Restorer:
    """Reads changelog partitions with one group-less ``read_committed`` consumer."""

    def __init__(
        self,
        client_kwargs: dict[str, Any],
        topic: str,
        *,
        open_transaction_wait: float = OPEN_TRANSACTION_WAIT,
    ) -> None:
        self._kwargs = client_kwargs
        self.topic = topic
        self.open_transaction_wait = open_transaction_wait
        self._consumer: Any = None
        # read_uncommitted: its end offsets are the high watermarks.
        self._watermarks: Any = None

    async def start(self) -> None:
        """Connect the restore consumer."""
        from aiokafka import AIOKafkaConsumer

        self._consumer = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **self._kwargs,
        )
        await self._consumer.start()
        self._watermarks = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_uncommitted",
            **self._kwargs,
        )
        await self._watermarks.start()

    async def stop(self) -> None:
        """Disconnect."""
        for consumer in (self._consumer, self._watermarks):
            if consumer is not None:
                await consumer.stop()
        self._consumer = self._watermarks = None

    async def wait_for_open_transactions(self, tps: Sequence[Any]) -> dict[Any, int]:
        """Wait (bounded) until no transaction is open on ``tps``; their stable ends."""
        consumer = self._consumer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.open_transaction_wait
        logged = False
        while True:
            stable = await consumer.end_offsets(list(tps))
            high = await self._watermarks.end_offsets(list(tps))
            open_ = sorted(tp.partition for tp in tps if stable[tp] < high[tp])
            if not open_:
                if logged:
                    log.info("changelog partitions: the open transactions ended")
                return dict(stable)
            if loop.time() >= deadline:
                log.warning(
                    "changelog partitions %s: a transaction is still open after %.0f s; "
                    "restoring to the last stable offset",
                    open_,
                    self.open_transaction_wait,
                )
                return dict(stable)
            if not logged:
                log.info(
                    "changelog partitions %s: waiting for an open transaction of a previous "
                    "owner to end before restoring",
                    open_,
                )
                logged = True
            await asyncio.sleep(0.1)

    async def restore(self, store: PartitionStore) -> RestoreResult:
        """Bring ``store`` up to the end of its changelog partition."""
        return (await self.restore_all([store]))[0]

    async def restore_all(self, stores: Sequence[PartitionStore]) -> list[RestoreResult]:
        """Bring every store up to the end of its changelog partition, reading them together.

        One assignment for all partitions: assigning them one after another costs a
        metadata round (about half a second each) per partition before the first fetch.
        """
        from aiokafka import TopicPartition

        consumer = self._consumer
        assert consumer is not None, "Restorer.start() first"
        if not stores:
            return []
        by_partition = {store.partition: store for store in stores}
        if len(by_partition) != len(stores):
            raise ValueError("one store per changelog partition")
        tps = {p: TopicPartition(self.topic, p) for p in by_partition}
        consumer.assign(list(tps.values()))
        ends = await self.wait_for_open_transactions(list(tps.values()))
        starts: dict[int, int] = {}
        wiped: set[int] = set()
        for partition, store in by_partition.items():
            start, end = store.changelog_position, ends[tps[partition]]
            if start > end:
                # The store reflects a changelog that no longer exists (topic recreated):
                # it cannot be trusted, start over from the changelog alone.
                log.warning("partition %d: local state ahead of changelog, rebuilding", partition)
                store.wipe()
                start = 0
                wiped.add(partition)
            starts[partition] = start
            consumer.seek(tps[partition], start)
        records = dict.fromkeys(by_partition, 0)
        positions = dict(starts)
        begun: list[PartitionStore] = []
        try:
            for store in by_partition.values():
                store.begin()
                begun.append(store)
            behind = {p for p in by_partition if positions[p] < ends[tps[p]]}
            while behind:
                batch = await consumer.getmany(*(tps[p] for p in behind), timeout_ms=_POLL_MS)
                for tp, fetched in batch.items():
                    records[tp.partition] += apply_entries(
                        by_partition[tp.partition],
                        (ChangelogEntry(r.key, r.value, tuple(r.headers or ())) for r in fetched),
                    )
                for partition in list(behind):
                    positions[partition] = await consumer.position(tps[partition])
                    if positions[partition] >= ends[tps[partition]]:
                        behind.discard(partition)
            for partition, store in by_partition.items():
                store.commit(max(positions[partition], starts[partition]))
        except BaseException:
            # After a failed write (full disk) SQLite may have rolled back already: that
            # second error must not replace the first.
            for store in begun:
                with contextlib.suppress(Exception):
                    store.rollback()
            raise
        consumer.assign([])
        results = []
        for partition in by_partition:
            end = ends[tps[partition]]
            log.info(
                "partition %d: restored %d changelog records (offsets %d..%d)",
                partition,
                records[partition],
                starts[partition],
                end,
            )
            results.append(
                RestoreResult(
                    partition, starts[partition], end, records[partition], partition in wiped
                )
            )
        return results
