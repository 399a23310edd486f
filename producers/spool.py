"""The outage spool: a local, durable, append-only queue of signed records per agency.

While Kafka cannot be reached, the publisher writes records that are already
de-identified, guarded and signed here (bytes only: key, value, headers; never a raw
identifier), and sends them in order when Kafka returns. Layout of
``<state dir>/spool/<agency>/`` (directory 0700, files 0600)::

    spool.log     frames, appended and fsync'd before append() returns
    committed     ASCII byte offset into spool.log of the first record not yet sent,
                  replaced atomically (write temp, fsync, rename, fsync dir)
    lock          flock'd by the one process that owns the spool

A frame is ``u32 length | u32 crc32(payload) | payload`` (big endian), and the payload is
``u32 key length | key | u32 value length | value | u16 header count``
then per header ``u16 name length | name (UTF-8) | u32 value length | value``.

A crash can leave a torn last frame (short, or its CRC does not match and it runs to the
end of the file); reopening cuts it off: it was never acknowledged to the caller. A bad
frame followed by more data is corruption, not a torn write, and raises
:class:`SpoolCorrupt` instead of silently dropping what follows. When every record is
committed the log is truncated to zero, so a spool that drained takes no space.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final

from broker.settings import Settings
from contracts.envelope import Record
from producers.errors import SpoolCorrupt, SpoolError, SpoolFull, SpoolLocked, SpoolUnavailable

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Spool",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "spool_dir",
]

DEFAULT_MAX_BYTES: Final = 1 << 30  # 1 GiB: days of a large agency's events
LOG_FILE: Final = "spool.log"
COMMITTED_FILE: Final = "committed"
LOCK_FILE: Final = "lock"
_DIR_MODE: Final = 0o700
_FILE_MODE: Final = 0o600
_FRAME_HEAD: Final = struct.Struct(">II")
_U32: Final = struct.Struct(">I")
_U16: Final = struct.Struct(">H")


def spool_dir(settings: Settings, agency: str) -> Path:
    """The spool directory of one agency under the state dir."""
    return settings.state_dir / "spool" / agency


def encode_payload(record: Record) -> bytes:
    """The payload bytes of one record (see the module docstring)."""
    parts: list[bytes] = []
    parts += (_U32.pack(len(record.key)), record.key)
    parts += (_U32.pack(len(record.value)), record.value, _U16.pack(len(record.headers)))
    for name, value in record.headers:
        encoded = name.encode("utf-8")
        parts += (_U16.pack(len(encoded)), encoded, _U32.pack(len(value)), value)
    return b"".join(parts)


def decode_payload(payload: bytes) -> Record:
    """The record of a payload written by :func:`encode_payload`."""
    view = memoryview(payload)
    position = 0

    def take(size: int) -> bytes:
        nonlocal position
        if position + size > len(view):
            raise SpoolCorrupt("a spool frame is shorter than its fields say")
        chunk = bytes(view[position : position + size])
        position += size
        return chunk

    (key_length,) = _U32.unpack(take(4))
    key = take(key_length)
    (value_length,) = _U32.unpack(take(4))
    value = take(value_length)
    (count,) = _U16.unpack(take(2))
    headers: list[tuple[str, bytes]] = []
    for _ in range(count):
        (name_length,) = _U16.unpack(take(2))
        name = take(name_length).decode("utf-8")
        (header_length,) = _U32.unpack(take(4))
        headers.append((name, take(header_length)))
    if position != len(view):
        raise SpoolCorrupt("a spool frame has trailing bytes")
    return Record(key=key, value=value, headers=tuple(headers))


def encode_frame(record: Record) -> bytes:
    """One framed record: length, CRC32 and payload."""
    payload = encode_payload(record)
    return _FRAME_HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unavailable(action: str, directory: Path, exc: OSError) -> SpoolUnavailable:
    reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (the disk is full)"
    return SpoolUnavailable(
        f"cannot {action} the outage spool in {directory}: {reason}; "
        "the records were not accepted, fix the directory (CX_STATE_DIR) and publish again"
    )


class Spool:
    """One agency's outage spool. Not thread-safe; one owner process at a time (flock).

    ``append`` returns only after the records are on disk; ``pending`` yields records after
    the committed offset in append order, each with the offset just past it, which
    ``commit`` records once the records up to there reached Kafka.
    """

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._log: BinaryIO | None = None
        self._lock_fd: int | None = None
        self._committed = 0
        self._size = 0
        self._count = 0
        #: Unix time the spool last went from empty to holding records (an upper bound of
        #: its oldest record's age); after a reopen, the log's last write (a lower bound).
        self.pending_since: float | None = None

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r}, pending={self._count})"

    # ----- lifecycle

    def open(self) -> Spool:
        """Create or reopen the spool, take its lock and recover a torn tail."""
        try:
            self.directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            lock_fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        except OSError as exc:
            raise _unavailable("create", self.directory, exc) from None
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            raise SpoolLocked(
                f"the outage spool in {self.directory} is in use by another process; "
                "run one publisher per agency and state dir"
            ) from None
        self._lock_fd = lock_fd
        try:
            path = self.directory / LOCK_FILE
            os.chmod(path, _FILE_MODE)
            self._log = open(self.directory / LOG_FILE, "a+b")  # noqa: SIM115 - kept open
            os.chmod(self.directory / LOG_FILE, _FILE_MODE)
            self._committed = self._read_committed()
            self._recover()
        except OSError as exc:
            self.close()
            raise _unavailable("open", self.directory, exc) from None
        except SpoolError:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Close the files and release the lock (pending records stay on disk)."""
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Spool:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- state

    def __len__(self) -> int:
        """Records appended and not yet committed."""
        return self._count

    @property
    def committed_offset(self) -> int:
        """Byte offset of the first record not yet sent."""
        return self._committed

    @property
    def size(self) -> int:
        """Bytes in the log file (committed records included until the log is emptied)."""
        return self._size

    # ----- operations

    def append(self, records: Sequence[Record]) -> None:
        """Append records durably (one fsync for the batch), or raise and accept none."""
        log = self._require_open()
        if not records:
            return
        data = b"".join(encode_frame(record) for record in records)
        if self._size + len(data) > self.max_bytes:
            raise SpoolFull(
                f"the outage spool in {self.directory} would exceed its limit of "
                f"{self.max_bytes} bytes ({self._count} records wait for Kafka); the "
                "records were not accepted"
            )
        try:
            log.seek(0, os.SEEK_END)
            log.write(data)
            log.flush()
            os.fsync(log.fileno())
        except OSError as exc:
            # Cut off a partial write so the next append starts at a frame boundary.
            with contextlib.suppress(OSError):
                log.truncate(self._size)
            raise _unavailable("write", self.directory, exc) from None
        if not self._count:
            self.pending_since = time.time()
        self._size += len(data)
        self._count += len(records)

    def pending(self, limit: int | None = None) -> Iterator[tuple[int, Record]]:
        """Uncommitted records in append order, each with the offset just past its frame."""
        log = self._require_open()
        position = self._committed
        produced = 0
        while position < self._size and (limit is None or produced < limit):
            log.seek(position)
            head = log.read(_FRAME_HEAD.size)
            length, crc = _FRAME_HEAD.unpack(head)
            payload = log.read(length)
            if zlib.crc32(payload) != crc:
                raise SpoolCorrupt(f"a frame of the outage spool in {self.directory} is damaged")
            position += _FRAME_HEAD.size + length
            produced += 1
            yield position, decode_payload(payload)

    def commit(self, offset: int, count: int) -> None:
        """Record that the ``count`` records before ``offset`` reached Kafka.

        Empties the log once everything is committed, so a drained spool takes no space.
        """
        log = self._require_open()
        if not self._committed <= offset <= self._size:
            raise ValueError("commit offset outside the pending range")
        try:
            if offset == self._size:
                # Truncate first: a crash before the offset write leaves committed > size,
                # which reopening reads as "all sent" (see _recover).
                log.truncate(0)
                log.flush()
                os.fsync(log.fileno())
                self._size = 0
                self._count = 0
                self.pending_since = None
                offset = 0
            else:
                self._count -= count
            self._write_committed(offset)
        except OSError as exc:
            raise _unavailable("update the committed offset of", self.directory, exc) from None
        self._committed = offset

    # ----- internals

    def _require_open(self) -> BinaryIO:
        if self._log is None:
            raise SpoolError("the spool is not open")
        return self._log

    def _read_committed(self) -> int:
        try:
            text = (self.directory / COMMITTED_FILE).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        if not text.isdigit():
            raise SpoolCorrupt(
                f"the committed offset of the outage spool in {self.directory} is damaged"
            )
        return int(text)

    def _write_committed(self, offset: int) -> None:
        target = self.directory / COMMITTED_FILE
        temporary = self.directory / (COMMITTED_FILE + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
        try:
            os.write(fd, f"{offset}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
        _fsync_dir(self.directory)

    def _recover(self) -> None:
        log = self._require_open()
        log.seek(0, os.SEEK_END)
        size = log.tell()
        if self._committed > size:
            # The log was emptied after a full drain but the offset write did not happen.
            self._committed = 0
            self._write_committed(0)
        position = self._committed
        count = 0
        while position < size:
            log.seek(position)
            head = log.read(_FRAME_HEAD.size)
            if len(head) < _FRAME_HEAD.size:
                break  # torn frame head
            length, crc = _FRAME_HEAD.unpack(head)
            end = position + _FRAME_HEAD.size + length
            if end > size:
                break  # torn: the frame runs past the end of the file
            payload = log.read(length)
            if zlib.crc32(payload) != crc:
                if end == size:
                    break  # torn: the last frame's bytes did not all reach the disk
                raise SpoolCorrupt(
                    f"a frame in the middle of the outage spool in {self.directory} fails "
                    "its checksum; move the directory aside to keep it and publish again"
                )
            position = end
            count += 1
        if position < size:
            log.truncate(position)
            log.flush()
            os.fsync(log.fileno())
        self._size = position
        self._count = count
        self.pending_since = os.fstat(log.fileno()).st_mtime if count else None
