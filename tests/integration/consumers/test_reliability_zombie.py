"""Zombie joiners (KIP-447): a joiner frozen past its session timeout while it holds an
open transaction loses its partitions to the other joiner; thawed, it is fenced, aborts
and rejoins, and the joined output still equals the reference fold (no duplicate or
missing snapshot version). See tests/support/zombie.py for one round.

The default run does a few rounds; ``pytest -m long`` the full ten.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.joiner import make_env
from tests.support.kafka import KafkaEndpoint
from tests.support.zombie import zombie_rounds

pytestmark = pytest.mark.kafka


async def run(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], rounds: int
) -> None:
    env = await make_env(kafka.bootstrap_servers, tmp_path, unique("zombie"), unique("joiner"))
    result = await zombie_rounds(env, rounds, seed=rounds * 7 + 1)
    print(f"zombie rounds: {result}")
    assert result.rounds == rounds
    assert all(n >= 1 for n in result.fenced)  # every thawed joiner said it was fenced


@pytest.mark.timeout(900)
async def test_frozen_joiner_is_fenced_and_output_stays_exact(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    await run(kafka, tmp_path, unique, rounds=2)


@pytest.mark.long
@pytest.mark.timeout(1800)
async def test_ten_zombie_rounds_at_random_points(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    await run(kafka, tmp_path, unique, rounds=10)
