"""SQLite backend of the store protocol.

Why SQLite (stdlib ``sqlite3``): no native wheel to build or pin, real transactions
(the local commit follows the Kafka commit and rolls back with it), a B-tree index for
the due times, and bounded memory: rows live on disk and only the page cache (capped
below) is in RAM, however many journeys are open. WAL mode keeps commits cheap and
``synchronous=NORMAL`` is enough because the changelog, not the file, is the source of
truth after a crash.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from consumers.errors import StateStoreError, StoreError
from consumers.state.base import describe_io_error

__all__ = ["SqliteStore"]

# Negative = KiB: at most 16 MiB of page cache per partition store.
_CACHE_KIB = 16 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    due   INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_due ON kv (due, key) WHERE due IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

_POSITION = "changelog_position"
# Rows read per page when listing due journeys.
_DUE_PAGE = 256


class SqliteStore:
    """A partition's journey state in ``<directory>/p<partition>.sqlite``."""

    def __init__(self, directory: Path, partition: int) -> None:
        self.directory = directory
        self._partition = partition
        self.path = directory / f"p{partition}.sqlite"
        with self._io("opened"):
            directory.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
                self._db.executescript(_SCHEMA)
            except BaseException:
                self._db.close()
                raise
        self._position = int(self.get_meta(_POSITION) or 0)

    @contextlib.contextmanager
    def _io(self, what: str) -> Iterator[None]:
        # Every SQLite or file-system failure becomes one line naming the directory and
        # the cause (read-only, no space left, ...), never a bare sqlite3/OSError.
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise StateStoreError(
                f"joiner state store {self.path} cannot be {what}: "
                f"{describe_io_error(exc, self.directory)}; fix the state dir and restart "
                "(nothing was committed past what the store holds)"
            ) from exc

    @property
    def partition(self) -> int:
        """The input partition this store belongs to."""
        return self._partition

    @property
    def changelog_position(self) -> int:
        """Next changelog offset to read (committed value)."""
        return self._position

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None."""
        with self._io("read"):
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, key: str, value: bytes, due: int | None = None) -> None:
        """Insert or replace ``key``."""
        with self._io("written"):
            self._db.execute(
                "INSERT OR REPLACE INTO kv (key, value, due) VALUES (?, ?, ?)", (key, value, due)
            )

    def delete(self, key: str) -> None:
        """Remove ``key``."""
        with self._io("written"):
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def iter_due(self, until: int) -> Iterator[tuple[str, bytes]]:
        """Entries with ``due <= until`` in (due, key) order.

        Read in pages after the last (due, key) seen, so memory stays bounded however
        many journeys are due, and the caller may update the rows it was given.
        """
        after: tuple[int, str] | None = None
        while True:
            with self._io("read"):
                if after is None:
                    rows = self._db.execute(
                        "SELECT key, value, due FROM kv WHERE due IS NOT NULL AND due <= ?"
                        " ORDER BY due, key LIMIT ?",
                        (until, _DUE_PAGE),
                    ).fetchall()
                else:
                    rows = self._db.execute(
                        "SELECT key, value, due FROM kv WHERE due IS NOT NULL AND due <= ?"
                        " AND (due > ? OR (due = ? AND key > ?)) ORDER BY due, key LIMIT ?",
                        (until, after[0], after[0], after[1], _DUE_PAGE),
                    ).fetchall()
            for key, value, due in rows:
                yield key, bytes(value)
                after = (int(due), key)
            if len(rows) < _DUE_PAGE:
                return

    def iter_all(self) -> Iterator[tuple[str, bytes]]:
        """Every entry in key order, read in pages after the last key seen."""
        after = ""
        while True:
            with self._io("read"):
                rows = self._db.execute(
                    "SELECT key, value FROM kv WHERE key > ? ORDER BY key LIMIT ?",
                    (after, _DUE_PAGE),
                ).fetchall()
            for key, value in rows:
                yield key, bytes(value)
                after = key
            if len(rows) < _DUE_PAGE:
                return

    def min_due(self) -> int | None:
        """The smallest due time, or None."""
        with self._io("read"):
            row = self._db.execute("SELECT MIN(due) FROM kv WHERE due IS NOT NULL").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def get_meta(self, name: str) -> str | None:
        """A partition-level value."""
        with self._io("read"):
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_meta(self, name: str, value: str) -> None:
        """Set a partition-level value."""
        with self._io("written"):
            self._db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value)
            )

    def begin(self) -> None:
        """Start a transaction."""
        if self._db.in_transaction:
            raise StoreError("a transaction is already open")
        with self._io("written"):
            self._db.execute("BEGIN")

    def commit(self, changelog_position: int | None = None) -> None:
        """Commit, recording the changelog position in the same transaction."""
        if not self._db.in_transaction:
            raise StoreError("no open transaction")
        if changelog_position is not None:
            self.put_meta(_POSITION, str(changelog_position))
        with self._io("written"):
            self._db.execute("COMMIT")
        if changelog_position is not None:
            self._position = changelog_position

    def rollback(self) -> None:
        """Discard the open transaction."""
        if not self._db.in_transaction:
            raise StoreError("no open transaction")
        with self._io("written"):
            self._db.execute("ROLLBACK")

    def count(self) -> int:
        """Number of keys held."""
        with self._io("read"):
            row = self._db.execute("SELECT COUNT(*) FROM kv").fetchone()
        return int(row[0])

    def count_open(self) -> int:
        """Keys with a due time: journeys not closed yet (the partial index answers it)."""
        with self._io("read"):
            row = self._db.execute("SELECT COUNT(*) FROM kv WHERE due IS NOT NULL").fetchone()
        return int(row[0])

    def wipe(self) -> None:
        """Delete every key, meta value and the changelog position."""
        with self._io("written"):
            self._db.execute("DELETE FROM kv")
            self._db.execute("DELETE FROM meta")
        self._position = 0

    def close(self) -> None:
        """Roll back an open transaction and close the file (never raises: closing after
        a failure must not hide it; an unfinished transaction is discarded either way)."""
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
