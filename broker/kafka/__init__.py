"""Local Apache Kafka (KRaft) from Maven-fetched jars: fetch, configure, start, stop."""

from broker.kafka.config import NodeConfig, broker_properties, cluster_settings
from broker.kafka.jars import KAFKA_VERSION, ensure_jars
from broker.kafka.launcher import (
    ClusterState,
    LocalKafka,
    read_cluster_state,
    start_cluster,
    stop_cluster,
)

__all__ = [
    "KAFKA_VERSION",
    "ClusterState",
    "LocalKafka",
    "NodeConfig",
    "broker_properties",
    "cluster_settings",
    "ensure_jars",
    "read_cluster_state",
    "start_cluster",
    "stop_cluster",
]
