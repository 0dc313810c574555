"""A real Apache Kafka (KRaft) for development and tests, started from Maven Central's jars."""

from infra.kafka.cluster import (
    DEFAULT_LIBS_DIR,
    KafkaCluster,
    KafkaClusterError,
    NodeSpec,
    NodeStatus,
    describe_cluster,
    free_ports,
)

__all__ = [
    "DEFAULT_LIBS_DIR",
    "KafkaCluster",
    "KafkaClusterError",
    "NodeSpec",
    "NodeStatus",
    "describe_cluster",
    "free_ports",
]
