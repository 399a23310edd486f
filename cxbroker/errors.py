"""Errors of the roof: the commands and the processes they supervise."""

from __future__ import annotations

from contracts.errors import CxError

__all__ = [
    "BelowK",
    "ContractsCommandError",
    "IncompatibleContracts",
    "MetricsPortUnavailable",
    "PrivacyInputError",
    "ProcessFailed",
]


class ContractsCommandError(CxError):
    """A contracts command was given something it cannot use (unknown name, bad folder)."""


class IncompatibleContracts(CxError):
    """The registry breaks compatibility with the released schemas."""


class ProcessFailed(CxError):
    """A supervised process failed, exited too early, or left no counters."""


class PrivacyInputError(CxError):
    """``cxbroker privacy report`` was given a file it cannot use."""


class BelowK(CxError):
    """``--check``: a journey of the k-protected stream is in a group smaller than k."""


class MetricsPortUnavailable(CxError):
    """The metrics and health port cannot be listened on (taken, or not allowed)."""
