"""The outage spool: framing, durability across reopen, torn tails, order, committed offset."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from contracts.envelope import Record
from producers.errors import SpoolCorrupt, SpoolFull, SpoolLocked, SpoolUnavailable
from producers.spool import (
    COMMITTED_FILE,
    LOG_FILE,
    Spool,
    decode_payload,
    encode_frame,
    encode_payload,
)


def record(n: int, key: str = "k") -> Record:
    """A small signed-looking record; values are synthetic bytes, nothing identifying."""
    return Record(
        key=f"{key}{n % 3}".encode(),
        value=f'{{"n":{n}}}'.encode(),
        headers=(("ce_id", f"id-{n}".encode()), ("ce_cxsig", bytes(range(n % 7, n % 7 + 5)))),
    )


def values(spool: Spool) -> list[bytes]:
    return [r.value for _, r in spool.pending()]


def test_payload_round_trip_keeps_key_value_and_header_order() -> None:
    rec = Record(b"", b"\x00\xff" * 3, (("a", b""), ("b\u00e9", b"\x00" * 70_000)))
    assert decode_payload(encode_payload(rec)) == rec


def test_frame_is_length_crc_payload() -> None:
    frame = encode_frame(record(1))
    length, crc = struct.unpack(">II", frame[:8])
    assert length == len(frame) - 8
    assert crc == zlib.crc32(frame[8:])


def test_append_then_reopen_keeps_every_record_in_order(tmp_path: Path) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(i) for i in range(5)])
        spool.append([record(i) for i in range(5, 8)])
        assert len(spool) == 8
    with Spool(tmp_path / "s") as spool:
        assert len(spool) == 8
        assert values(spool) == [record(i).value for i in range(8)]


def test_commit_moves_the_offset_durably_and_a_full_drain_empties_the_log(
    tmp_path: Path,
) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(i) for i in range(6)])
        pending = list(spool.pending(limit=4))
        assert [r.value for _, r in pending] == [record(i).value for i in range(4)]
        spool.commit(pending[3][0], 4)
        assert len(spool) == 2
    assert (tmp_path / "s" / COMMITTED_FILE).read_text().strip() == str(pending[3][0])
    with Spool(tmp_path / "s") as spool:
        assert values(spool) == [record(4).value, record(5).value]
        last_offset = list(spool.pending())[-1][0]
        spool.commit(last_offset, 2)
        assert len(spool) == 0
        assert spool.size == 0
    assert (tmp_path / "s" / LOG_FILE).stat().st_size == 0
    with Spool(tmp_path / "s") as spool:
        assert len(spool) == 0
        spool.append([record(9)])
        assert values(spool) == [record(9).value]


@pytest.mark.parametrize("cut", [1, 4, 8, 11])
def test_a_torn_last_frame_is_cut_off_on_reopen(tmp_path: Path, cut: int) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(0), record(1)])
        good_size = spool.size
        spool.append([record(2)])
    log = tmp_path / "s" / LOG_FILE
    with open(log, "r+b") as f:
        f.truncate(good_size + cut)  # part of the third frame reached the disk
    with Spool(tmp_path / "s") as spool:
        assert values(spool) == [record(0).value, record(1).value]
        assert spool.size == good_size
        spool.append([record(3)])
    with Spool(tmp_path / "s") as spool:
        assert values(spool) == [record(0).value, record(1).value, record(3).value]


def test_a_last_frame_with_bad_checksum_is_torn(tmp_path: Path) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(0)])
        good = spool.size
        spool.append([record(1)])
    log = tmp_path / "s" / LOG_FILE
    data = bytearray(log.read_bytes())
    data[-1] ^= 0xFF
    log.write_bytes(bytes(data))
    with Spool(tmp_path / "s") as spool:
        assert values(spool) == [record(0).value]
        assert spool.size == good


def test_a_damaged_frame_in_the_middle_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(0), record(1), record(2)])
    log = tmp_path / "s" / LOG_FILE
    data = bytearray(log.read_bytes())
    data[10] ^= 0xFF  # inside the first payload
    log.write_bytes(bytes(data))
    with pytest.raises(SpoolCorrupt, match="checksum"):
        Spool(tmp_path / "s").open()
    assert log.stat().st_size == len(data)  # nothing was cut


def test_a_lost_offset_write_after_a_full_drain_reads_as_empty(tmp_path: Path) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(0)])
        (tmp_path / "s" / COMMITTED_FILE).write_text("0\n")
    # Simulate: log truncated, crash before the offset file said 0.
    (tmp_path / "s" / LOG_FILE).write_bytes(b"")
    (tmp_path / "s" / COMMITTED_FILE).write_text("57\n")
    with Spool(tmp_path / "s") as spool:
        assert len(spool) == 0
        spool.append([record(1)])
        assert values(spool) == [record(1).value]


def test_full_spool_refuses_and_keeps_what_it_had(tmp_path: Path) -> None:
    frame = len(encode_frame(record(0)))
    with Spool(tmp_path / "s", max_bytes=frame * 2) as spool:
        spool.append([record(0)])
        with pytest.raises(SpoolFull, match="not accepted"):
            spool.append([record(1), record(2)])
        assert values(spool) == [record(0).value]


def test_unwritable_spool_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SpoolUnavailable, match="cannot create the outage spool"):
        Spool(blocker / "spool").open()


def test_one_owner_at_a_time(tmp_path: Path) -> None:
    with Spool(tmp_path / "s"), pytest.raises(SpoolLocked):
        Spool(tmp_path / "s").open()
    Spool(tmp_path / "s").open().close()  # released on close


def test_files_are_private(tmp_path: Path) -> None:
    with Spool(tmp_path / "s") as spool:
        spool.append([record(0)])
        spool.commit(next(iter(spool.pending()))[0], 1)
    assert os.stat(tmp_path / "s").st_mode & 0o777 == 0o700
    for name in (LOG_FILE, COMMITTED_FILE):
        assert os.stat(tmp_path / "s" / name).st_mode & 0o777 == 0o600
