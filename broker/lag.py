"""How far a consumer group is behind: records of its topics it has not committed yet.

The demo follows its joiners with it, the soak samples it, and operators read it per
partition. End offsets are read with ``read_committed`` (an open or aborted transaction's
records are not counted as work left), committed offsets from the group coordinator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from broker.admin import admin_client
from broker.settings import Settings

__all__ = ["GroupLag", "PartitionLag"]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition of a group's topics: committed offset, end offset and the difference."""

    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        """Records not committed yet (all of them when the group never committed)."""
        return max(0, self.end - (self.committed or 0))


class GroupLag:
    """The committed lag of ``group`` over every partition of ``topics``.

    An async context manager holding one admin client and one consumer open for repeated
    probes, so following a group costs two small requests per probe instead of two new
    (TLS, SCRAM) connections.
    """

    def __init__(self, settings: Settings, group: str, topics: Sequence[str]) -> None:
        self.settings = settings
        self.group = group
        self.topics = list(topics)
        self._stack = contextlib.AsyncExitStack()
        self._admin: Any = None
        self._consumer: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []

    async def __aenter__(self) -> GroupLag:
        async with contextlib.AsyncExitStack() as stack:
            self._admin = await stack.enter_async_context(admin_client(self.settings))
            described = await self._admin.describe_topics(self.topics)
            self._tps = [
                TopicPartition(t["topic"], p["partition"])
                for t in described
                for p in t["partitions"]
            ]
            consumer = AIOKafkaConsumer(
                isolation_level="read_committed",
                enable_auto_commit=False,
                **self.settings.kafka_client_kwargs(),
            )
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            self._consumer = consumer
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def partitions(self) -> list[PartitionLag] | None:
        """Per partition, committed and end offsets (sorted by topic and partition).

        None while Kafka cannot tell yet (a retriable error: on a new cluster the group
        coordinator exists only once the first member has joined).
        """
        assert self._consumer is not None, "use GroupLag as an async context manager"
        try:
            # Committed offsets first: end offsets only grow, so the lag is never negative.
            committed = await self._admin.list_consumer_group_offsets(self.group)
            end = await self._consumer.end_offsets(self._tps)
        except KafkaError as exc:
            if exc.retriable:
                return None
            raise
        rows = []
        for tp in sorted(self._tps):
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else None
            rows.append(PartitionLag(tp.topic, tp.partition, done, end[tp]))
        return rows

    async def lag(self) -> int | None:
        """The group's committed lag summed over every partition; None as in :meth:`partitions`."""
        rows = await self.partitions()
        return None if rows is None else sum(row.lag for row in rows)
