"""The store protocol: what the joiner needs from a partition's journey state.

One :class:`PartitionStore` holds the state of one input partition (the same partition
number of every co-partitioned agency topic). Values are opaque bytes; each value may
carry a *due* time (stream-time microseconds at which the journey closes), and the
store can list what is due in (due, key) order. Changes happen inside a transaction
(``begin`` / ``commit`` / ``rollback``) that also records the changelog position the
store reflects, so recovery knows where to resume.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["PartitionStore", "describe_io_error"]


def describe_io_error(exc: BaseException, directory: Path) -> str:
    """The cause of a failed store operation, as a short human phrase with its errno name.

    SQLite reports a full disk as SQLITE_FULL and a read-only file system as
    SQLITE_READONLY, not as errno values: those are mapped to the errno they stand for,
    checking the file system's flags when the code alone is ambiguous.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{os.strerror(exc.errno)} ({errno.errorcode.get(exc.errno, exc.errno)})"
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith("SQLITE_FULL") or _no_space(directory):
        return f"{os.strerror(errno.ENOSPC)} (ENOSPC)"
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
        if _read_only(directory):
            return f"{os.strerror(errno.EROFS)} (EROFS)"
        return f"{os.strerror(errno.EACCES)} (EACCES)"
    return f"{exc} ({name or type(exc).__name__})"


def _statvfs(directory: Path) -> os.statvfs_result | None:
    for candidate in (directory, *directory.parents):
        try:
            return os.statvfs(candidate)
        except OSError:
            continue
    return None


def _no_space(directory: Path) -> bool:
    stat = _statvfs(directory)
    return stat is not None and stat.f_bavail == 0


def _read_only(directory: Path) -> bool:
    stat = _statvfs(directory)
    return stat is not None and bool(stat.f_flag & os.ST_RDONLY)


@runtime_checkable
class PartitionStore(Protocol):
    """Key-value state of one partition, with a due-time index and a changelog position."""

    @property
    def partition(self) -> int:
        """The input partition this store belongs to."""
        ...

    @property
    def changelog_position(self) -> int:
        """Next changelog offset to read: everything before it is reflected here."""
        ...

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None."""
        ...

    def put(self, key: str, value: bytes, due: int | None = None) -> None:
        """Store ``value``; ``due`` (or None: never) puts it in the due index."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error if absent)."""
        ...

    def iter_due(self, until: int) -> Iterator[tuple[str, bytes]]:
        """Entries with ``due <= until``, ordered by (due, key)."""
        ...

    def min_due(self) -> int | None:
        """The smallest due time in the index, or None."""
        ...

    def iter_all(self) -> Iterator[tuple[str, bytes]]:
        """Every entry, ordered by key (read in pages: memory stays bounded)."""
        ...

    def get_meta(self, name: str) -> str | None:
        """A partition-level value (stream time, ...)."""
        ...

    def put_meta(self, name: str, value: str) -> None:
        """Set a partition-level value."""
        ...

    def begin(self) -> None:
        """Start a transaction (no nesting)."""
        ...

    def commit(self, changelog_position: int | None = None) -> None:
        """Make the transaction's changes durable, optionally with a new changelog position."""
        ...

    def rollback(self) -> None:
        """Forget the transaction's changes."""
        ...

    def count(self) -> int:
        """Number of keys held."""
        ...

    def wipe(self) -> None:
        """Forget everything, including the changelog position (restore from scratch)."""
        ...

    def close(self) -> None:
        """Release the store (an open transaction is rolled back)."""
        ...
