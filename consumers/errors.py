"""Errors of the consumers package; each is a :class:`~broker.errors.CxError` (one CLI line)."""

from __future__ import annotations

from broker.errors import CxError

__all__ = [
    "BudgetExceeded",
    "CoPartitionError",
    "InconsistentRelease",
    "InconsistentTable",
    "InsightsError",
    "JoinerError",
    "MissingTopics",
    "RecordRejected",
    "StateStoreError",
    "StoreError",
    "SuppressionFailed",
]


class JoinerError(CxError):
    """The joiner cannot run as configured."""


class CoPartitionError(JoinerError):
    """The agency topics (and the changelog) do not share one partition count."""


class MissingTopics(JoinerError):
    """Topics the joiner reads or writes do not exist."""


class StoreError(Exception):
    """The local state store cannot be used (corrupt file, misuse of transactions)."""


class StateStoreError(StoreError, CxError):
    """The state directory cannot be read or written (read-only, full, no permission...).

    One line naming the directory and the cause. Nothing is lost: the Kafka transaction
    of the batch in flight is aborted, so a run with a usable directory redoes it.
    """


class InsightsError(CxError):
    """Base of every insights error the CLI reports as one line."""


class InconsistentTable(InsightsError, ValueError):
    """A published total does not equal the sum of its parts (a bug in the aggregation)."""


class SuppressionFailed(InsightsError):
    """Complementary suppression found no cell left to suppress (cannot happen for sane input)."""


class InconsistentRelease(InsightsError, ValueError):
    """The published values and public relations of a release admit no solution: the
    attacker's model the audit builds contradicts the data (a bug in the aggregation)."""


class BudgetExceeded(InsightsError):
    """A differentially private release would spend more privacy budget than its life
    experience and period allow; it is refused before any noise is drawn."""


class RecordRejected(CxError):
    """A record on a joined or insights topic is not a verified record of its deployment.

    ``reason`` is a stable code (a signature or decode reason); the message names
    headers and fields, never a value.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
