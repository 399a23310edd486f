"""Errors of the consumers package; each is a :class:`~broker.errors.CxError` (one CLI line)."""

from __future__ import annotations

from broker.errors import CxError
from consumers.state.base import StateStoreError

__all__ = ["CoPartitionError", "JoinerError", "MissingTopics", "StateStoreError"]


class JoinerError(CxError):
    """The joiner cannot run as configured."""


class CoPartitionError(JoinerError):
    """The agency topics (and the changelog) do not share one partition count."""

    exit_code = 6


class MissingTopics(JoinerError):
    """Topics the joiner reads or writes do not exist."""

    exit_code = 6
