"""Privacy types: the only shapes in which facts about a person may appear in a contract.

Direct identifiers never appear in a contract. What may appear is either a keyed
pseudonym (:data:`JourneyToken`) or a generalized quasi-identifier (:class:`AgeBand`,
:data:`Zip3`, :class:`UsState`), following HIPAA Safe Harbor (ages over 89 grouped,
ZIP3 of areas of 20,000 people or fewer in the 2020 Census replaced by ``000``). Free
text is only accepted as :data:`ScrubbedText`, which re-checks for obvious identifiers as
a second line of defence.

Validation messages here never echo the checked value.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Annotated, Final

from pydantic import AfterValidator, Field, StringConstraints

__all__ = [
    "JOURNEY_TOKEN_LENGTH",
    "KEY_ID_PATTERN",
    "RESTRICTED_ZIP3",
    "RESTRICTED_ZIP3_FILE",
    "SCRUBBED_TEXT_MAX_LENGTH",
    "TIME_PRECISION",
    "WAIT_PRECISION_SECONDS",
    "AgeBand",
    "JourneyToken",
    "KeyId",
    "ScrubbedText",
    "TokenRule",
    "UsState",
    "Zip3",
    "age_band",
    "coarse_time",
    "coarse_wait",
    "find_pii_kinds",
    "journey_token_from_digest",
    "zip3_of",
]

#: base64url without padding of a 32-byte HMAC-SHA256 is always 43 characters.
JOURNEY_TOKEN_LENGTH: Final = 43
_JOURNEY_TOKEN_PATTERN: Final = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 - a pattern, not a secret

JourneyToken = Annotated[
    str,
    StringConstraints(
        min_length=JOURNEY_TOKEN_LENGTH,
        max_length=JOURNEY_TOKEN_LENGTH,
        pattern=_JOURNEY_TOKEN_PATTERN,
    ),
    Field(description="base64url (no padding) of a 32-byte keyed HMAC-SHA256 pseudonym"),
]
"""A keyed pseudonym: base64url without padding of a 32-byte HMAC-SHA256 (43 characters)."""


def journey_token_from_digest(digest: bytes) -> str:
    """Encode a 32-byte HMAC digest as a :data:`JourneyToken` (base64url, no padding)."""
    if len(digest) != 32:
        raise ValueError(f"a journey token digest has 32 bytes, got {len(digest)}")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


KEY_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,63}$"

KeyId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=KEY_ID_PATTERN),
    Field(description="identifier of a signing or linkage key (lowercase slug, ≤ 64 chars)"),
]
"""Identifier of a signing key or a linkage key, e.g. ``ssa-2026-04``."""


class TokenRule(StrEnum):
    """Which normalized identifiers were HMAC'ed into a journey token (OpenToken-style rules)."""

    #: ``SSN|DOB``: 9-digit SSN and ``YYYY-MM-DD``.
    SSN_DOB = "ssn-dob"
    #: ``LAST|FIRST|DOB|ZIP3``: upper-case names, ``YYYY-MM-DD``, generalized ZIP3.
    NAME_DOB_ZIP3 = "name-dob-zip3"


class AgeBand(StrEnum):
    """Five-year age bands; everyone aged 90 or more shares one band (HIPAA Safe Harbor)."""

    AGE_0_4 = "0-4"
    AGE_5_9 = "5-9"
    AGE_10_14 = "10-14"
    AGE_15_19 = "15-19"
    AGE_20_24 = "20-24"
    AGE_25_29 = "25-29"
    AGE_30_34 = "30-34"
    AGE_35_39 = "35-39"
    AGE_40_44 = "40-44"
    AGE_45_49 = "45-49"
    AGE_50_54 = "50-54"
    AGE_55_59 = "55-59"
    AGE_60_64 = "60-64"
    AGE_65_69 = "65-69"
    AGE_70_74 = "70-74"
    AGE_75_79 = "75-79"
    AGE_80_84 = "80-84"
    AGE_85_89 = "85-89"
    AGE_90_PLUS = "90+"


def age_band(age_years: int) -> AgeBand:
    """Generalize an age in whole years to its :class:`AgeBand` (90 and over → ``90+``)."""
    if age_years < 0:
        raise ValueError("age must not be negative")
    bands = tuple(AgeBand)
    return bands[min(age_years // 5, len(bands) - 1)]


#: Event times (``occurred_at``, ``started_at``, ``ended_at``) are published truncated to
#: this: the insights count per day and week and measure days to complete, and the joiner's
#: windows and grace work in hours, so nothing needs the minute.
TIME_PRECISION: Final = timedelta(hours=1)
#: Waits (``wait_seconds``) under an hour are published rounded to whole minutes; longer
#: waits are coarser (:func:`coarse_wait`).
WAIT_PRECISION_SECONDS: Final = 60
_HOUR_SECONDS: Final = 3600
_DAY_SECONDS: Final = 86400


def coarse_time(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to the whole hour (:data:`TIME_PRECISION`)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def coarse_wait(seconds: float) -> float:
    """A wait in seconds with at most two significant figures of its unit: rounded to whole
    minutes under an hour (:data:`WAIT_PRECISION_SECONDS`), to whole hours under a day, to
    whole days beyond.

    Minute precision alone let a caller put any number up to the contract's maximum (a ZIP,
    the digits of a date of birth) into ``wait_seconds`` and have it published nearly
    unchanged; with the unit growing with the wait, a published wait is one of about 450
    values and cannot carry an identifier.
    """
    if seconds < _HOUR_SECONDS - WAIT_PRECISION_SECONDS / 2:
        step = WAIT_PRECISION_SECONDS
    elif seconds < _DAY_SECONDS - _HOUR_SECONDS / 2:
        step = _HOUR_SECONDS
    else:
        step = _DAY_SECONDS
    return float(round(seconds / step) * step)


#: Where the restricted ZIP3 list lives, with its source, vintage and threshold.
RESTRICTED_ZIP3_FILE: Final = "restricted-zip3.json"


def _load_restricted_zip3() -> frozenset[str]:
    document = json.loads(
        resources.files("contracts").joinpath("catalog", RESTRICTED_ZIP3_FILE).read_text("utf-8")
    )
    prefixes = {*document["restricted"], *document["absent"]["prefixes"]}
    if not all(re.fullmatch(r"[0-9]{3}", p) for p in prefixes) or "000" in prefixes:
        raise ValueError(f"{RESTRICTED_ZIP3_FILE} must list 3-digit prefixes other than 000")
    return frozenset(prefixes)


#: 3-digit ZIP areas published as ``000``: 20,000 people or fewer in the 2020 Census (DHC
#: P1, ZCTAs summed by prefix), and prefixes with no 2020 ZCTA (population 0). Source,
#: vintage and threshold are in ``catalog/restricted-zip3.json``.
RESTRICTED_ZIP3: Final[frozenset[str]] = _load_restricted_zip3()


def _not_restricted(value: str) -> str:
    if value in RESTRICTED_ZIP3:
        raise ValueError("restricted ZIP3 areas must be generalized to '000' (see zip3_of)")
    return value


Zip3 = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3, pattern=r"^[0-9]{3}$"),
    AfterValidator(_not_restricted),
    Field(description="first three ZIP digits; sparsely populated areas are '000'"),
]
"""First three digits of a ZIP code; restricted (sparsely populated) areas are ``000``."""

_ZIP_PATTERN: Final = re.compile(r"^([0-9]{3})[0-9]{2}(?:-[0-9]{4})?$")


def zip3_of(zip5: str) -> str:
    """Generalize a 5-digit ZIP (or ZIP+4) to its :data:`Zip3`; restricted areas → ``000``."""
    match = _ZIP_PATTERN.match(zip5.strip())
    if match is None:
        raise ValueError("not a 5-digit ZIP code or ZIP+4")
    prefix = match.group(1)
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


class UsState(StrEnum):
    """USPS two-letter codes: states, DC, territories and the armed-forces codes."""

    AL = "AL"
    AK = "AK"
    AZ = "AZ"
    AR = "AR"
    CA = "CA"
    CO = "CO"
    CT = "CT"
    DE = "DE"
    FL = "FL"
    GA = "GA"
    HI = "HI"
    ID = "ID"
    IL = "IL"
    IN = "IN"
    IA = "IA"
    KS = "KS"
    KY = "KY"
    LA = "LA"
    ME = "ME"
    MD = "MD"
    MA = "MA"
    MI = "MI"
    MN = "MN"
    MS = "MS"
    MO = "MO"
    MT = "MT"
    NE = "NE"
    NV = "NV"
    NH = "NH"
    NJ = "NJ"
    NM = "NM"
    NY = "NY"
    NC = "NC"
    ND = "ND"
    OH = "OH"
    OK = "OK"
    OR = "OR"
    PA = "PA"
    RI = "RI"
    SC = "SC"
    SD = "SD"
    TN = "TN"
    TX = "TX"
    UT = "UT"
    VT = "VT"
    VA = "VA"
    WA = "WA"
    WV = "WV"
    WI = "WI"
    WY = "WY"
    DC = "DC"
    # Territories.
    AS = "AS"
    GU = "GU"
    MP = "MP"
    PR = "PR"
    VI = "VI"
    # Armed forces (Americas, Europe, Pacific): matter for the transition to civilian life.
    AA = "AA"
    AE = "AE"
    AP = "AP"


# Second line of defence only: producers scrub text before it gets here. The patterns aim
# at the identifiers HIPAA Safe Harbor names that have a recognizable shape.
_PII_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("email address", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("SSN", re.compile(r"(?<![0-9])[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}(?![0-9])")),
    ("SSN", re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")),
    (
        "phone number",
        re.compile(
            r"(?<![0-9])(?:\+?1[\s.-]?)?(?:\([0-9]{3}\)\s?|[0-9]{3}[\s.-])[0-9]{3}[\s.-][0-9]{4}(?![0-9])"
        ),
    ),
    ("phone number", re.compile(r"(?<![0-9])1?[0-9]{10}(?![0-9])")),
    ("long number (account, card or record number)", re.compile(r"[0-9]{12,}")),
)  # fmt: skip


def find_pii_kinds(text: str) -> tuple[str, ...]:
    """Kinds of direct identifier that ``text`` appears to contain (empty when none).

    Returns kind names only, never the matching text, so callers can log the result.
    """
    kinds: list[str] = []
    for kind, pattern in _PII_PATTERNS:
        if kind not in kinds and pattern.search(text):
            kinds.append(kind)
    return tuple(kinds)


def _reject_pii(value: str) -> str:
    kinds = find_pii_kinds(value)
    if kinds:
        raise ValueError(
            "scrubbed text still looks like it holds: " + ", ".join(kinds) + "; scrub it first"
        )
    return value


SCRUBBED_TEXT_MAX_LENGTH: Final = 2000

ScrubbedText = Annotated[
    str,
    StringConstraints(max_length=SCRUBBED_TEXT_MAX_LENGTH),
    AfterValidator(_reject_pii),
    Field(
        description="free text already scrubbed of identifiers by the producer",
        json_schema_extra={"x-cx-scrubbed": True},
    ),
]
"""Free text that the producer has scrubbed; rejects obvious SSNs, emails and phone numbers."""
