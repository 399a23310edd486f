"""Journey state: a store protocol, backends (memory, SQLite) and changelog recovery."""

from consumers.state.base import PartitionStore, StateStoreError, StoreError
from consumers.state.memory import MemoryStore
from consumers.state.sqlite import SqliteStore

__all__ = ["MemoryStore", "PartitionStore", "SqliteStore", "StateStoreError", "StoreError"]
