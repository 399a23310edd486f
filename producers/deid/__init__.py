"""De-identification at the edge: pure functions from a raw agency record to a contract event.

``RawRecord`` → :func:`deidentify` (tokens, generalization, scrubbing) → contract event →
``contracts.envelope.encode_unsigned`` → :func:`guard_record` (PII guard on the bytes) →
signing (``broker.keyring``). Nothing here does I/O.
"""

from producers.deid.deidentify import (
    DeidPolicy,
    age_at,
    age_band_at,
    deidentify,
    guard_record,
    opaque_values,
    scrub_free_text,
)
from producers.deid.guard import MIN_WORD_LENGTH, PiiGuard, guard
from producers.deid.normalize import (
    fold,
    name_parts,
    normalize_dob,
    normalize_name,
    normalize_ssn,
    normalize_zip5,
    parse_date,
)
from producers.deid.raw import IDENTIFIER_FIELDS, EventKind, RawRecord, Sex
from producers.deid.scrub import (
    PLACEHOLDERS,
    OwnValues,
    Placeholder,
    TextPolicy,
    own_values,
    scrub_text,
)
from producers.deid.tokens import (
    DEFAULT_TOKEN_RULES,
    Linkage,
    application_token,
    choose_rule,
    journey_token,
    link,
    token_input,
)

__all__ = [
    "DEFAULT_TOKEN_RULES",
    "IDENTIFIER_FIELDS",
    "MIN_WORD_LENGTH",
    "PLACEHOLDERS",
    "DeidPolicy",
    "EventKind",
    "Linkage",
    "OwnValues",
    "PiiGuard",
    "Placeholder",
    "RawRecord",
    "Sex",
    "TextPolicy",
    "age_at",
    "age_band_at",
    "application_token",
    "choose_rule",
    "deidentify",
    "fold",
    "guard",
    "guard_record",
    "journey_token",
    "link",
    "name_parts",
    "normalize_dob",
    "normalize_name",
    "normalize_ssn",
    "normalize_zip5",
    "opaque_values",
    "own_values",
    "parse_date",
    "scrub_free_text",
    "scrub_text",
    "token_input",
]
