"""Journey state: a store protocol, backends (memory, SQLite) and changelog recovery."""

from consumers.state.base import PartitionStore, StoreError
from consumers.state.memory import MemoryStore
from consumers.state.sqlite import SqliteStore

__all__ = ["MemoryStore", "PartitionStore", "SqliteStore", "StoreError"]
