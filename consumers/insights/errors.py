"""Errors of the insights package; each says what went wrong and what to do."""

from __future__ import annotations

from broker.errors import CxError

__all__ = ["InconsistentTable", "InsightsError", "SuppressionFailed"]


class InsightsError(CxError):
    """Base of every insights error the CLI reports as one line."""


class InconsistentTable(InsightsError, ValueError):
    """A published total does not equal the sum of its parts (a bug in the aggregation)."""


class SuppressionFailed(InsightsError):
    """Complementary suppression found no cell left to suppress (cannot happen for sane input)."""
