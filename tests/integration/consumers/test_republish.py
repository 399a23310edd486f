"""Re-publishing a file is idempotent on the real broker: the joiner drops every re-sent row.

The same CSV is published twice with an ``event_id`` column, and another twice without one:
every wire id is a keyed hash (of the caller's id, or of the row's content), so each second
run repeats the first run's ids and the joiner counts each row once.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import HEADER_ID
from producers import AgencyPublisher
from producers.ingest import RejectsWriter, ingest, open_text, read_rows
from tests.support.files import AGENCY, good
from tests.support.joiner import Env, join_until_idle, joined_history, read_all

pytestmark = pytest.mark.kafka

ROWS = 8


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """A CSV whose header names exactly the rows' columns (no empty event_id column)."""
    columns = list(rows[0])
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _rows(with_event_id: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(ROWS):
        # Distinct content per row (another attempt, another minute), so that without an
        # event_id column no two rows are the same event.
        row = good(i % 4, 100 + i, attempt=1 + i, occurred_at=f"2026-04-03T14:{10 + i}:00Z")
        if not with_event_id:
            row.pop("event_id")
            row["occurred_at"] = f"2026-04-05T09:{10 + i}:00Z"
        rows.append(row)
    return rows


async def _publish(env: Env, path: Path) -> int:
    _binary, text = open_text(path)
    async with AgencyPublisher(env.settings, AGENCY, keyring=env.keyring) as publisher:
        assert publisher.preparer is not None
        with text, RejectsWriter(None) as rejects:
            summary = await ingest(
                read_rows(path, text), publisher.preparer, publisher.deliver, rejects
            )
    assert summary.rejected == 0
    return summary.published


async def test_publishing_the_same_csv_twice_gives_no_duplicate_at_the_joiner(
    env: Env, tmp_path: Path
) -> None:
    with_ids, without_ids = tmp_path / "with-ids.csv", tmp_path / "without-ids.csv"
    _write_csv(with_ids, _rows(with_event_id=True))
    _write_csv(without_ids, _rows(with_event_id=False))
    assert "event_id" in with_ids.read_text().splitlines()[0]
    assert "event_id" not in without_ids.read_text().splitlines()[0]
    for path in (with_ids, with_ids, without_ids, without_ids):
        assert await _publish(env, path) == ROWS

    records = await read_all(env.settings, [env.settings.topics.agency(AGENCY)])
    ids = Counter(dict(record.headers)[HEADER_ID].decode() for record in records)
    assert len(records) == 4 * ROWS
    assert len(ids) == 2 * ROWS and set(ids.values()) == {2}  # each row's id, twice

    joiner = await join_until_idle(env)
    assert joiner.stats.duplicates == 2 * ROWS
    history = await joined_history(env.settings)
    latest = [max(snaps, key=lambda s: s.snapshot_version) for snaps in history.values()]
    assert sum(s.event_counts.total for s in latest) == 2 * ROWS
