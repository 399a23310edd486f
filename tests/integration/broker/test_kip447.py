"""KIP-447 on the real broker: TxnOffsetCommit v3 fences a stale member; OffsetFetch v7
with RequireStable waits for a pending transactional commit."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from broker.errors import GroupFenced
from broker.kafka.kip447 import (
    GroupAwareCommits,
    GroupMetadata,
    fetch_stable_offsets,
    group_metadata,
)
from tests.support.kafka import KafkaEndpoint, client_kwargs
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka


@dataclasses.dataclass
class Member:
    consumer: Any
    producer: Any
    commits: GroupAwareCommits
    tp: TopicPartition


@pytest.fixture
async def member(kafka: KafkaEndpoint, unique: Callable[[str], str]) -> AsyncIterator[Member]:
    bootstrap = kafka.bootstrap_servers
    topic, group = unique("kip447"), unique("kip447-group")
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        **client_kwargs(bootstrap),
    )
    producer = AIOKafkaProducer(transactional_id=unique("kip447-txn"), **client_kwargs(bootstrap))
    await consumer.start()
    await producer.start()
    try:
        consumer.subscribe([topic])
        tp = TopicPartition(topic, 0)

        async def assigned() -> bool:
            await consumer.getmany(timeout_ms=100)
            return tp in consumer.assignment()

        await eventually(assigned, "partition assigned", within=30)
        yield Member(consumer, producer, GroupAwareCommits(producer), tp)
    finally:
        await producer.stop()
        await consumer.stop()


async def test_a_current_member_commits_its_offsets_with_the_group_metadata(
    member: Member,
) -> None:
    meta = group_metadata(member.consumer)
    assert meta.joined and meta.generation_id >= 1
    await member.producer.begin_transaction()
    await member.commits.send_offsets({member.tp: 42}, meta)
    await member.producer.commit_transaction()
    assert await fetch_stable_offsets(member.consumer, [member.tp], within=10) == {member.tp: 42}
    assert await member.consumer.committed(member.tp) == 42


@pytest.mark.parametrize(
    "stale",
    [
        pytest.param({"generation_id_delta": -1}, id="older-generation"),
        pytest.param({"member_id": "a-member-that-left"}, id="unknown-member"),
    ],
)
async def test_a_stale_member_is_fenced_and_its_transaction_aborts(
    member: Member, stale: dict[str, Any]
) -> None:
    meta = group_metadata(member.consumer)
    await member.producer.begin_transaction()
    await member.commits.send_offsets({member.tp: 5}, meta)
    await member.producer.commit_transaction()

    delta = stale.pop("generation_id_delta", 0)
    zombie = dataclasses.replace(meta, generation_id=meta.generation_id + delta, **stale)
    await member.producer.begin_transaction()
    with pytest.raises(GroupFenced, match=r"ILLEGAL_GENERATION|UNKNOWN_MEMBER_ID"):
        await member.commits.send_offsets({member.tp: 99}, zombie)
    await member.producer.abort_transaction()
    assert await fetch_stable_offsets(member.consumer, [member.tp], within=10) == {member.tp: 5}

    # The producer goes on: the next transaction with the current metadata commits.
    await member.producer.begin_transaction()
    await member.commits.send_offsets({member.tp: 7}, meta)
    await member.producer.commit_transaction()
    assert await fetch_stable_offsets(member.consumer, [member.tp], within=10) == {member.tp: 7}


async def test_metadata_without_a_generation_is_refused_before_sending(member: Member) -> None:
    reset = GroupMetadata(member.consumer._coordinator.group_id, -1, "")
    await member.producer.begin_transaction()
    with pytest.raises(GroupFenced, match="holds no group generation"):
        await member.commits.send_offsets({member.tp: 3}, reset)
    await member.producer.abort_transaction()
    assert await fetch_stable_offsets(member.consumer, [member.tp], within=10) == {member.tp: None}


async def test_a_stable_fetch_waits_for_the_pending_transaction(member: Member) -> None:
    meta = group_metadata(member.consumer)
    await member.producer.begin_transaction()
    await member.commits.send_offsets({member.tp: 11}, meta)
    # Pending in an open transaction: not stable, so a new owner must wait.
    with pytest.raises(TimeoutError):
        await fetch_stable_offsets(member.consumer, [member.tp], within=1.5)
    waiting = asyncio.create_task(fetch_stable_offsets(member.consumer, [member.tp], within=20))
    await member.producer.commit_transaction()
    assert await waiting == {member.tp: 11}


async def end_offsets(kafka: KafkaEndpoint, tp: TopicPartition, isolation: str) -> int:
    consumer = AIOKafkaConsumer(
        isolation_level=isolation,
        enable_auto_commit=False,
        **client_kwargs(kafka.bootstrap_servers),
    )
    await consumer.start()
    try:
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def test_a_fenced_transaction_is_aborted_on_the_broker_not_left_open(
    kafka: KafkaEndpoint, member: Member
) -> None:
    # aiokafka's own abortable-error path forgets the transaction's partitions, so its
    # abort sends no EndTxn and the records stay in an open transaction on the broker.
    meta = group_metadata(member.consumer)
    zombie = dataclasses.replace(meta, generation_id=meta.generation_id - 1)
    await member.producer.begin_transaction()
    await (await member.producer.send(member.tp.topic, b"from a zombie", partition=0))
    with pytest.raises(GroupFenced):
        await member.commits.send_offsets({member.tp: 1}, zombie)
    await member.producer.abort_transaction()

    async def no_open_transaction() -> bool:
        stable = await end_offsets(kafka, member.tp, "read_committed")
        return stable == await end_offsets(kafka, member.tp, "read_uncommitted")

    await eventually(no_open_transaction, "the fenced transaction aborted on the broker", 10)
    # The next transaction commits its own record only, never the zombie's.
    await member.producer.begin_transaction()
    await (await member.producer.send(member.tp.topic, b"from the owner", partition=0))
    await member.commits.send_offsets({member.tp: 0}, meta)
    await member.producer.commit_transaction()
    reader = AIOKafkaConsumer(
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **client_kwargs(kafka.bootstrap_servers),
    )
    await reader.start()
    try:
        reader.assign([member.tp])
        values: list[bytes] = []

        async def read_the_commit() -> bool:
            batch = await reader.getmany(member.tp, timeout_ms=200)
            values.extend(r.value for r in batch.get(member.tp, []))
            return bool(values)

        await eventually(read_the_commit, "the owner's record readable", 15)
    finally:
        await reader.stop()
    assert values == [b"from the owner"]
