"""The store protocol's backends (memory, SQLite) and applying changelog records."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from broker.errors import CxError
from consumers.errors import StateStoreError, StoreError
from consumers.journey import JourneyProcessor, load_rules
from consumers.state import MemoryStore, PartitionStore, SqliteStore
from consumers.state.base import describe_io_error
from consumers.state.changelog import ChangelogEntry, journey_entry, meta_entry
from consumers.state.recovery import apply_entries
from cxbroker.exitcodes import ExitCode, exit_code_for
from tests.support.journeys import make_workload

StoreFactory = Callable[[], PartitionStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "memory":
        return lambda: MemoryStore(3)
    return lambda: SqliteStore(tmp_path / "state", 3)


def test_put_get_delete_and_due_order(make_store: StoreFactory) -> None:
    store = make_store()
    assert isinstance(store, PartitionStore)
    assert store.partition == 3
    store.put("b", b"2", due=20)
    store.put("a", b"1", due=20)
    store.put("c", b"3", due=10)
    store.put("d", b"4")
    assert store.get("a") == b"1"
    assert store.get("zz") is None
    assert list(store.iter_due(20)) == [("c", b"3"), ("a", b"1"), ("b", b"2")]
    assert list(store.iter_due(15)) == [("c", b"3")]
    assert store.min_due() == 10
    store.put("c", b"3", due=None)  # closing removes it from the due index
    assert store.min_due() == 20
    store.delete("a")
    store.delete("missing")
    assert store.get("a") is None
    assert store.count() == 3


def test_rollback_discards_and_commit_keeps_the_changelog_position(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    store.begin()
    store.put("a", b"1", due=5)
    store.put_meta("stream_time", "42")
    store.commit(changelog_position=17)
    store.begin()
    store.put("a", b"changed")
    store.put("b", b"2")
    store.put_meta("stream_time", "99")
    store.rollback()
    assert store.get("a") == b"1"
    assert store.get("b") is None
    assert store.get_meta("stream_time") == "42"
    assert store.min_due() == 5
    assert store.changelog_position == 17
    with pytest.raises(StoreError):
        store.commit()
    store.begin()
    with pytest.raises(StoreError):
        store.begin()
    store.rollback()


def test_sqlite_state_and_position_survive_reopening(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path, 0)
    store.begin()
    store.put("a", b"1", due=7)
    store.commit(changelog_position=123)
    store.begin()
    store.put("b", b"uncommitted")
    store.close()  # an open transaction is lost with the process
    again = SqliteStore(tmp_path, 0)
    assert again.changelog_position == 123
    assert again.get("a") == b"1"
    assert again.get("b") is None
    assert again.min_due() == 7
    again.wipe()
    assert (again.count(), again.changelog_position) == (0, 0)
    again.close()


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "p0.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot be opened"):
        SqliteStore(tmp_path, 0)


def test_changelog_entries_rebuild_the_same_store(tmp_path: Path) -> None:
    """What the joiner writes to the changelog is enough to rebuild its store exactly."""
    rules = load_rules()
    live = SqliteStore(tmp_path / "live", 0)
    processor = JourneyProcessor(live, rules)
    entries: list[ChangelogEntry] = []
    for event in make_workload(11, 4):
        step = processor.process(event)
        for change in step.changes:
            state = live.get(change.key)
            assert state == change.state
            entries.append(journey_entry(change.key, change.state, change.due))
        entries.append(meta_entry("stream_time", str(processor.stream_time)))
    entries.append(ChangelogEntry(b"gone|x", b"{}"))
    entries.append(ChangelogEntry(b"gone|x", None))  # a tombstone deletes

    restored = SqliteStore(tmp_path / "restored", 0)
    restored.begin()
    assert apply_entries(restored, entries) == len(entries)
    restored.commit(changelog_position=len(entries))
    assert restored.get("gone|x") is None
    assert dump(restored) == dump(live)
    assert restored.get_meta("stream_time") == live.get_meta("stream_time")
    assert restored.min_due() == live.min_due()
    # A processor on the restored store continues exactly like the live one.
    follow_up = make_workload(12, 2)
    again = JourneyProcessor(restored, rules)
    for event in follow_up:
        assert [c.snapshot for c in again.process(event).changes] == [
            c.snapshot for c in processor.process(event).changes
        ]


def dump(store: SqliteStore) -> list[tuple[str, bytes, int | None]]:
    rows = store._db.execute("SELECT key, value, due FROM kv ORDER BY key").fetchall()
    return [(k, bytes(v), d) for k, v, d in rows]


def test_sqlite_lists_many_due_entries_in_pages_while_they_are_updated(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path, 0)
    store.begin()
    for n in range(1000):
        store.put(f"k{n:04d}", b"v", due=n // 3)
    seen = []
    for key, _ in store.iter_due(200):
        store.put(key, b"closed", due=None)  # what closing does to each yielded row
        seen.append(key)
    store.commit()
    assert seen == [f"k{n:04d}" for n in range(603)]
    assert store.min_due() == 201


def test_an_unusable_state_dir_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(StateStoreError) as caught:
        SqliteStore(blocker / "joiner", 0)  # mkdir under a file: ENOTDIR
    message = str(caught.value)
    assert str(blocker) in message and "(ENOTDIR)" in message and "\n" not in message
    assert (
        isinstance(caught.value, CxError) and exit_code_for(caught.value) == ExitCode.STATE_FAILED
    )


def test_a_full_store_names_the_cause_and_keeps_the_committed_state(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path, 3)
    store.begin()
    store.put("kept", b"v")
    store.commit(changelog_position=5)
    # SQLite's own limit makes the file "full" exactly as a full disk does (SQLITE_FULL).
    store._db.execute("PRAGMA max_page_count = 1")
    store.begin()
    with pytest.raises(StateStoreError) as caught:
        for n in range(1000):
            store.put(f"k{n}", b"x" * 4000)
    assert str(tmp_path) in str(caught.value)
    assert "No space left on device (ENOSPC)" in str(caught.value)
    store.close()
    reopened = SqliteStore(tmp_path, 3)
    assert reopened.get("kept") == b"v" and reopened.count() == 1
    assert reopened.changelog_position == 5
    reopened.close()


def test_io_errors_are_described_by_their_errno(tmp_path: Path) -> None:
    assert describe_io_error(OSError(errno.EROFS, "x"), tmp_path) == (
        "Read-only file system (EROFS)"
    )
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorname = "SQLITE_FULL"
    assert describe_io_error(full, tmp_path) == "No space left on device (ENOSPC)"
