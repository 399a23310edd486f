"""Which real Kafka the test session uses.

1. ``CX_BOOTSTRAP_SERVERS`` set: that cluster.
2. ``CX_TEST_KAFKA=docker`` and a Docker engine answering: testcontainers' Kafka module.
3. Otherwise: the project's own launcher (Maven-fetched Apache Kafka, KRaft, 127.0.0.1).

Never a skip: if none of these can start, the session fails with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from broker.kafka.launcher import LocalKafka
from broker.settings import Settings

__all__ = ["KafkaEndpoint", "docker_available", "session_kafka"]

DOCKER_IMAGE = "confluentinc/cp-kafka:7.9.0"


@dataclass
class KafkaEndpoint:
    """A cluster the tests can reach, and how it was provided."""

    bootstrap_servers: str
    kind: str  # "external" | "docker" | "local"
    local: LocalKafka | None = None


def docker_available() -> bool:
    """True when a Docker engine answers a ping."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.asynccontextmanager
async def session_kafka(state_dir: Path) -> AsyncIterator[KafkaEndpoint]:
    """Provide one Kafka cluster for the whole test session."""
    external = os.environ.get("CX_BOOTSTRAP_SERVERS")
    if external:
        yield KafkaEndpoint(external, "external")
        return
    if os.environ.get("CX_TEST_KAFKA") == "docker" and docker_available():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer(DOCKER_IMAGE).with_kraft() as container:
            yield KafkaEndpoint(container.get_bootstrap_server(), "docker")
        return
    settings = Settings(state_dir=state_dir, bootstrap_servers="")
    async with LocalKafka(settings, nodes=1) as kafka:
        yield KafkaEndpoint(kafka.bootstrap_servers, "local", kafka)
