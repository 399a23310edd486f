"""The processes of local Kafka nodes: spawn a node's JVM, recognise it, signal and reap it,
and wait until it serves or is gone.

Only a process whose command line still names this node's config is ever signalled: a
recorded pid may have been reused by an unrelated process since.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from broker.errors import KafkaLaunchError
from broker.kafka.jars import java_executable
from broker.kafka.state import HOST, ClusterState, NodeState

__all__ = [
    "JVM_FLAGS",
    "free_port",
    "is_our_process",
    "java_command",
    "port_open",
    "signal_node",
    "spawn_node",
    "stop_nodes",
    "wait_gone",
    "wait_ready",
]

JVM_FLAGS = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


def free_port() -> int:
    """A loopback port no one listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """True when something accepts connections on the loopback ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def is_our_process(node: NodeState) -> bool:
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


def java_command(jars_dir: Path, heap: str, main: str, *args: str, log_dir: Path) -> list[str]:
    """The command line running ``main`` of the Kafka jars, logging under ``log_dir``."""
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


def spawn_node(state: ClusterState, node: NodeState, heap: str) -> None:
    """Start ``node``'s broker process and record its pid in ``node`` (not on disk)."""
    for port in (node.port, node.controller_port):
        if port_open(port):
            raise KafkaLaunchError(
                f"port {HOST}:{port} of node {node.node_id} is taken by another process"
            )
    cmd = java_command(
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
    while not is_our_process(node) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


async def wait_ready(
    state: ClusterState, within: float, nodes: list[NodeState], client: dict[str, Any]
) -> None:
    """Wait until every node answers a metadata request listing all expected brokers."""
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + within
    last_error = "no answer yet"
    for node in nodes:
        while True:
            if not is_our_process(node):
                raise KafkaLaunchError(
                    f"Kafka node {node.node_id} exited during start-up; last lines of "
                    f"{node.log_path}:\n{_tail(node.log_path)}\n{_tail(node.stdout_path, 10)}"
                )
            if time.monotonic() > deadline:
                raise KafkaLaunchError(
                    f"Kafka node {node.node_id} did not answer within {within:.0f}s "
                    f"({last_error}); last lines of {node.log_path}:\n{_tail(node.log_path)}"
                )
            if port_open(node.port):
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


def signal_node(node: NodeState, sig: signal.Signals) -> bool:
    """Send ``sig`` to ``node``'s process if it is still ours; True when it was sent."""
    if not is_our_process(node):
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


def wait_gone(node: NodeState, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``node``'s process to end; True when it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.pid is not None:
            _reap(node.pid)
        if not is_our_process(node):
            return True
        time.sleep(0.1)
    return False


def stop_nodes(state: ClusterState, nodes: list[NodeState], timeout: float) -> list[int]:
    """SIGTERM ``nodes``, SIGKILL those still running after ``timeout``; return the ids
    that were running. Clears each node's pid (the caller records the state)."""
    stopped = []
    for node in nodes:
        if signal_node(node, signal.SIGTERM):
            stopped.append(node.node_id)
    for node in nodes:
        if not wait_gone(node, timeout) and signal_node(node, signal.SIGKILL):
            wait_gone(node, 10)
        node.pid = None
    return stopped
