"""docker-compose.yml and the launcher build the same Kafka configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from broker.security.plan import expand_plan, load_plan
from contracts.catalog import load_catalog
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


def kafka_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in compose["services"].items() if n.startswith("kafka-")}


def test_compose_matches_launcher_configuration() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = kafka_services(compose)
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
    for name, service in kafka_services(compose).items():
        props = env_to_properties(service["environment"])
        for key, value in want.items():
            assert props.get(key) == value, f"{name}: {key}"
        assert "User:ANONYMOUS" not in props["super.users"]


def test_compose_formats_storage_with_the_admin_scram_user() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, service in kafka_services(compose).items():
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


#: The long-running services compose runs: service -> (principal, command, metrics port).
CX_SERVICES = {
    "joiner": ("joiner", "join", 9464),
    "insights": ("insights", "insights", 9465),
}


def test_compose_runs_the_services_under_their_principals_with_metrics_ports() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    principals = expand_plan(load_plan(), [a.id for a in load_catalog().agencies])
    for name, (principal, command, port) in CX_SERVICES.items():
        service = services[name]
        env = service["environment"]
        assert env["CX_PROFILE"] == principal and principal in principals, name
        # Never the admin's credentials, and no group or ids other than the defaults.
        assert "CX_SASL_USERNAME" not in env and "CX_SASL_PASSWORD" not in env, name
        assert service["command"][0] == command and "--group" not in service["command"], name
        args = service["command"]
        assert args[args.index("--metrics-port") + 1] == str(port), name
        # Inside the compose network only; the host sees the port on 127.0.0.1.
        assert env["CX_METRICS_HOST"] == "0.0.0.0", name  # noqa: S104
        assert env["CX_LOG_FORMAT"] == "json", name
        assert f"127.0.0.1:{port}:{port}" in service["ports"], name
        assert "/readyz" in " ".join(service["healthcheck"]["test"]), name
        assert service["depends_on"]["cx-init"]["condition"] == "service_completed_successfully"
        assert env["CX_STATE_DIR"] == services["cx-init"]["environment"]["CX_STATE_DIR"]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    # Only the init job acts as the admin (topics, access plan, credentials).
    init = services["cx-init"]
    assert init["environment"]["CX_SASL_USERNAME"] == "admin"
    assert "cxbroker init" in init["command"][0]
    assert (REPO / "deploy" / "Dockerfile").read_text().count("pip install") == 1


def test_prometheus_scrapes_every_service_metrics_port() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    prometheus = compose["services"]["prometheus"]
    mount = next(
        v for v in prometheus["volumes"] if v.endswith(":/etc/prometheus/prometheus.yml:ro")
    )
    config = yaml.safe_load((REPO / mount.split(":", 1)[0]).read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {f"{name}:{port}" for name, (_, _, port) in CX_SERVICES.items()}
    assert set(prometheus["depends_on"]) == set(CX_SERVICES)
