"""LocalKafka: the local cluster as an async context manager, for tests, the demo and
benchmarks.

It starts (or reuses) the cluster through :mod:`broker.kafka.cluster` and takes single
nodes away and back through :mod:`broker.kafka.process`, recording each change in the
cluster record so ``cxbroker kafka status|down`` sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

from broker.errors import KafkaLaunchError
from broker.kafka.cluster import admin_kwargs, start_cluster, stop_cluster
from broker.kafka.config import ClusterSecurity
from broker.kafka.process import (
    is_our_process,
    signal_node,
    spawn_node,
    stop_nodes,
    wait_gone,
    wait_ready,
)
from broker.kafka.state import ClusterState, write_cluster_state
from broker.settings import Settings

__all__ = ["LocalKafka"]


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
        if signal_node(node, signal.SIGKILL):
            wait_gone(node, 10)
        node.pid = None
        write_cluster_state(self.settings.cluster_dir, self.state)

    def stop_node(self, node_id: int, timeout: float = 30) -> None:
        """Stop one node gracefully (SIGTERM, then SIGKILL after ``timeout``)."""
        stop_nodes(self.state, [self.state.node(node_id)], timeout)
        write_cluster_state(self.settings.cluster_dir, self.state)

    async def start_node(self, node_id: int) -> None:
        """Start a stopped node again on its ports with its data, and wait until it serves."""
        node = self.state.node(node_id)
        if is_our_process(node):
            return
        spawn_node(self.state, node, self.settings.kafka_heap)
        write_cluster_state(self.settings.cluster_dir, self.state)
        await wait_ready(
            self.state,
            self.settings.kafka_start_timeout,
            [node],
            admin_kwargs(self.settings, self.state),
        )


@contextlib.asynccontextmanager
async def local_kafka(settings: Settings, nodes: int = 1) -> AsyncIterator[LocalKafka]:
    """Functional form of :class:`LocalKafka`."""
    async with LocalKafka(settings, nodes) as kafka:
        yield kafka
