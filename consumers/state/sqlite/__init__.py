"""The SQLite :class:`~consumers.state.base.PartitionStore`: one WAL database file per partition."""

from consumers.state.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
