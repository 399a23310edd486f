"""cx-broker producers: the agency-side SDK.

Raw identifiers exist only inside this package, in memory. The public surface:

* de-identification (:mod:`producers.deid`): :class:`RawRecord`, :func:`deidentify`,
  journey tokens, text scrubbing and the PII guard;
* errors (:mod:`producers.errors`): :class:`PiiLeak`, :class:`TokenInputMissing`, ...;
* publishing (:mod:`producers.publisher`): :class:`AgencyPublisher`, :class:`DeliveryResult`,
  with the outage spool (:mod:`producers.spool`) and file ingestion (:mod:`producers.ingest`).

Signing and keys live in :mod:`broker.keyring` (consumers verify with the same module).
"""

from producers.deid import (
    DEFAULT_TOKEN_RULES,
    IDENTIFIER_FIELDS,
    DeidPolicy,
    EventKind,
    Linkage,
    PiiGuard,
    Placeholder,
    RawRecord,
    Sex,
    TextPolicy,
    deidentify,
    guard,
    guard_record,
    journey_token,
    link,
    scrub_text,
)
from producers.errors import (
    AgencyMismatch,
    DeidentificationError,
    PiiLeak,
    SpoolError,
    TokenInputMissing,
)
from producers.publisher import (
    AgencyPublisher,
    DeliveryResult,
    DeliveryStatus,
    EventPreparer,
    PreparedEvent,
)
from producers.spool import Spool

__all__ = [
    "DEFAULT_TOKEN_RULES",
    "IDENTIFIER_FIELDS",
    "AgencyMismatch",
    "AgencyPublisher",
    "DeidPolicy",
    "DeidentificationError",
    "DeliveryResult",
    "DeliveryStatus",
    "EventKind",
    "EventPreparer",
    "Linkage",
    "PiiGuard",
    "PiiLeak",
    "Placeholder",
    "PreparedEvent",
    "RawRecord",
    "Sex",
    "Spool",
    "SpoolError",
    "TextPolicy",
    "TokenInputMissing",
    "deidentify",
    "guard",
    "guard_record",
    "journey_token",
    "link",
    "scrub_text",
]
