"""Joiner crash loop: SIGKILL the joiner process at seeded random points of one run (4 in
`make test`, 10 with `pytest -m long`).

The workload (a few thousand events, a third delivered twice, shuffled) is produced
first; each incarnation runs until the committed output passes its seeded kill point
(a progress threshold, so no timing race decides where it dies), is SIGKILLed, and the
next one resumes from the last committed transaction. The final output must equal the
pure reference: same final snapshot per journey, versions 1..n each exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.joiner import (
    assert_matches_reference,
    count_committed_snapshots,
    joined_history,
    make_env,
    noisy,
    produce,
    reference,
    sign,
    start_joiner,
    wait_for,
)
from tests.support.journeys import make_workload
from tests.support.kafka import KafkaEndpoint

pytestmark = pytest.mark.kafka

#: SIGKILLs of the full run (`pytest -m long`); `make test` runs the first few of them.
KILLS = 10
SHORT_KILLS = 4
# The broker's smallest session (group.min.session.timeout.ms, 6 s by default): each
# restart waits out the killed member's session before it gets the partitions back.
FAST_RESTART = ("--session-timeout", "6")


async def test_sigkills_during_one_run_give_the_reference_output(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    await crash_loop(kafka, tmp_path, unique, SHORT_KILLS)


@pytest.mark.long
async def test_ten_sigkills_during_one_run_give_the_reference_output(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    await crash_loop(kafka, tmp_path, unique, KILLS)


async def crash_loop(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], kills: int
) -> None:
    env = await make_env(kafka.bootstrap_servers, tmp_path, unique("crash"), unique("joiner"))
    events = make_workload(71, 50)
    delivery = noisy(events, 8)
    assert len(events) > 2000
    await produce(env, sign(env, delivery))
    # Snapshots (one per distinct event here: no journey closes inside the grace) plus
    # transaction markers: the gauge passes len(events) well before the run is done.
    rng = random.Random(9)
    points = sorted(rng.sample(range(len(events) // 20, len(events) * 9 // 10), kills))
    killed_at = []
    for point in points:
        joiner = start_joiner(env, "0", *FAST_RESTART, "--max-batch", "25")

        async def progressed(point: int = point) -> bool:
            return await count_committed_snapshots(env.settings) >= point

        try:
            await wait_for(progressed, 60, f"kill point {point}", joiner)
        finally:
            joiner.kill()
        killed_at.append(await count_committed_snapshots(env.settings))
    log = await start_joiner(env, "0", *FAST_RESTART).finish()
    assert "joiner stopped: records=" in log
    # Every kill happened mid-run, and progress went on across the kills.
    assert killed_at == sorted(killed_at)
    assert killed_at[-1] < await count_committed_snapshots(env.settings)

    history = await joined_history(env.settings)
    assert_matches_reference(history, reference(events))
    assert sum(len(snaps) for snaps in history.values()) == len(events)
