"""Disclosure control of the record-level streams: the risk report and the k release gate."""

from consumers.privacy.gate import DEFAULT_SETTLE, Release, ReleaseGate
from consumers.privacy.risk import (
    RiskReport,
    TimePrecision,
    assess,
    fine_quasi_identifiers,
    protected_quasi_identifiers,
)

__all__ = [
    "DEFAULT_SETTLE",
    "Release",
    "ReleaseGate",
    "RiskReport",
    "TimePrecision",
    "assess",
    "fine_quasi_identifiers",
    "protected_quasi_identifiers",
]
