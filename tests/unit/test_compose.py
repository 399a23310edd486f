"""docker-compose.yml and the launcher build the same Kafka configuration."""

from __future__ import annotations

from pathlib import Path

import yaml

from broker.kafka.config import (
    CLIENT_LISTENER,
    CONTROLLER_LISTENER,
    NodeConfig,
    broker_properties,
    cluster_settings,
)

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def env_to_properties(env: dict[str, str]) -> dict[str, str]:
    """The apache/kafka image's rule: KAFKA_FOO_BAR=x becomes foo.bar=x."""
    return {
        key.removeprefix("KAFKA_").lower().replace("_", "."): str(value)
        for key, value in env.items()
        if key.startswith("KAFKA_")
    }


def protocol_map(text: str) -> dict[str, str]:
    return dict(item.split(":") for item in text.split(","))


def listener_names(text: str) -> set[str]:
    return {item.split("://")[0] for item in text.split(",")}


def test_compose_matches_launcher_configuration() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = {n: s for n, s in compose["services"].items() if n.startswith("kafka-")}
    assert len(services) == 3
    voters = [NodeConfig(i, "127.0.0.1", 9092, 9093, Path("/d")) for i in (1, 2, 3)]
    for name, service in services.items():
        assert service["image"].startswith("apache/kafka:")
        props = env_to_properties(service["environment"])
        node_id = int(props["node.id"])
        launcher = broker_properties(voters[node_id - 1], voters)
        for key, value in cluster_settings(3).items():
            assert props.get(key) == value, f"{name}: {key}"
        for key in ("process.roles", "controller.listener.names", "inter.broker.listener.name"):
            assert props[key] == launcher[key], f"{name}: {key}"
        assert len(props["controller.quorum.voters"].split(",")) == 3
        compose_map = protocol_map(props["listener.security.protocol.map"])
        launcher_map = protocol_map(launcher["listener.security.protocol.map"])
        for listener in (CLIENT_LISTENER, CONTROLLER_LISTENER):
            assert compose_map[listener] == launcher_map[listener], f"{name}: {listener}"
        assert listener_names(launcher["listeners"]) <= listener_names(props["listeners"])


def test_image_version_matches_pinned_kafka() -> None:
    from broker.kafka.jars import KAFKA_VERSION

    compose = yaml.safe_load(COMPOSE.read_text())
    images = {s["image"] for s in compose["services"].values() if "kafka" in s["image"]}
    assert images == {f"apache/kafka:{KAFKA_VERSION}"}
