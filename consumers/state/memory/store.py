"""In-memory store: the same protocol as the SQLite backend, without durability."""

from __future__ import annotations

from collections.abc import Iterator

from consumers.errors import StoreError

__all__ = ["MemoryStore"]


class MemoryStore:
    """Dicts behind the store protocol; transactions keep an undo copy."""

    def __init__(self, partition: int = 0) -> None:
        self._partition = partition
        self._values: dict[str, bytes] = {}
        self._due: dict[str, int] = {}
        self._meta: dict[str, str] = {}
        self._position = 0
        self._undo: tuple[dict[str, bytes], dict[str, int], dict[str, str]] | None = None

    @property
    def partition(self) -> int:
        """The input partition this store belongs to."""
        return self._partition

    @property
    def changelog_position(self) -> int:
        """Next changelog offset to read."""
        return self._position

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None."""
        return self._values.get(key)

    def put(self, key: str, value: bytes, due: int | None = None) -> None:
        """Store ``value`` with an optional due time."""
        self._values[key] = value
        if due is None:
            self._due.pop(key, None)
        else:
            self._due[key] = due

    def delete(self, key: str) -> None:
        """Remove ``key``."""
        self._values.pop(key, None)
        self._due.pop(key, None)

    def iter_due(self, until: int) -> Iterator[tuple[str, bytes]]:
        """Entries with ``due <= until`` in (due, key) order."""
        due = sorted((d, k) for k, d in self._due.items() if d <= until)
        for _, key in due:
            yield key, self._values[key]

    def iter_all(self) -> Iterator[tuple[str, bytes]]:
        """Every entry in key order."""
        for key in sorted(self._values):
            yield key, self._values[key]

    def min_due(self) -> int | None:
        """The smallest due time, or None."""
        return min(self._due.values(), default=None)

    def get_meta(self, name: str) -> str | None:
        """A partition-level value."""
        return self._meta.get(name)

    def put_meta(self, name: str, value: str) -> None:
        """Set a partition-level value."""
        self._meta[name] = value

    def begin(self) -> None:
        """Start a transaction."""
        if self._undo is not None:
            raise StoreError("a transaction is already open")
        self._undo = (dict(self._values), dict(self._due), dict(self._meta))

    def commit(self, changelog_position: int | None = None) -> None:
        """Keep the changes."""
        if self._undo is None:
            raise StoreError("no open transaction")
        self._undo = None
        if changelog_position is not None:
            self._position = changelog_position

    def rollback(self) -> None:
        """Restore the state from before :meth:`begin`."""
        if self._undo is None:
            raise StoreError("no open transaction")
        self._values, self._due, self._meta = self._undo
        self._undo = None

    def count(self) -> int:
        """Number of keys."""
        return len(self._values)

    def wipe(self) -> None:
        """Forget everything."""
        self._values.clear()
        self._due.clear()
        self._meta.clear()
        self._position = 0

    def close(self) -> None:
        """Roll back any open transaction."""
        if self._undo is not None:
            self.rollback()
