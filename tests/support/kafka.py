"""Which real Kafka the test session uses.

1. ``CX_BOOTSTRAP_SERVERS`` set: that cluster (security from the other ``CX_*`` settings).
2. ``CX_TEST_KAFKA=docker`` and a Docker engine answering: testcontainers' Kafka module.
3. Otherwise: the project's own launcher (Maven-fetched Apache Kafka, KRaft, 127.0.0.1),
   secured like production by default: SCRAM-SHA-512 over TLS with ACLs
   (``CX_TEST_SECURITY=sasl|none`` picks another mode). Tests act as the admin principal.

Never a skip: if none of these can start, the session fails with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broker.kafka.launcher import LocalKafka
from broker.security.profile import load_settings
from broker.settings import Settings

__all__ = ["KafkaEndpoint", "docker_available", "session_kafka"]

DOCKER_IMAGE = "confluentinc/cp-kafka:7.9.0"

#: The CX_* settings that say how to reach and authenticate to the session cluster.
SECURITY_ENV = ("CX_SECURITY_PROTOCOL", "CX_SASL_USERNAME", "CX_SASL_PASSWORD", "CX_CA_FILE")


@dataclass
class KafkaEndpoint:
    """A cluster the tests can reach, how it was provided, and how to authenticate."""

    bootstrap_servers: str
    kind: str  # "external" | "docker" | "local"
    local: LocalKafka | None = None
    #: CX_* variables (besides the bootstrap address) a client of this cluster needs.
    security_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """CX_* environment for a subprocess that talks to this cluster as the admin."""
        return {"CX_BOOTSTRAP_SERVERS": self.bootstrap_servers, **self.security_env}

    def settings(self, **overrides: Any) -> Settings:
        """Settings for this cluster (admin credentials), with ``overrides`` on top."""
        fields: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            **{k.removeprefix("CX_").lower(): v for k, v in self.security_env.items()},
        }
        fields.update(overrides)
        return Settings(**fields)

    def client_kwargs(self) -> dict[str, Any]:
        """aiokafka keyword arguments (bootstrap and security) for this cluster."""
        return self.settings().kafka_client_kwargs()


def docker_available() -> bool:
    """True when a Docker engine answers a ping."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _local_security_env(kafka: LocalKafka) -> dict[str, str]:
    """The admin principal's credentials of a secured local cluster, as CX_* variables."""
    state = kafka.state
    if state.security == "none":
        return {}
    admin = load_settings(state_dir=kafka.settings.state_dir, profile="admin")
    env = {
        "CX_SECURITY_PROTOCOL": admin.security_protocol.value,
        "CX_SASL_USERNAME": admin.sasl_username or "",
        "CX_SASL_PASSWORD": admin.sasl_password.get_secret_value() if admin.sasl_password else "",
    }
    if admin.ca_file is not None:
        env["CX_CA_FILE"] = str(admin.ca_file)
    return env


@contextlib.asynccontextmanager
async def session_kafka(state_dir: Path) -> AsyncIterator[KafkaEndpoint]:
    """Provide one Kafka cluster for the whole test session."""
    external = os.environ.get("CX_BOOTSTRAP_SERVERS")
    if external:
        env = {k: os.environ[k] for k in SECURITY_ENV if os.environ.get(k)}
        yield KafkaEndpoint(external, "external", security_env=env)
        return
    if os.environ.get("CX_TEST_KAFKA") == "docker" and docker_available():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer(DOCKER_IMAGE).with_kraft() as container:
            yield KafkaEndpoint(container.get_bootstrap_server(), "docker")
        return
    security = os.environ.get("CX_TEST_SECURITY", "sasl-tls")
    settings = Settings(state_dir=state_dir, bootstrap_servers="")
    async with LocalKafka(settings, nodes=1, security=security) as kafka:
        yield KafkaEndpoint(
            kafka.bootstrap_servers, "local", kafka, security_env=_local_security_env(kafka)
        )


def subprocess_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without ambient CX_* settings, plus ``extra``.

    The session cluster's security variables stay: the autouse ``_cx_env`` fixture sets
    them only for tests on the session cluster, so a subprocess of such a test can
    authenticate, and a test on its own cluster never inherits them.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_") or k in SECURITY_ENV}
    env.update(extra)
    return env


def client_kwargs(bootstrap_servers: str) -> dict[str, Any]:
    """aiokafka keyword arguments for ``bootstrap_servers`` with the test's CX_* security."""
    return Settings(bootstrap_servers=bootstrap_servers).kafka_client_kwargs()
