"""Kafka server configuration for local clusters, shared with docker-compose.yml.

One function builds every node's ``server.properties`` so the launcher and the
compose file (checked by a test) cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

__all__ = [
    "AUTHORIZER_CLASS",
    "CLIENT_LISTENER",
    "CONTROLLER_LISTENER",
    "SCRAM_MECHANISM",
    "ClusterSecurity",
    "NodeConfig",
    "NodeSecurity",
    "broker_properties",
    "cluster_settings",
    "render_properties",
    "security_properties",
    "super_users",
]

CLIENT_LISTENER = "CLIENT"
CONTROLLER_LISTENER = "CONTROLLER"
SCRAM_MECHANISM = "SCRAM-SHA-512"
AUTHORIZER_CLASS = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


class ClusterSecurity(StrEnum):
    """How a local cluster's client listener is secured (``cxbroker kafka up --security``)."""

    NONE = "none"
    SASL = "sasl"
    SASL_TLS = "sasl-tls"

    @property
    def client_protocol(self) -> str:
        """The Kafka security protocol of the client (and inter-broker) listener."""
        return {
            ClusterSecurity.NONE: "PLAINTEXT",
            ClusterSecurity.SASL: "SASL_PLAINTEXT",
            ClusterSecurity.SASL_TLS: "SASL_SSL",
        }[self]

    @property
    def controller_protocol(self) -> str:
        """The security protocol of the controller listener (always on 127.0.0.1)."""
        return "PLAINTEXT" if self is ClusterSecurity.NONE else "SASL_PLAINTEXT"


@dataclass(frozen=True)
class NodeSecurity:
    """What a secured node needs: its mode, the admin (broker) user, TLS files in PEM.

    ``keystore`` holds the broker's unencrypted PKCS#8 key followed by its
    certificate chain; ``truststore`` holds the local CA certificate.
    """

    mode: ClusterSecurity
    admin_user: str
    admin_password: str
    keystore: Path | None = None
    truststore: Path | None = None


def super_users(admin_user: str) -> list[str]:
    """Principals the authorizer lets do everything: the admin user only.

    Brokers and controllers authenticate to each other as the admin user too
    (SCRAM on CLIENT, PLAIN on CONTROLLER), so they need no other entry. In
    particular not ``User:ANONYMOUS``: with a PLAINTEXT controller listener the
    nodes register as ANONYMOUS and it must be a super user (the controller
    refuses CONTROLLER_REGISTRATION without CLUSTER_ACTION), which lets any local
    process add ACLs through the controller port (``AclCommand
    --bootstrap-controller``) - verified against Kafka 4.1.1.
    """
    return [f"User:{admin_user}"]


def security_properties(security: NodeSecurity) -> dict[str, str]:
    """Properties that turn on SCRAM, the authorizer and (for sasl-tls) TLS on CLIENT."""
    if security.mode is ClusterSecurity.NONE:
        return {}
    prefix = f"listener.name.{CLIENT_LISTENER.lower()}"
    controller = f"listener.name.{CONTROLLER_LISTENER.lower()}"
    user, password = security.admin_user, security.admin_password
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{password}";'
    )
    # SCRAM cannot serve the controller listener (its users live in the metadata the
    # controllers serve), so nodes use PLAIN there, with one static user: the admin.
    controller_jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{user}" password="{password}" user_{user}="{password}";'
    )
    props = {
        "sasl.mechanism.controller.protocol": "PLAIN",
        f"{controller}.sasl.enabled.mechanisms": "PLAIN",
        f"{controller}.plain.sasl.jaas.config": controller_jaas,
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        f"{prefix}.sasl.enabled.mechanisms": SCRAM_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
        f"{prefix}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas,
        "authorizer.class.name": AUTHORIZER_CLASS,
        "super.users": ";".join(super_users(security.admin_user)),
        "allow.everyone.if.no.acl.found": "false",
    }
    if security.mode is ClusterSecurity.SASL_TLS:
        if security.keystore is None or security.truststore is None:
            raise ValueError("sasl-tls needs a PEM keystore and truststore")
        props.update(
            {
                f"{prefix}.ssl.keystore.type": "PEM",
                f"{prefix}.ssl.keystore.location": str(security.keystore),
                f"{prefix}.ssl.truststore.type": "PEM",
                f"{prefix}.ssl.truststore.location": str(security.truststore),
                # Brokers verify each other's certificate name (SAN 127.0.0.1) too.
                "ssl.endpoint.identification.algorithm": "https",
                "ssl.client.auth": "none",
            }
        )
    return props


@dataclass(frozen=True)
class NodeConfig:
    """Addresses and storage of one combined broker+controller node."""

    node_id: int
    host: str
    port: int
    controller_port: int
    data_dir: Path


def cluster_settings(nodes: int) -> dict[str, str]:
    """Replication and coordinator settings that depend only on the cluster size.

    Replication factor is min(3, nodes); ``min.insync.replicas`` is 2 when there
    are at least 3 replicas, so ``acks=all`` survives the loss of one broker.
    """
    rf = min(3, nodes)
    min_isr = 2 if rf >= 3 else 1
    return {
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(rf),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "num.partitions": "6",
    }


def broker_properties(
    node: NodeConfig, voters: list[NodeConfig], security: NodeSecurity | None = None
) -> dict[str, str]:
    """``server.properties`` of one KRaft node in combined broker+controller mode.

    Without ``security`` (or with mode ``none``) every listener is PLAINTEXT.
    """
    mode = security.mode if security else ClusterSecurity.NONE
    quorum = ",".join(f"{v.node_id}@{v.host}:{v.controller_port}" for v in voters)
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": quorum,
        "listeners": (
            f"{CLIENT_LISTENER}://{node.host}:{node.port},"
            f"{CONTROLLER_LISTENER}://{node.host}:{node.controller_port}"
        ),
        "advertised.listeners": f"{CLIENT_LISTENER}://{node.host}:{node.port}",
        "inter.broker.listener.name": CLIENT_LISTENER,
        "controller.listener.names": CONTROLLER_LISTENER,
        "listener.security.protocol.map": (
            f"{CONTROLLER_LISTENER}:{mode.controller_protocol},"
            f"{CLIENT_LISTENER}:{mode.client_protocol}"
        ),
        "log.dirs": str(node.data_dir),
    }
    props.update(cluster_settings(len(voters)))
    if security is not None:
        props.update(security_properties(security))
    return props


def render_properties(props: dict[str, str]) -> str:
    """Java properties text (values here never need escaping beyond backslashes)."""
    lines = ["# written by cx-broker; regenerated on every start"]
    lines += [f"{key}={value.replace(chr(92), chr(92) * 2)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"
