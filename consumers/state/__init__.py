"""Journey state: a store protocol, backends (memory, SQLite) and changelog recovery."""

from consumers.errors import StateStoreError, StoreError
from consumers.state.base import PartitionStore
from consumers.state.memory import MemoryStore
from consumers.state.sqlite import SqliteStore

__all__ = ["MemoryStore", "PartitionStore", "SqliteStore", "StateStoreError", "StoreError"]
