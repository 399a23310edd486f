"""docker-compose.yml and the launcher build the same Kafka configuration."""

from __future__ import annotations

from pathlib import Path

import yaml

from broker.kafka.cluster import new_cluster_id
from broker.kafka.config import (
    CLIENT_LISTENER,
    CONTROLLER_LISTENER,
    ClusterSecurity,
    NodeConfig,
    NodeSecurity,
    broker_properties,
    cluster_settings,
    security_properties,
)
from broker.kafka.jars import KAFKA_VERSION
from tests.support.paths import REPO

COMPOSE = REPO / "docker-compose.yml"
# What docker compose substitutes; the tests compare with this stand-in for the password.
PASSWORD_VAR = "${CX_KAFKA_ADMIN_PASSWORD:?set CX_KAFKA_ADMIN_PASSWORD}"
PASSWORD = "PW"
# Compose runs what `cxbroker kafka up --security sasl` runs (no TLS in compose yet).
SECURITY = NodeSecurity(ClusterSecurity.SASL, "admin", PASSWORD)


def property_name(env_key: str) -> str:
    """The apache/kafka image's rule: "___" is "-", "__" is "_", "_" is ".", lower case."""
    key = env_key.removeprefix("KAFKA_")
    return (
        key.replace("___", "\0")
        .replace("__", "\1")
        .replace("_", ".")
        .replace("\0", "-")
        .replace("\1", "_")
        .lower()
    )


def env_to_properties(env: dict[str, str]) -> dict[str, str]:
    """The properties the apache/kafka image renders from KAFKA_* variables."""
    return {
        property_name(key): str(value).replace(PASSWORD_VAR, PASSWORD)
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
        launcher = broker_properties(voters[node_id - 1], voters, SECURITY)
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
        # The host listener is secured like CLIENT.
        assert compose_map["HOST"] == compose_map[CLIENT_LISTENER]
        for key, value in launcher.items():
            if key.startswith(f"listener.name.{CLIENT_LISTENER.lower()}."):
                host_key = key.replace(f".{CLIENT_LISTENER.lower()}.", ".host.", 1)
                assert props[host_key] == value, f"{name}: {host_key}"


def test_compose_security_matches_launcher_sasl() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    want = security_properties(SECURITY)
    assert "authorizer.class.name" in want
    for name, service in compose["services"].items():
        props = env_to_properties(service["environment"])
        for key, value in want.items():
            assert props.get(key) == value, f"{name}: {key}"
        assert "User:ANONYMOUS" not in props["super.users"]


def test_compose_formats_storage_with_the_admin_scram_user() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, service in compose["services"].items():
        script = "\n".join(service["command"])
        assert "--add-scram" in script and "SCRAM-SHA-512=[name=admin," in script, name
        assert script.rstrip().endswith("exec /etc/kafka/docker/run"), name


def test_image_version_matches_pinned_kafka() -> None:

    compose = yaml.safe_load(COMPOSE.read_text())
    images = {s["image"] for s in compose["services"].values() if "kafka" in s["image"]}
    assert images == {f"apache/kafka:{KAFKA_VERSION}"}


def test_cluster_ids_never_look_like_options() -> None:
    import base64

    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
