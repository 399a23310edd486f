"""The joiner's outbox: records appended into aiokafka batches per topic-partition.

Uses aiokafka's own batch builder (the C one the joiner uses) through
:class:`~tests.support.fakes.RecordingProducer`: no broker is needed to build batches,
only to send them.
"""

from __future__ import annotations

from consumers.joiner.outbox import Outbox
from tests.support.fakes import RecordingProducer


async def test_records_fill_batches_per_partition_in_order() -> None:
    recorder = RecordingProducer(batch_bytes=1000)
    outbox = Outbox(recorder)
    for i in range(30):
        outbox.add("t", i % 2, f"k{i}".encode(), b"v" * 100, [("h", b"1")])
    submitted = await outbox.submit()

    assert sum(count for _, _, _, count in submitted) == 30
    assert len(recorder.sent) > 2  # 1,000-byte batches: 15 records of ~110 bytes need several
    for partition in (0, 1):
        keys = [
            key
            for batch in recorder.sent
            if batch.partition == partition and batch.topic == "t"
            for key in batch.keys
        ]
        assert keys == [f"k{i}".encode() for i in range(partition, 30, 2)]
    counts = [count for _, _, _, count in submitted]
    assert counts == [len(batch.records) for batch in recorder.sent]


async def test_a_record_larger_than_a_batch_goes_alone_in_its_own() -> None:
    recorder = RecordingProducer(batch_bytes=1000)
    outbox = Outbox(recorder)
    outbox.add("t", 0, b"a", b"x" * 10, [])
    outbox.add("t", 0, b"big", b"y" * 5000, [])
    outbox.add("t", 0, b"b", b"z" * 10, [])
    submitted = await outbox.submit()

    batches = [batch.records for batch in recorder.sent]
    assert [[key for key, _ in batch] for batch in batches] == [[b"a"], [b"big"], [b"b"]]
    assert batches[1][0][1] == b"y" * 5000
    assert [count for _, _, _, count in submitted] == [1, 1, 1]
    # Submitted batches are gone: the next transaction starts empty.
    assert await outbox.submit() == []
