"""The changelog record format of the journey state (compacted topic, one partition per input).

* a journey: key = the store key (``<life experience>|<token>``), value = the state's
  JSON, header ``cx_due`` = its due time in µs: when it closes while open, when it is
  pruned once closed (absent in records written before retention existed);
* a partition-level value (stream time): key = ``#meta|<name>``, value = the text;
* a deletion (a journey pruned past its retention): the key with a null value (a
  tombstone, so compaction forgets it).

Store keys start with a life-experience slug (a lowercase letter), so ``#`` never clashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from consumers.state.base import PartitionStore

__all__ = [
    "DUE_HEADER",
    "META_PREFIX",
    "ChangelogEntry",
    "apply_entry",
    "journey_entry",
    "meta_entry",
]

DUE_HEADER = "cx_due"
META_PREFIX = "#meta|"


@dataclass(frozen=True, slots=True)
class ChangelogEntry:
    """One changelog record as the producer sends it or the restorer reads it."""

    key: bytes
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def due(self) -> int | None:
        """The due time carried in the headers, or None."""
        for name, raw in self.headers:
            if name == DUE_HEADER:
                return int(raw)
        return None


def journey_entry(key: str, state: bytes, due: int | None) -> ChangelogEntry:
    """The changelog record of a journey's new state."""
    headers = () if due is None else ((DUE_HEADER, str(due).encode("ascii")),)
    return ChangelogEntry(key.encode("utf-8"), state, headers)


def meta_entry(name: str, value: str) -> ChangelogEntry:
    """The changelog record of a partition-level value."""
    return ChangelogEntry((META_PREFIX + name).encode("utf-8"), value.encode("utf-8"))


def apply_entry(store: PartitionStore, entry: ChangelogEntry) -> None:
    """Write one changelog record into ``store`` (inside the caller's transaction)."""
    key = entry.key.decode("utf-8")
    if key.startswith(META_PREFIX):
        if entry.value is not None:
            store.put_meta(key[len(META_PREFIX) :], entry.value.decode("utf-8"))
        return
    if entry.value is None:
        store.delete(key)
    else:
        store.put(key, entry.value, entry.due())
