"""Which token rule each life experience uses, and the de-identification policy that follows.

The joiner only joins tokens made by the same rule, so every agency of a life experience
must use one rule. Some agencies do not collect SSNs (WIC and SNAP are run by states for
USDA FNS; FEMA registers disaster survivors without one), so a life experience with any
such agency links everyone by name + date of birth + ZIP3; the others link by SSN + date of
birth, which survives a move and a change of name.
"""

from __future__ import annotations

from typing import Final

from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.privacy import TokenRule
from producers.deid.deidentify import DeidPolicy
from producers.deid.scrub import TextPolicy

__all__ = ["SSN_LESS_AGENCIES", "policy_for", "token_rule_for"]

#: Agencies whose records carry no SSN (the simulator leaves the column empty for them).
SSN_LESS_AGENCIES: Final[frozenset[str]] = frozenset({"usda-fns", "fema"})


def token_rule_for(life_experience: str) -> TokenRule:
    """The single token rule all agencies of ``life_experience`` use.

    Raises :class:`~contracts.errors.UnknownEntry` for a life experience not in the catalog.
    """
    return load_catalog().life_experience(life_experience).token_rule


def policy_for(
    agency: str, life_experience: str, *, text: TextPolicy = TextPolicy.SCRUB
) -> DeidPolicy:
    """The de-identification policy ``agency`` uses for records of ``life_experience``.

    One rule only (no fallback): a record lacking its inputs is refused rather than given a
    token the partner agencies could never match. Raises
    :class:`~contracts.errors.UnknownEntry` if the agency does not take part in the life
    experience.
    """
    catalog = load_catalog()
    catalog.agency(agency)
    if catalog.life_experience(life_experience).participant(agency) is None:
        raise UnknownEntry(f"agency {agency} does not take part in {life_experience}")
    return DeidPolicy(text=text, token_rules=(token_rule_for(life_experience),))
