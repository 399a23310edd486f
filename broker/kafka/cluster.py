"""The life cycle of the local cluster: format, start (or reuse), stop and report status.

The cluster's pids, ports and log paths are recorded in ``<state>/kafka/cluster.json``
(:mod:`broker.kafka.state`) so ``cxbroker kafka status|down`` in another process finds
them. Only processes recorded there, whose command line still names this cluster's
config, are ever signalled (:mod:`broker.kafka.process`).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from broker.errors import KafkaLaunchError
from broker.kafka.client import client_security_kwargs
from broker.kafka.config import (
    SCRAM_MECHANISM,
    ClusterSecurity,
    NodeSecurity,
    broker_properties,
    render_properties,
)
from broker.kafka.jars import KAFKA_VERSION, ensure_jars
from broker.kafka.process import (
    free_port,
    is_our_process,
    java_command,
    port_open,
    spawn_node,
    stop_nodes,
    wait_ready,
)
from broker.kafka.state import ClusterState, NodeState, read_cluster_state, write_cluster_state
from broker.security.credentials import ADMIN, ensure_credential, read_credential
from broker.security.files import write_private
from broker.security.tls import ensure_tls
from broker.settings import Settings

__all__ = [
    "admin_kwargs",
    "cluster_status",
    "new_cluster_id",
    "start_cluster",
    "stop_cluster",
]


def new_cluster_id() -> str:
    """A KRaft cluster id: base64url of 16 random bytes, never starting with ``-``.

    StorageTool parses an id that starts with ``-`` as an option (1 in 64 random ids).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _new_cluster(
    cluster_dir: Path, nodes: int, jars_dir: Path, security: ClusterSecurity
) -> ClusterState:
    node_states = []
    for node_id in range(1, nodes + 1):
        node_dir = cluster_dir / f"node-{node_id}"
        node_dir.mkdir(parents=True, exist_ok=True)
        node_states.append(NodeState(node_id, free_port(), free_port(), str(node_dir), pid=None))
    cluster_id = new_cluster_id()
    return ClusterState(
        cluster_id, KAFKA_VERSION, node_states, str(jars_dir), security=security.value
    )


def _node_security(settings: Settings, state: ClusterState) -> NodeSecurity | None:
    """The admin credential and TLS files of a secured cluster (generated on first use)."""

    mode = state.security_mode
    if mode is ClusterSecurity.NONE:
        return None
    admin = ensure_credential(settings.state_dir, ADMIN)
    if mode is ClusterSecurity.SASL_TLS:
        tls = ensure_tls(settings.cluster_dir / "tls")
        state.ca_file = str(tls.ca_cert)
        return NodeSecurity(mode, admin.username, admin.password, tls.keystore, tls.truststore)
    return NodeSecurity(mode, admin.username, admin.password)


def _write_configs(state: ClusterState, security: NodeSecurity | None) -> None:

    voters = [n.config() for n in state.nodes]
    for node in state.nodes:
        props = broker_properties(node.config(), voters, security)
        # 0600: a secured node's config holds the broker's own SCRAM password.
        write_private(node.config_path, render_properties(props).encode())


def admin_kwargs(settings: Settings, state: ClusterState) -> dict[str, Any]:
    """aiokafka security keyword arguments for the cluster's admin (super) user."""

    mode = state.security_mode
    if mode is ClusterSecurity.NONE:
        return {}
    admin = read_credential(settings.state_dir, ADMIN)
    ca = Path(state.ca_file) if state.ca_file else None
    return client_security_kwargs(mode.client_protocol, admin, ca)


def _format_storage(state: ClusterState, heap: str, security: NodeSecurity | None) -> None:
    """Format the storage of every node not formatted yet, all nodes at once."""
    procs = []
    for node in state.nodes:
        if (node.data_dir / "meta.properties").exists():
            continue
        cmd = java_command(
            Path(state.jars_dir),
            heap,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            state.cluster_id,
            "-c",
            str(node.config_path),
            *(
                # The admin (super) user must exist before anyone can create users.
                [
                    "-S",
                    f"{SCRAM_MECHANISM}=[name={security.admin_user},"
                    f"password={security.admin_password}]",
                ]
                if security is not None
                else []
            ),
            log_dir=Path(node.dir),
        )
        procs.append(
            (node, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        )
    for node, proc in procs:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            text = out.decode(errors="replace").strip().splitlines()[-10:]
            if security is not None:  # the tool may echo its arguments; never the password
                text = [line.replace(security.admin_password, "***") for line in text]
            raise KafkaLaunchError(
                f"formatting storage of node {node.node_id} failed:\n" + "\n".join(text)
            )


def _check_recorded(
    state: ClusterState, nodes: int, wanted: ClusterSecurity | None, cluster_dir: Path
) -> None:
    """Refuse to start a recorded cluster with another size or security than asked for."""
    if len(state.nodes) != nodes:
        if any(is_our_process(n) for n in state.nodes):
            raise KafkaLaunchError(
                f"a {len(state.nodes)}-node cluster is running from {cluster_dir}; "
                "run `cxbroker kafka down` first"
            )
        raise KafkaLaunchError(
            f"{cluster_dir} holds a {len(state.nodes)}-node cluster; "
            "run `cxbroker kafka down --purge` to remove it, or use another CX_STATE_DIR"
        )
    if wanted is not None and state.security_mode is not wanted:
        raise KafkaLaunchError(
            f"{cluster_dir} holds a cluster with security {state.security!r}, not "
            f"{wanted.value!r}; run `cxbroker kafka down --purge` first, or use another "
            "CX_STATE_DIR"
        )


async def start_cluster(
    settings: Settings, nodes: int = 1, security: ClusterSecurity | str | None = None
) -> ClusterState:
    """Start (or reuse) the local cluster recorded in ``settings.cluster_dir``.

    A running cluster is reused as it is. A stopped one is restarted on its
    ports with its data. A new one is formatted on free loopback ports, with
    ``security`` (default ``none``). A recorded cluster keeps the security it was
    formatted with; asking for another one is an error.
    """
    wanted = ClusterSecurity(security) if security is not None else None
    if nodes not in (1, 3):
        raise KafkaLaunchError("a local cluster has 1 or 3 nodes")
    cluster_dir = settings.cluster_dir
    cluster_dir.mkdir(parents=True, exist_ok=True)
    jars_dir = ensure_jars(settings.cache_dir)
    state = read_cluster_state(cluster_dir)
    if state is not None:
        _check_recorded(state, nodes, wanted, cluster_dir)
        if all(is_our_process(n) for n in state.nodes):
            state.reused = True
            return state
    if state is None:
        state = _new_cluster(cluster_dir, nodes, jars_dir, wanted or ClusterSecurity.NONE)
    state.jars_dir = str(jars_dir)
    node_security = _node_security(settings, state)
    _write_configs(state, node_security)
    await asyncio.to_thread(_format_storage, state, settings.kafka_heap, node_security)
    to_start = [n for n in state.nodes if not is_our_process(n)]
    try:
        for node in to_start:
            spawn_node(state, node, settings.kafka_heap)
        write_cluster_state(cluster_dir, state)
        await wait_ready(
            state, settings.kafka_start_timeout, state.nodes, admin_kwargs(settings, state)
        )
    except BaseException:
        stop_nodes(state, to_start, timeout=10)
        write_cluster_state(cluster_dir, state)
        raise
    return state


def stop_cluster(settings: Settings, *, purge: bool = False, timeout: float = 30) -> list[int]:
    """Stop the recorded cluster's processes (only those); return the node ids stopped.

    Data and logs stay unless ``purge`` is set, which removes the cluster dir.
    """
    cluster_dir = settings.cluster_dir
    state = read_cluster_state(cluster_dir)
    if state is None:
        return []
    stopped = stop_nodes(state, state.nodes, timeout)
    if purge:
        shutil.rmtree(cluster_dir)
    else:
        write_cluster_state(cluster_dir, state)
    return stopped


def cluster_status(settings: Settings) -> tuple[ClusterState | None, dict[int, bool]]:
    """The recorded cluster and, per node, whether its process runs and its port answers."""
    state = read_cluster_state(settings.cluster_dir)
    if state is None:
        return None, {}
    return state, {n.node_id: is_our_process(n) and port_open(n.port) for n in state.nodes}
