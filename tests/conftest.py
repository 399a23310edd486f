"""Session-wide fixtures: one real Kafka broker per test session, unique names per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from broker.kafka.launcher import LocalKafka
from broker.settings import Settings
from tests.support.kafka import KafkaEndpoint, session_kafka


@pytest.fixture(scope="session")
def session_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir for the session's local cluster (never the user's own)."""
    return tmp_path_factory.mktemp("cx-state")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka(session_state_dir: Path) -> AsyncIterator[KafkaEndpoint]:
    """The session's real Kafka cluster (see tests/kafka_fixture.py for how it is chosen)."""
    async with session_kafka(session_state_dir) as endpoint:
        yield endpoint


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def three_node_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LocalKafka]:
    """A 3-node local cluster (RF 3, min.insync.replicas 2), started once for the session's
    3-node tests; each uses its own topic prefix, and a test that stops a node starts it
    again."""
    async with LocalKafka(
        Settings(state_dir=tmp_path_factory.mktemp("three-nodes")), nodes=3
    ) as local:
        yield local


@pytest.fixture
def kafka_settings(kafka: KafkaEndpoint, tmp_path: Path) -> Settings:
    """Settings pointing at the session cluster, with a private state dir per test."""
    return kafka.settings(
        state_dir=tmp_path / "state",
        keyring_dir=tmp_path / "keyring",
    )


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names for topics and groups, so tests sharing a broker never interfere."""
    run = uuid.uuid4().hex[:8]

    def make(prefix: str) -> str:
        return f"{prefix}-{run}-{uuid.uuid4().hex[:6]}"

    return make


@pytest.fixture(autouse=True)
def _cx_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their Settings explicitly; a developer's CX_STATE_DIR must not leak in.

    A test on the session cluster gets its security settings (the admin principal's
    credentials on a secured cluster) as CX_* variables, so every ``Settings(...)`` it
    builds can authenticate.
    """
    keep = ("CX_BOOTSTRAP_SERVERS", "CX_TEST_KAFKA", "CX_TEST_SECURITY")
    for name in list(os.environ):
        if name.startswith("CX_") and name not in keep:
            monkeypatch.delenv(name)
    if "kafka" in request.fixturenames:
        endpoint: KafkaEndpoint = request.getfixturevalue("kafka")
        for name, value in endpoint.security_env.items():
            monkeypatch.setenv(name, value)
