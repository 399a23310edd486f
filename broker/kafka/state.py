"""The record of a local cluster: its nodes, ports, pids, security and where its files are.

``cxbroker kafka up`` writes it to ``<state dir>/kafka/cluster.json``; ``status``, ``down``,
the profiles (which protocol and CA a client of the local cluster uses) and the settings
resolution (:func:`broker.security.profile.resolve_settings`) read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from broker.errors import KafkaLaunchError
from broker.kafka.config import ClusterSecurity, NodeConfig

__all__ = [
    "HOST",
    "STATE_FILE",
    "ClusterState",
    "NodeState",
    "read_cluster_state",
    "write_cluster_state",
]

STATE_FILE = "cluster.json"
#: Every local node binds to loopback only.
HOST = "127.0.0.1"


@dataclass
class NodeState:
    """One node of a local cluster, as recorded in the state file."""

    node_id: int
    port: int
    controller_port: int
    dir: str
    pid: int | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.dir) / "data"

    @property
    def config_path(self) -> Path:
        return Path(self.dir) / "server.properties"

    @property
    def log_path(self) -> Path:
        return Path(self.dir) / "server.log"

    @property
    def stdout_path(self) -> Path:
        return Path(self.dir) / "stdout.log"

    def config(self) -> NodeConfig:
        return NodeConfig(self.node_id, HOST, self.port, self.controller_port, self.data_dir)


@dataclass
class ClusterState:
    """A local cluster: identity, nodes and where its files are."""

    cluster_id: str
    kafka_version: str
    nodes: list[NodeState]
    jars_dir: str
    # "none" | "sasl" | "sasl-tls" (ClusterSecurity); fixed when the storage is formatted.
    security: str = ClusterSecurity.NONE.value
    # The CA certificate clients must trust, for sasl-tls clusters.
    ca_file: str | None = None
    reused: bool = field(default=False, compare=False)

    @property
    def security_mode(self) -> ClusterSecurity:
        """The cluster's security mode."""
        return ClusterSecurity(self.security)

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    def node(self, node_id: int) -> NodeState:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KafkaLaunchError(f"node {node_id} is not part of this cluster")

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("reused")
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data = json.loads(text)
        data["nodes"] = [NodeState(**n) for n in data["nodes"]]
        return cls(**data)


def read_cluster_state(cluster_dir: Path) -> ClusterState | None:
    """The recorded cluster in ``cluster_dir``, or None when none was started there."""
    path = cluster_dir / STATE_FILE
    if not path.exists():
        return None
    return ClusterState.from_json(path.read_text())


def write_cluster_state(cluster_dir: Path, state: ClusterState) -> None:
    """Record ``state`` in ``cluster_dir`` (atomically: readers see the old or the new)."""
    tmp = cluster_dir / (STATE_FILE + ".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(cluster_dir / STATE_FILE)
