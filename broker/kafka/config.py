"""Kafka server configuration for local clusters, shared with docker-compose.yml.

One function builds every node's ``server.properties`` so the launcher and the
compose file (checked by a test) cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLIENT_LISTENER",
    "CONTROLLER_LISTENER",
    "NodeConfig",
    "broker_properties",
    "cluster_settings",
    "render_properties",
]

CLIENT_LISTENER = "CLIENT"
CONTROLLER_LISTENER = "CONTROLLER"


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


def broker_properties(node: NodeConfig, voters: list[NodeConfig]) -> dict[str, str]:
    """``server.properties`` of one KRaft node in combined broker+controller mode."""
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
            f"{CONTROLLER_LISTENER}:PLAINTEXT,{CLIENT_LISTENER}:PLAINTEXT"
        ),
        "log.dirs": str(node.data_dir),
    }
    props.update(cluster_settings(len(voters)))
    return props


def render_properties(props: dict[str, str]) -> str:
    """Java properties text (values here never need escaping beyond backslashes)."""
    lines = ["# written by cx-broker; regenerated on every start"]
    lines += [f"{key}={value.replace(chr(92), chr(92) * 2)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"
