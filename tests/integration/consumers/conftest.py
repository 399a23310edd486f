"""Fixtures of the consumers' integration tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from broker.provision import provision_topics
from broker.settings import Settings
from tests.support.joiner import PARTITIONS, Env
from tests.support.kafka import KafkaEndpoint
from tests.support.keyrings import keyring_for


@pytest.fixture
async def env(kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]) -> Env:
    settings = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=unique("j") + ".",
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
        partitions=PARTITIONS,
    )
    _, result = await provision_topics(settings)
    result.raise_for_conflicts()
    return Env(settings, keyring_for(settings.keyring_path), unique("joiner"))
