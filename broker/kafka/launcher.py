"""Start and stop a real Apache Kafka cluster (KRaft) on 127.0.0.1 from Maven-fetched jars.

The cluster's pids, ports and log paths are recorded in ``<state>/kafka/cluster.json``
so ``cxbroker kafka status|down`` in another process finds them. Only processes
recorded there, whose command line still names this cluster's config, are ever
signalled.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import Any

from broker.errors import KafkaLaunchError
from broker.kafka.config import (
    SCRAM_MECHANISM,
    ClusterSecurity,
    NodeSecurity,
    broker_properties,
    render_properties,
)
from broker.kafka.jars import KAFKA_VERSION, ensure_jars, java_executable
from broker.kafka.state import (
    HOST,
    ClusterState,
    NodeState,
    read_cluster_state,
    write_cluster_state,
)
from broker.security.credentials import ADMIN, ensure_credential, read_credential
from broker.security.files import write_private
from broker.security.profile import client_security_kwargs
from broker.security.tls import ensure_tls
from broker.settings import Settings

__all__ = [
    "LocalKafka",
    "cluster_status",
    "start_cluster",
    "stop_cluster",
]

JVM_FLAGS = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _is_our_process(node: NodeState) -> bool:
    """True when ``node.pid`` is alive and is the JVM started with this node's config."""
    if node.pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(node.config_path).encode() in cmdline


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _java_cmd(jars_dir: Path, heap: str, main: str, *args: str, log_dir: Path) -> list[str]:
    log_config = Path(str(files("broker.kafka").joinpath("log4j2.properties")))
    return [
        java_executable(),
        "-Xms128m",
        f"-Xmx{heap}",
        *JVM_FLAGS,
        f"-Dlog4j2.configurationFile={log_config}",
        f"-Dcx.kafka.logdir={log_dir}",
        "-cp",
        f"{jars_dir}/*",
        main,
        *args,
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
        node_states.append(NodeState(node_id, _free_port(), _free_port(), str(node_dir), pid=None))
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


def _admin_kwargs(settings: Settings, state: ClusterState) -> dict[str, Any]:
    """aiokafka security keyword arguments for the cluster's admin (super) user."""

    mode = state.security_mode
    if mode is ClusterSecurity.NONE:
        return {}
    admin = read_credential(settings.state_dir, ADMIN)
    ca = Path(state.ca_file) if state.ca_file else None
    return client_security_kwargs(mode.client_protocol, admin, ca)


def _format_storage(state: ClusterState, heap: str, security: NodeSecurity | None) -> None:
    procs = []
    for node in state.nodes:
        if (node.data_dir / "meta.properties").exists():
            continue
        cmd = _java_cmd(
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


def _spawn(state: ClusterState, node: NodeState, heap: str) -> None:
    for port in (node.port, node.controller_port):
        if _port_open(port):
            raise KafkaLaunchError(
                f"port {HOST}:{port} of node {node.node_id} is taken by another process"
            )
    cmd = _java_cmd(
        Path(state.jars_dir), heap, "kafka.Kafka", str(node.config_path), log_dir=Path(node.dir)
    )
    with node.stdout_path.open("ab") as out:
        # A session of its own: Ctrl-C in the terminal that ran `kafka up` does not kill it.
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    node.pid = proc.pid
    # Popen can return before the child has exec'd java; until then its command line
    # is not ours yet. Wait for the exec (or an early exit) so liveness checks hold.
    deadline = time.monotonic() + 10
    while not _is_our_process(node) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


async def _wait_ready(
    state: ClusterState, within: float, nodes: list[NodeState], client: dict[str, Any]
) -> None:
    """Wait until every node answers a metadata request listing all expected brokers."""
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + within
    last_error = "no answer yet"
    for node in nodes:
        while True:
            if not _is_our_process(node):
                raise KafkaLaunchError(
                    f"Kafka node {node.node_id} exited during start-up; last lines of "
                    f"{node.log_path}:\n{_tail(node.log_path)}\n{_tail(node.stdout_path, 10)}"
                )
            if time.monotonic() > deadline:
                raise KafkaLaunchError(
                    f"Kafka node {node.node_id} did not answer within {within:.0f}s "
                    f"({last_error}); last lines of {node.log_path}:\n{_tail(node.log_path)}"
                )
            if _port_open(node.port):
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=f"{HOST}:{node.port}", request_timeout_ms=5000, **client
                )
                try:
                    await admin.start()
                    meta = await admin.describe_cluster()
                    brokers = {b["node_id"] for b in meta["brokers"]}
                    if {n.node_id for n in state.nodes if n.pid} <= brokers:
                        break
                    last_error = f"brokers registered so far: {sorted(brokers)}"
                except Exception as exc:  # any client error means: not ready yet
                    last_error = f"{type(exc).__name__}: {exc}"
                finally:
                    with contextlib.suppress(Exception):
                        await admin.close()
            await asyncio.sleep(0.25)


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
    if state is not None and len(state.nodes) != nodes:
        if any(_is_our_process(n) for n in state.nodes):
            raise KafkaLaunchError(
                f"a {len(state.nodes)}-node cluster is running from {cluster_dir}; "
                "run `cxbroker kafka down` first"
            )
        raise KafkaLaunchError(
            f"{cluster_dir} holds a {len(state.nodes)}-node cluster; "
            "run `cxbroker kafka down --purge` to remove it, or use another CX_STATE_DIR"
        )
    if state is not None and wanted is not None and state.security_mode is not wanted:
        raise KafkaLaunchError(
            f"{cluster_dir} holds a cluster with security {state.security!r}, not "
            f"{wanted.value!r}; run `cxbroker kafka down --purge` first, or use another "
            "CX_STATE_DIR"
        )
    if state is not None and all(_is_our_process(n) for n in state.nodes):
        state.reused = True
        return state
    if state is None:
        state = _new_cluster(cluster_dir, nodes, jars_dir, wanted or ClusterSecurity.NONE)
    state.jars_dir = str(jars_dir)
    node_security = _node_security(settings, state)
    _write_configs(state, node_security)
    await asyncio.to_thread(_format_storage, state, settings.kafka_heap, node_security)
    to_start = [n for n in state.nodes if not _is_our_process(n)]
    try:
        for node in to_start:
            _spawn(state, node, settings.kafka_heap)
        write_cluster_state(cluster_dir, state)
        await _wait_ready(
            state, settings.kafka_start_timeout, state.nodes, _admin_kwargs(settings, state)
        )
    except BaseException:
        _stop_nodes(state, to_start, timeout=10)
        write_cluster_state(cluster_dir, state)
        raise
    return state


def _signal(node: NodeState, sig: signal.Signals) -> bool:
    if not _is_our_process(node):
        return False
    assert node.pid is not None
    try:
        os.kill(node.pid, sig)
    except ProcessLookupError:
        return False
    return True


def _reap(pid: int) -> None:
    # The launcher's own children must be reaped, or they linger as zombies.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(node: NodeState, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.pid is not None:
            _reap(node.pid)
        if not _is_our_process(node):
            return True
        time.sleep(0.1)
    return False


def _stop_nodes(state: ClusterState, nodes: list[NodeState], timeout: float) -> list[int]:
    stopped = []
    for node in nodes:
        if _signal(node, signal.SIGTERM):
            stopped.append(node.node_id)
    for node in nodes:
        if not _wait_gone(node, timeout) and _signal(node, signal.SIGKILL):
            _wait_gone(node, 10)
        node.pid = None
    return stopped


def stop_cluster(settings: Settings, *, purge: bool = False, timeout: float = 30) -> list[int]:
    """Stop the recorded cluster's processes (only those); return the node ids stopped.

    Data and logs stay unless ``purge`` is set, which removes the cluster dir.
    """
    cluster_dir = settings.cluster_dir
    state = read_cluster_state(cluster_dir)
    if state is None:
        return []
    stopped = _stop_nodes(state, state.nodes, timeout)
    if purge:
        import shutil

        shutil.rmtree(cluster_dir)
    else:
        write_cluster_state(cluster_dir, state)
    return stopped


def cluster_status(settings: Settings) -> tuple[ClusterState | None, dict[int, bool]]:
    """The recorded cluster and, per node, whether its process runs and its port answers."""
    state = read_cluster_state(settings.cluster_dir)
    if state is None:
        return None, {}
    return state, {n.node_id: _is_our_process(n) and _port_open(n.port) for n in state.nodes}


class LocalKafka:
    """Async context manager over a local cluster, for tests, the demo and benchmarks.

    ``async with LocalKafka(settings, nodes=3) as kafka:`` starts (or reuses) the
    cluster and stops it on exit when this object started it. ``stop_node``,
    ``kill_node`` and ``start_node`` let failure tests take one broker away.
    """

    def __init__(
        self,
        settings: Settings,
        nodes: int = 1,
        *,
        keep_running: bool = False,
        security: ClusterSecurity | str | None = None,
    ) -> None:
        self.settings = settings
        self.nodes = nodes
        self.keep_running = keep_running
        self.security = security
        self._state: ClusterState | None = None

    @property
    def state(self) -> ClusterState:
        if self._state is None:
            raise KafkaLaunchError("the local cluster is not started")
        return self._state

    @property
    def bootstrap_servers(self) -> str:
        return self.state.bootstrap_servers

    async def __aenter__(self) -> LocalKafka:
        self._state = await start_cluster(self.settings, self.nodes, self.security)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._state is not None and not self._state.reused and not self.keep_running:
            await asyncio.to_thread(stop_cluster, self.settings)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node (a crash), leaving its data."""
        node = self.state.node(node_id)
        if _signal(node, signal.SIGKILL):
            _wait_gone(node, 10)
        node.pid = None
        write_cluster_state(self.settings.cluster_dir, self.state)

    def stop_node(self, node_id: int, timeout: float = 30) -> None:
        """Stop one node gracefully (SIGTERM, then SIGKILL after ``timeout``)."""
        _stop_nodes(self.state, [self.state.node(node_id)], timeout)
        write_cluster_state(self.settings.cluster_dir, self.state)

    async def start_node(self, node_id: int) -> None:
        """Start a stopped node again on its ports with its data, and wait until it serves."""
        node = self.state.node(node_id)
        if _is_our_process(node):
            return
        _spawn(self.state, node, self.settings.kafka_heap)
        write_cluster_state(self.settings.cluster_dir, self.state)
        await _wait_ready(
            self.state,
            self.settings.kafka_start_timeout,
            [node],
            _admin_kwargs(self.settings, self.state),
        )


@contextlib.asynccontextmanager
async def local_kafka(settings: Settings, nodes: int = 1) -> AsyncIterator[LocalKafka]:
    """Functional form of :class:`LocalKafka`."""
    async with LocalKafka(settings, nodes) as kafka:
        yield kafka
