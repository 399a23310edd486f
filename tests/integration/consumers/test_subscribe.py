"""The data-team side: subscribe() yields typed snapshots; `cxbroker tail` prints them."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from consumers import subscribe, subscribe_deadletters
from consumers.errors import JoinerError
from contracts.envelope import Record
from contracts.joined import JourneySnapshot
from tests.support.joiner import (
    Env,
    join_until_idle,
    produce,
    reference,
    sign,
)
from tests.support.journeys import make_workload

pytestmark = pytest.mark.kafka

LE = "recovering-from-a-disaster"


async def collect(source: object, count: int) -> list[object]:
    items: list[object] = []
    async with asyncio.timeout(30):
        async for item in source:  # type: ignore[attr-defined]
            items.append(item)
            if len(items) == count:
                break
    await source.aclose()  # type: ignore[attr-defined]
    return items


async def test_subscribe_yields_typed_snapshots_and_tail_prints_them(env: Env) -> None:
    events = [e for e in make_workload(61, 4) if e.life_experience == LE]
    await produce(env, sign(env, events))
    # One bad record, so the dead-letter side has something to show.
    topic, record = sign(env, events[:1])[0]
    await produce(env, [(topic, Record(record.key, record.value + b" ", record.headers))])
    await join_until_idle(env)
    expected = {token: snap for (le, token), snap in reference(events).items() if le == LE}

    snapshots = await collect(subscribe(LE, settings=env.settings), len(events))
    assert all(isinstance(s, JourneySnapshot) for s in snapshots)
    latest: dict[str, JourneySnapshot] = {}
    for snap in snapshots:
        assert isinstance(snap, JourneySnapshot)
        latest[snap.journey_token] = snap
    assert latest == expected

    letters = await collect(subscribe_deadletters(settings=env.settings), 1)
    assert [(d.reason, d.topic) for d in letters] == [("bad-signature", topic)]  # type: ignore[attr-defined]

    cli_env = env.cli_env()
    joined = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "tail", "joined", LE, "--idle", "3"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert joined.returncode == 0, joined.stderr
    lines = joined.stdout.splitlines()
    assert len(lines) == len(events)
    some_token = next(iter(expected))
    assert any(line.startswith(some_token[:8] + "…") for line in lines)
    assert all(some_token not in line for line in lines)  # tokens are shortened

    dead = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "tail", "deadletter", "--idle", "3"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dead.returncode == 0, dead.stderr
    assert "bad-signature" in dead.stdout
    assert f"{topic}[" in dead.stdout
    assert record.value.decode() not in dead.stdout  # never the payload


async def test_subscribe_refuses_an_unknown_life_experience(env: Env) -> None:
    with pytest.raises(JoinerError, match="unknown life experience"):
        await anext(subscribe("winning-the-lottery", settings=env.settings))
