"""The joiner against real Kafka: reference equality, SIGKILL + restart, two processes,
co-partition check, dead letters.

Every test uses its own topic prefix, consumer group, state dir and keyring. Events are
signed here with a keyring made in tmp_path; the reference is
:func:`consumers.reference_run` over the same events. Grace is wider than each
workload's span so no event counts as late in any delivery order (lateness depends on
arrival order, which Kafka does not fix across topics); closing is exercised by a second
phase of events far later in event time, produced after the first phase was joined.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka.admin import NewTopic

from broker.admin import admin_client
from broker.provision import topic_plan
from broker.settings import Settings
from consumers.joiner.validate import (
    DLQ_DETAIL,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
)
from contracts.catalog import load_catalog
from contracts.envelope import HEADER_DATASCHEMA, HEADER_KEYID, HEADER_TYPE, Record, encode_unsigned
from contracts.vocabulary import JourneyStatus
from cxbroker.exitcodes import ExitCode
from tests.support.joiner import (
    PARTITIONS,
    Env,
    assert_matches_reference,
    count_committed_snapshots,
    join_until_idle,
    joined_history,
    noisy,
    partition_of,
    produce,
    read_all,
    reference,
    restored_records,
    sign,
    start_joiner,
    wait_for,
)
from tests.support.journeys import T0, make_workload
from tests.support.kafka import KafkaEndpoint, subprocess_env

pytestmark = pytest.mark.kafka


# ------------------------------------------------------------------------------------ tests


async def test_joined_output_equals_reference_for_shuffled_duplicated_workload(env: Env) -> None:
    phase_a = make_workload(21, 10)
    # Far later in event time: every phase-A journey's window passes in its partition.
    phase_b = make_workload(22, 6, start=T0 + timedelta(days=200))
    await produce(env, sign(env, noisy(phase_a, 1)))
    first = await join_until_idle(env)
    assert first.stats.duplicates == len(phase_a) // 3
    assert first.stats.dead_letters == 0
    await produce(env, sign(env, noisy(phase_b, 2)))
    await join_until_idle(env)

    history = await joined_history(env.settings)
    expected = reference(phase_a, phase_b)
    assert_matches_reference(history, expected)
    # The ordered, duplicate-free delivery has the same reference: order did not matter.
    assert expected == reference(noisy(phase_a, 3), phase_b)
    closed = [s for s in expected.values() if s.status is not JourneyStatus.ACTIVE]
    assert len(closed) >= len(expected) // 2
    assert {s.life_experience for s in expected.values()} == {
        le.id for le in load_catalog().life_experiences
    }


async def test_sigkill_at_several_points_then_restart_gives_reference_output(env: Env) -> None:
    events = make_workload(31, 12)
    await produce(env, sign(env, noisy(events, 4)))
    expected = reference(events)
    expected_snapshots = len(events)  # one version per distinct event, no closes here
    kill_points = [expected_snapshots // 6, expected_snapshots // 3, expected_snapshots // 2]
    logs = []
    for round_, point in enumerate(kill_points):
        joiner = start_joiner(env, "0", "--max-batch", "7")

        async def progressed(point: int = point) -> bool:
            return await count_committed_snapshots(env.settings) >= point

        try:
            await wait_for(progressed, 90, f"kill point {point}", joiner)
        finally:
            logs.append(joiner.kill())
        if round_ == 1:
            # Lose the local state entirely: it must come back from the changelog.
            shutil.rmtree(env.settings.state_dir / "joiner")
    await start_joiner(env, "0").finish()
    # The run after the wipe rebuilt its stores from the changelog alone.
    assert restored_records(logs[2]) > 0
    assert_matches_reference(await joined_history(env.settings), expected)

    # Phase B, far later in event time, closes phase-A journeys. Start it from an empty
    # state dir (stream time and open journeys come back from the changelog) and kill once.
    shutil.rmtree(env.settings.state_dir / "joiner")
    phase_b = make_workload(32, 6, start=T0 + timedelta(days=200))
    await produce(env, sign(env, noisy(phase_b, 6)))
    mark = await count_committed_snapshots(env.settings) + len(phase_b) // 3
    joiner = start_joiner(env, "0", "--max-batch", "7")

    async def closing_progressed() -> bool:
        return await count_committed_snapshots(env.settings) >= mark

    try:
        await wait_for(closing_progressed, 90, "phase B kill point", joiner)
    finally:
        joiner.kill()
    await start_joiner(env, "0").finish()
    both = reference(events, phase_b)
    assert any(s.status is not JourneyStatus.ACTIVE for s in both.values())
    assert_matches_reference(await joined_history(env.settings), both)


async def test_two_processes_in_one_group_give_the_same_output_as_one(env: Env) -> None:
    events = make_workload(41, 12)
    await produce(env, sign(env, noisy(events, 5)))
    first = start_joiner(env, "a", "--max-batch", "20")
    second = start_joiner(env, "b", "--max-batch", "20")
    logs = await first.finish() + await second.finish()
    assert "assigned partitions" in logs
    assert_matches_reference(await joined_history(env.settings), reference(events))


async def committed_snapshots(settings: Settings) -> int:
    return sum(len(snaps) for snaps in (await joined_history(settings)).values())


async def test_rebalance_hands_journeys_over_to_a_second_process(env: Env) -> None:
    events = make_workload(43, 12)
    delivery = noisy(events, 7)
    half = len(delivery) // 2
    first_half = delivery[:half]
    await produce(env, sign(env, first_half))
    a = start_joiner(env, "a", until_idle=False)
    distinct_first = len({e.event_id for e in first_half})

    async def first_half_joined() -> bool:
        return await committed_snapshots(env.settings) >= distinct_first

    await wait_for(first_half_joined, 60, "first half joined", a)
    b = start_joiner(env, "b", until_idle=False)

    async def b_owns_partitions() -> bool:
        return re.search(r"assigned partitions \[\d", b.output()) is not None

    await wait_for(b_owns_partitions, 60, "second process assigned", b)
    await produce(env, sign(env, delivery[half:]))

    async def all_joined() -> bool:
        return await committed_snapshots(env.settings) >= len(events)

    await wait_for(all_joined, 60, "everything joined", a)
    for joiner in (a, b):
        joiner.proc.send_signal(signal.SIGTERM)
    log_a, log_b = await a.finish(30), await b.finish(30)
    assert re.search(r"revoked partitions \[\d", log_a)  # a gave partitions away...
    assert restored_records(log_b) > 0  # ...and b took their journeys over from the changelog
    assert_matches_reference(await joined_history(env.settings), reference(events))


async def test_sigterm_stops_the_joiner_cleanly_after_committing(env: Env) -> None:
    events = make_workload(45, 2)
    await produce(env, sign(env, events))
    joiner = start_joiner(env, "0", until_idle=False)

    async def joined_everything() -> bool:
        history = await joined_history(env.settings)
        return sum(len(snaps) for snaps in history.values()) >= len(events)

    await wait_for(joined_everything, 60, "all events joined", joiner)
    joiner.proc.send_signal(signal.SIGTERM)
    log = await joiner.finish(30)
    assert "joiner stopped: records=" in log
    assert_matches_reference(await joined_history(env.settings), reference(events))


async def test_copartition_check_refuses_mismatched_topics(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    settings = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=unique("cp") + ".",
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
        partitions=PARTITIONS,
    )
    odd = settings.topics.agency("sba")
    async with admin_client(settings) as admin:
        plan = topic_plan(settings, 1)
        await admin.create_topics(
            [
                NewTopic(s.name, 2 if s.name == odd else s.partitions, 1, topic_configs=s.configs)
                for s in plan
            ]
        )
    env = subprocess_env()
    env.update(
        CX_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_STATE_DIR=str(settings.state_dir),
        CX_KEYRING_DIR=str(settings.keyring_path),
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "join", "--until-idle", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.TOPICS_NOT_READY, done.stderr
    assert "co-partitioned" in done.stderr
    assert f"{odd}=2" in done.stderr
    assert f"{settings.topics.agency('ssa')}=3" in done.stderr
    assert "Traceback" not in done.stderr


def retitled(record: Record, **replace: bytes) -> Record:
    headers = tuple((n, replace.get(n, v)) for n, v in record.headers)
    return Record(record.key, record.value, headers)


async def test_bad_records_go_to_deadletter_with_reasons_and_good_ones_are_joined(
    env: Env,
) -> None:
    good = make_workload(51, 3)
    signed = sign(env, good)
    topic, sample = signed[0]
    agency = topic.rsplit(".", 1)[1]
    signer = env.keyring.signer(agency)
    unsigned = encode_unsigned(good[0])

    forged = Record(
        sample.key, sample.value.replace(b'"attempt":1', b'"attempt":2'), sample.headers
    )
    assert forged.value != sample.value
    unknown_key = retitled(sample, **{HEADER_KEYID: b"nobody-sig-20260101-1"})
    malformed = signer.sign(Record(unsigned.key, b'{"event_id": ', unsigned.headers))
    wrong_contract = signer.sign(
        retitled(
            unsigned,
            **{
                HEADER_TYPE: b"gov.cx.application-status.v1",
                HEADER_DATASCHEMA: b"urn:cx:contract:application-status:1.0.0",
            },
        )
    )
    unknown_major = signer.sign(
        retitled(
            unsigned,
            **{
                HEADER_TYPE: b"gov.cx.service-interaction.v9",
                HEADER_DATASCHEMA: b"urn:cx:contract:service-interaction:9.0.0",
            },
        )
    )
    bad = {
        "bad-signature": forged,
        "unknown-key-id": unknown_key,
        "malformed-json": malformed,
        "contract-violation": wrong_contract,
        "unknown-major-version": unknown_major,
    }
    half = len(signed) // 2
    stream = signed[:half] + [(topic, r) for r in bad.values()] + signed[half:]
    await produce(env, stream)
    joiner = await join_until_idle(env)
    assert joiner.stats.dead_letters == len(bad)
    assert dict(joiner.stats.reasons) == dict.fromkeys(bad, 1)

    letters = await read_all(env.settings, [env.settings.topics.deadletter])
    assert len(letters) == len(bad)
    by_reason = {dict(r.headers)[DLQ_REASON].decode(): r for r in letters}
    assert set(by_reason) == set(bad)
    for reason, original in bad.items():
        letter = by_reason[reason]
        headers = dict(letter.headers)
        assert letter.value == original.value  # unchanged bytes
        assert letter.key == original.key
        assert headers[DLQ_TOPIC] == topic.encode()
        assert int(headers[DLQ_PARTITION]) == partition_of(original.key.decode())
        assert int(headers[DLQ_OFFSET]) >= 0
        assert headers[DLQ_DETAIL]
        assert b'"event_id"' not in headers[DLQ_DETAIL]
        for name, value in original.headers:  # original headers kept
            assert headers[name] == value
    assert_matches_reference(await joined_history(env.settings), reference(good))
