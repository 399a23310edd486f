"""The joiner's default-tier stream on a real broker: k-protected, once per journey, across
a SIGKILL and a restart (the release gate's state comes back with the journeys)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncGenerator

import pytest

from consumers.privacy.scan import Scan
from consumers.subscribe import Rejection, subscribe
from contracts.catalog import load_catalog
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot, group_key
from tests.support.joiner import (
    Env,
    count_committed_snapshots,
    produce,
    read_all,
    sign,
    start_joiner,
    wait_for,
)
from tests.support.populations import population

pytestmark = pytest.mark.kafka

K = 11


async def _protected(env: Env) -> list[ProtectedSnapshot]:
    topics = [env.settings.topics.protected(le.id) for le in load_catalog().life_experiences]
    return [
        ProtectedSnapshot.model_validate_json(r.value) for r in await read_all(env.settings, topics)
    ]


async def test_default_tier_stream_is_k_protected_and_exactly_once_across_a_crash(
    env: Env,
) -> None:
    # The closing ticks lie in the past (a joiner refuses events ahead of their record's
    # time) and reach every partition, so every journey's window passes.
    events = population(
        seed=41, per_life_experience=90, span_days=60, close_after_days=150, ticks=6
    )
    await produce(env, sign(env, events))
    joiner = start_joiner(env, "0", "--max-batch", "50")

    async def halfway() -> bool:
        return await count_committed_snapshots(env.settings) >= len(events) // 2

    try:
        await wait_for(halfway, 120, "half the snapshots", joiner)
    finally:
        joiner.kill()
    await start_joiner(env, "0").finish(limit=240)

    records = await _protected(env)
    assert len(records) > 100
    tokens = Counter(r.journey_token for r in records)
    assert max(tokens.values()) == 1  # released once, even across the crash
    groups = Counter(group_key(r) for r in records)
    assert min(groups.values()) >= K
    assert all("_at" not in r.model_dump_json() for r in records)

    # The held-out scan of the CLI agrees, reading the topics as the default tier.
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cxbroker", "privacy", "report", "--output", "json", "--check"],
        env=env.cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["protected"]["journeys"] == len(records)
    assert doc["protected"]["smallest_group"] >= K
    scan = Scan()
    for record in records:
        scan.add(record.model_dump_json())
    assert scan.protected_report(K).below_k == 0

    # subscribe() as the default tier: the k-protected records, every one verified
    # (signed by the joiner deployment), none rejected.
    life_experience, count = Counter(r.life_experience for r in records).most_common(1)[0]
    rejected: list[Rejection] = []
    shown: list[JourneySnapshot | ProtectedSnapshot] = []
    source = subscribe(
        life_experience, settings=env.settings, tier="default", on_rejected=rejected.append
    )
    async with asyncio.timeout(120):
        while len(shown) < count:
            shown.append(await anext(source))
    assert isinstance(source, AsyncGenerator)  # so its consumer is stopped now
    await source.aclose()
    assert rejected == []
    assert all(isinstance(s, ProtectedSnapshot) for s in shown)
    assert {s.journey_token for s in shown} == {
        r.journey_token for r in records if r.life_experience == life_experience
    }
