"""An in-memory :class:`~consumers.state.base.PartitionStore` (tests and the reference fold)."""

from consumers.state.memory.store import MemoryStore

__all__ = ["MemoryStore"]
