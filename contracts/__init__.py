"""cx-broker contracts: the shared language between agencies.

Pure Pydantic models and packaged data, no I/O beyond reading that data and no Kafka:

* :mod:`contracts.privacy` - the only shapes facts about a person may take;
* :mod:`contracts.catalog` - life experiences, agencies, services, topics (data-driven);
* :mod:`contracts.events` - the event contracts agencies publish;
* :mod:`contracts.joined` - journey snapshots and insight cells the joiner publishes;
* :mod:`contracts.envelope` / :mod:`contracts.signing` - the CloudEvents wire format and
  the exact bytes that get signed;
* :mod:`contracts.registry`, :mod:`contracts.compat`, :mod:`contracts.export` - versions,
  compatibility gates, JSON Schema and AsyncAPI.
"""

from contracts.catalog import (
    DEADLETTER_TOPIC,
    Agency,
    AgencyId,
    Catalog,
    LifeExperience,
    LifeExperienceId,
    Milestone,
    Participant,
    Service,
    ServiceId,
    agency_topic,
    insights_topic,
    joined_topic,
    load_catalog,
)
from contracts.envelope import Decoded, Record, decode, encode_unsigned, with_key_id, with_signature
from contracts.errors import (
    DECODE_REASONS,
    ContractError,
    ContractViolation,
    DecodeError,
    UnknownEntry,
    UnknownMajorVersion,
)
from contracts.events import (
    A11_DRIVERS,
    ApplicationStatus,
    ContractModel,
    CxEvent,
    Feedback,
    ServiceInteraction,
)
from contracts.insights import InsightCell, InsightRelease, Privacy, SuppressionReason
from contracts.joined import JourneySnapshot, Metric, PeriodKind
from contracts.privacy import (
    RESTRICTED_ZIP3,
    AgeBand,
    JourneyToken,
    KeyId,
    ScrubbedText,
    TokenRule,
    UsState,
    Zip3,
    age_band,
    journey_token_from_digest,
    zip3_of,
)
from contracts.protected import Precision, ProtectedSnapshot
from contracts.registry import load_registry
from contracts.signing import SIGNED_HEADERS, signing_input
from contracts.vocabulary import ApplicationState, Channel, JourneyStatus, Outcome, Stage

__all__ = [
    "A11_DRIVERS",
    "DEADLETTER_TOPIC",
    "DECODE_REASONS",
    "RESTRICTED_ZIP3",
    "SIGNED_HEADERS",
    "AgeBand",
    "Agency",
    "AgencyId",
    "ApplicationState",
    "ApplicationStatus",
    "Catalog",
    "Channel",
    "ContractError",
    "ContractModel",
    "ContractViolation",
    "CxEvent",
    "DecodeError",
    "Decoded",
    "Feedback",
    "InsightCell",
    "InsightRelease",
    "JourneySnapshot",
    "JourneyStatus",
    "JourneyToken",
    "KeyId",
    "LifeExperience",
    "LifeExperienceId",
    "Metric",
    "Milestone",
    "Outcome",
    "Participant",
    "PeriodKind",
    "Precision",
    "Privacy",
    "ProtectedSnapshot",
    "Record",
    "ScrubbedText",
    "Service",
    "ServiceId",
    "ServiceInteraction",
    "Stage",
    "SuppressionReason",
    "TokenRule",
    "UnknownEntry",
    "UnknownMajorVersion",
    "UsState",
    "Zip3",
    "age_band",
    "agency_topic",
    "decode",
    "encode_unsigned",
    "insights_topic",
    "joined_topic",
    "journey_token_from_digest",
    "load_catalog",
    "load_registry",
    "signing_input",
    "with_key_id",
    "with_signature",
    "zip3_of",
]
