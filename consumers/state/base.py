"""The store protocol: what the joiner needs from a partition's journey state.

One :class:`PartitionStore` holds the state of one input partition (the same partition
number of every co-partitioned agency topic). Values are opaque bytes; each value may
carry a *due* time (stream-time microseconds at which the journey closes), and the
store can list what is due in (due, key) order. Changes happen inside a transaction
(``begin`` / ``commit`` / ``rollback``) that also records the changelog position the
store reflects, so recovery knows where to resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

__all__ = ["PartitionStore", "StoreError"]


class StoreError(Exception):
    """The local state store cannot be used (corrupt file, misuse of transactions)."""


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
