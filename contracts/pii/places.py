"""Street, box and unit forms of an address in canonical text.

A regular expression finds the common forms cheaply (house number + street words + a
suffix of USPS Publication 28, P.O./rural-route boxes, apartment and unit numbers); each
other window that starts with a house number is given to ``usaddress`` (a conditional
random field trained on US addresses), which recognizes forms no suffix list has ("77
Sunset Strip", "12 N Main").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import usaddress

from contracts.pii.finding import Finding

__all__ = ["STREET_SUFFIXES", "address_spans"]

#: Street suffixes (USPS Publication 28, appendix C1: the common ones and abbreviations).
STREET_SUFFIXES: Final = (
    "street|st|str|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|way|wy"
    "|place|pl|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl|loop|row"
    "|crescent|cres|alley|aly|bend|bluff|branch|brook|bypass|byp|causeway|cswy|center|ctr"
    "|cove|cv|creek|crk|crossing|xing|expressway|expy|freeway|fwy|gardens|gdns|glen|grove"
    "|grv|harbor|hbr|heights|hts|hollow|holw|junction|jct|landing|lndg|manor|mnr|meadows"
    "|mdws|mill|mount|mt|orchard|orch|pass|path|pike|plaza|plz|point|pt|ridge|rdg|route|rte"
    "|run|shore|shr|spring|spg|springs|station|sta|summit|smt|trace|trce|turnpike|tpke"
    "|valley|vly|view|vw|village|vlg|vista|vis|walk|estates|est|park|green|close|mews"
    "|calle|avenida|camino|carretera|paseo"
)
_STREET: Final = re.compile(
    rf"\b\d+[a-z]?\s+(?:[nsew]\.?\s+|north\s+|south\s+|east\s+|west\s+)?"
    rf"(?:[^\W\d_][\w.'-]*\s+){{0,3}}(?:{STREET_SUFFIXES})\b\.?"
    r"|\b(?:calle|avenida|av\.|camino)\s+(?:[^\W\d_][\w.'-]*\s+){0,3}\d+"
    r"|\b(?:p\.?\s?o\.?|post\s+office|postal)\s*box\s*#?\s*\w*\d\w*"
    r"|\bbox\s*#?\s*\d+|\bapartado\s+(?:postal\s+)?\d+"
    r"|\b(?:rr|rural\s+route|hc|highway\s+contract)\s*#?\s*\d+"
    r"|\b(?:apt|apartment|unit|suite|ste|rm|room|fl|floor|bldg|building|lot|trlr|space|spc|depto"
    r"|departamento)\.?\s*#?\s*\w*\d\w*"
    r"|#\s*\d+\w*",
    re.IGNORECASE,
)
_WINDOW: Final = re.compile(r"\b\d+[a-z]?(?:\s+[^\W\d_][\w.'-]*){1,4}", re.IGNORECASE)
_ADDRESS_LABELS: Final = frozenset(
    {"StreetNamePostType", "StreetNamePreDirectional", "StreetNamePreType", "USPSBoxID"}
)


def _tagged(window: str) -> bool:
    try:
        parsed = usaddress.parse(window)
    except Exception:  # the CRF tagger raises on odd input: not an address then
        return False
    labels = [label for _, label in parsed]
    if "AddressNumber" not in labels:
        return False
    after = labels[labels.index("AddressNumber") + 1 :]
    return bool(_ADDRESS_LABELS.intersection(after)) and after[:1] != ["AddressNumber"]


def address_spans(text: str) -> Iterator[Finding]:
    """Spans of street addresses, boxes and units in ``text``."""
    for match in _STREET.finditer(text):
        yield Finding("address", *match.span())
    for match in _WINDOW.finditer(text):
        if _tagged(match.group()):
            yield Finding("address", *match.span())
