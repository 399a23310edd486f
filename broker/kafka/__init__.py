"""Local Apache Kafka (KRaft) from Maven-fetched jars: fetch, configure, start, stop."""

from broker.kafka.cluster import cluster_status, start_cluster, stop_cluster
from broker.kafka.config import ClusterSecurity, NodeConfig, broker_properties, cluster_settings
from broker.kafka.jars import KAFKA_VERSION, ensure_jars
from broker.kafka.launcher import LocalKafka
from broker.kafka.state import ClusterState, NodeState, read_cluster_state

__all__ = [
    "KAFKA_VERSION",
    "ClusterSecurity",
    "ClusterState",
    "LocalKafka",
    "NodeConfig",
    "NodeState",
    "broker_properties",
    "cluster_settings",
    "cluster_status",
    "ensure_jars",
    "read_cluster_state",
    "start_cluster",
    "stop_cluster",
]
