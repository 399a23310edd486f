"""Domain errors. The CLI turns each into one line and a non-zero exit code."""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "BrokerUnavailable",
    "CxError",
    "KafkaLaunchError",
    "MissingTool",
    "TopicConflict",
]


class CxError(Exception):
    """Base of every error a user can act on; its message says what to do."""

    exit_code = 1


class MissingTool(CxError):
    """A required program (Java 17, Maven) is not installed."""

    exit_code = 3


class KafkaLaunchError(CxError):
    """The local Kafka cluster could not be fetched, formatted or started."""


class BrokerUnavailable(CxError):
    """Kafka cannot be reached."""

    exit_code = 4


class TopicConflict(CxError):
    """An existing topic differs from the topic plan."""


class AccessDenied(CxError):
    """Kafka refused the operation for this principal."""

    exit_code = 5
