"""Synthetic agency simulator: realistic raw records for every life experience, from a seed.

:func:`simulate` yields :class:`~producers.deid.raw.RawRecord` objects (synthetic PII
included) for journeys through the five life experiences, across their agencies in the
catalog's order; :class:`Simulation` also says which deliveries are late or duplicated;
:func:`simulate_to_files` writes per-agency files for ``cxbroker publish --file``;
:func:`policy_for` gives the de-identification policy (token rule) each agency must use for
a life experience. Same seed, same data, byte for byte.
"""

from producers.simulator.engine import (
    COLUMNS,
    DEFAULT_START,
    Delivery,
    Simulation,
    SimulationConfig,
    simulate,
)
from producers.simulator.files import FileFormat, agency_file, simulate_to_files, write_deliveries
from producers.simulator.people import Person
from producers.simulator.policy import SSN_LESS_AGENCIES, policy_for, token_rule_for
from producers.simulator.summary import SimulationSummary, SummaryBuilder, expected_summary

__all__ = [
    "COLUMNS",
    "DEFAULT_START",
    "SSN_LESS_AGENCIES",
    "Delivery",
    "FileFormat",
    "Person",
    "Simulation",
    "SimulationConfig",
    "SimulationSummary",
    "SummaryBuilder",
    "agency_file",
    "expected_summary",
    "policy_for",
    "simulate",
    "simulate_to_files",
    "token_rule_for",
    "write_deliveries",
]
