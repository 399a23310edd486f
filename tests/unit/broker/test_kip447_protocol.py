"""The KIP-447 requests as bytes: TxnOffsetCommit v3 carries the group metadata, OffsetFetch
v7 the RequireStable flag; responses decode into what the handlers read."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from aiokafka.structs import OffsetAndMetadata, TopicPartition

from broker.kafka.kip447 import GroupMetadata, StableOffsetFetch, TxnOffsetCommitV3, _read_offsets
from broker.kafka.kip447_wire import (
    OffsetFetchRequest_v7,
    OffsetFetchResponse_v7,
    TxnOffsetCommitRequest_v3,
    TxnOffsetCommitResponse_v3,
)

META = GroupMetadata("cx-joiner", 7, "member-1", None)


def test_txn_offset_commit_v3_round_trips_with_generation_and_member() -> None:
    offsets = {
        TopicPartition("t", 1): OffsetAndMetadata(42, ""),
        TopicPartition("t", 0): OffsetAndMetadata(41, ""),
    }
    request = TxnOffsetCommitV3("txn", 1000, 3, META, offsets)
    struct = request.prepare({28: (0, 5)})
    assert isinstance(struct, TxnOffsetCommitRequest_v3)
    assert struct.FLEXIBLE_VERSION
    decoded = TxnOffsetCommitRequest_v3.decode(BytesIO(struct.encode()))
    obj = decoded.to_object()
    assert (obj["transactional_id"], obj["group_id"]) == ("txn", "cx-joiner")
    assert (obj["producer_id"], obj["producer_epoch"]) == (1000, 3)
    assert (obj["generation_id"], obj["member_id"], obj["group_instance_id"]) == (
        7,
        "member-1",
        None,
    )
    (topic,) = obj["topics"]
    assert topic["name"] == "t"
    assert [(p["partition_index"], p["committed_offset"]) for p in topic["partitions"]] == [
        (0, 41),
        (1, 42),
    ]


def test_metadata_without_a_generation_is_not_joined() -> None:
    assert META.joined
    assert not GroupMetadata("g", -1, "").joined
    assert not GroupMetadata("g", 3, "").joined


def test_offset_fetch_v7_asks_for_stable_offsets() -> None:
    request = StableOffsetFetch("g", [TopicPartition("t", 2), TopicPartition("t", 0)])
    struct = request.prepare({9: (0, 9)})
    assert isinstance(struct, OffsetFetchRequest_v7)
    obj = OffsetFetchRequest_v7.decode(BytesIO(struct.encode())).to_object()
    assert obj["require_stable"] is True
    assert obj["topics"][0]["partition_indexes"] == [0, 2]


def _fetch_response(*partitions: tuple[int, int, int]) -> Any:
    raw = OffsetFetchResponse_v7(
        0, [("t", [(p, offset, -1, "", code, {}) for p, offset, code in partitions], {})], 0, {}
    ).encode()
    return OffsetFetchResponse_v7.decode(BytesIO(raw))


def test_an_unstable_partition_asks_for_a_retry_and_a_stable_one_gives_offsets() -> None:
    retry, _ = _read_offsets(_fetch_response((0, -1, 88), (1, 5, 0)))
    assert retry == 88
    retry, offsets = _read_offsets(_fetch_response((0, -1, 0), (1, 5, 0)))
    assert retry == 0
    assert offsets == {TopicPartition("t", 0): None, TopicPartition("t", 1): 5}


def test_the_v3_response_decodes_per_partition_error_codes() -> None:
    raw = TxnOffsetCommitResponse_v3(0, [("t", [(0, 22, {}), (1, 0, {})], {})], {}).encode()
    resp = TxnOffsetCommitResponse_v3.decode(BytesIO(raw))
    assert [(p, code) for _, parts, _ in resp.topics for p, code, _ in parts] == [(0, 22), (1, 0)]
