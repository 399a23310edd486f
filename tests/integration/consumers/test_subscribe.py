"""The data-team side: subscribe() yields typed snapshots; `cxbroker tail` prints them."""

from __future__ import annotations

import asyncio
import json
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

    await _tail_options(cli_env, len(events), some_token)

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


async def _tail(cli_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "tail", "joined", LE, "--idle", "3", *args],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _tail_options(cli_env: dict[str, str], total: int, token: str) -> None:
    """--count, --key with --full-tokens, --partition/--offset and --headers (#21, 7)."""
    counted = await _tail(cli_env, "--count", "2")
    assert counted.returncode == 0, counted.stderr
    assert len(counted.stdout.splitlines()) == 2

    every = await _tail(cli_env, "--output", "json", "--headers")
    assert every.returncode == 0, every.stderr
    documents = [json.loads(line) for line in every.stdout.splitlines()]
    assert len(documents) == total
    assert all({"ce_id", "ce_source", "ce_cxsig"} <= set(d["headers"]) for d in documents)
    mine = [d for d in documents if d["snapshot"]["journey_token"] == token]

    keyed = await _tail(cli_env, "--key", token, "--full-tokens")
    assert keyed.returncode == 0, keyed.stderr
    lines = keyed.stdout.splitlines()
    assert len(lines) == len(mine) and all(line.startswith(token + " ") for line in lines)

    partition = mine[0]["partition"]
    offsets = sorted(d["offset"] for d in documents if d["partition"] == partition)
    start = offsets[len(offsets) // 2]
    ranged = await _tail(
        cli_env,
        "--partition",
        str(partition),
        "--offset",
        str(start),
        "--output",
        "json",
        "--headers",
    )
    assert ranged.returncode == 0, ranged.stderr
    got = [json.loads(line) for line in ranged.stdout.splitlines()]
    assert [d["offset"] for d in got] == [o for o in offsets if o >= start]
    assert {d["partition"] for d in got} == {partition}

    wrong = await _tail(cli_env, "--partition", "99")
    assert wrong.returncode != 0 and "has partitions 0.." in wrong.stderr
    assert "Traceback" not in wrong.stderr


async def test_subscribe_refuses_an_unknown_life_experience(env: Env) -> None:
    with pytest.raises(JoinerError, match="unknown life experience"):
        await anext(subscribe("winning-the-lottery", settings=env.settings))
