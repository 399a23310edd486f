"""Retention on the real broker: journeys closed longer than the retention are pruned from
local state and tombstoned in the changelog and the joined topics, in the joiner's
transactions; what is left equals the reference fold with the same retention."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from consumers.journey.reference import reference_run
from consumers.journey.rules import load_rules
from consumers.state import SqliteStore
from contracts.catalog import load_catalog
from contracts.joined import JourneySnapshot
from tests.support.joiner import (
    GRACE,
    PARTITIONS,
    Env,
    join_until_idle,
    partition_of,
    produce,
    read_all,
    sign,
)
from tests.support.journeys import make_workload

pytestmark = pytest.mark.kafka

RETENTION = timedelta(days=5)


def held_rows(env: Env, instance: str) -> int:
    path = env.settings.state_dir / "joiner" / env.group / instance
    stores = [SqliteStore(path, p) for p in range(PARTITIONS)]
    try:
        return sum(store.count() for store in stores)
    finally:
        for store in stores:
            store.close()


async def test_closed_journeys_past_retention_are_pruned_and_tombstoned(env: Env) -> None:
    rules = load_rules().with_retention(RETENTION)
    # A year of event time: early journeys close (windows of 60-120 days) and expire
    # their retention long before the last events arrive. One agency's events only: they
    # share one topic, so each partition's stream time moves in the produced (event-time)
    # order, as in the reference (across topics it depends on how fetches interleave).
    events = [e for e in make_workload(97, 40, span=timedelta(days=400)) if e.agency == "ssa"]
    await produce(env, sign(env, events))
    expected = reference_run(events, partition_of=partition_of, grace=GRACE, rules=rules)
    assert len(expected.pruned) > len(events) // 40  # the workload does prune
    assert expected.final  # and keeps some

    await join_until_idle(env, rules=rules)

    # Joined topics: per key, the last record is the tombstone of a pruned journey or the
    # reference's final snapshot; every snapshot version came exactly once before it.
    topics = [env.settings.topics.joined(le.id) for le in load_catalog().life_experiences]
    last: dict[tuple[str, bytes], bytes | None] = {}
    versions: dict[tuple[str, bytes], list[int]] = {}
    for record in await read_all(env.settings, topics):
        last[(record.topic, record.key)] = record.value
        if record.value is not None:
            snap = JourneySnapshot.model_validate_json(record.value)
            versions.setdefault((record.topic, record.key), []).append(snap.snapshot_version)
    for (le, token), history in expected.history.items():
        key = (env.settings.topics.joined(le), token.encode("ascii"))
        assert versions[key] == [s.snapshot_version for s in history]
        if (le, token) in expected.pruned:
            assert last[key] is None
        else:
            assert last[key] == expected.final[(le, token)].model_dump_json().encode()
    assert sum(v is None for v in last.values()) == len(expected.pruned)

    # Changelog: a pruned journey's last entry is a tombstone too.
    changelog: dict[bytes, bytes | None] = {}
    changelog_records = await read_all(env.settings, [env.settings.topics.changelog])
    for record in changelog_records:
        changelog[record.key] = record.value
    pruned_keys = {f"{le}|{token}".encode() for le, token in expected.pruned}
    assert pruned_keys <= set(changelog)
    assert all(changelog[k] is None for k in pruned_keys)
    live = {k for k, v in changelog.items() if v is not None and not k.startswith(b"#meta|")}
    assert len(live) == len(expected.final)

    # Local state holds the live journeys only, and so does a store rebuilt from the
    # changelog (tombstones included) after the state dir was lost.
    assert held_rows(env, "0") == len(expected.final)
    shutil.rmtree(env.settings.state_dir / "joiner" / env.group / "0")
    rebuilt = await join_until_idle(env, rules=rules)
    assert rebuilt.stats.restored_records == len(changelog_records)
    assert held_rows(env, "0") == len(expected.final)
