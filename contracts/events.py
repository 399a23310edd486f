"""Event contracts: what agencies publish to ``cx.events.<agency>``.

Every contract is a closed (``extra="forbid"``), frozen Pydantic model with a contract
name and a semantic version. Facts about a person appear only as the privacy types of
:mod:`contracts.privacy`. Older minor versions of a contract stay here, frozen, so records
written with them can still be validated exactly and then upcast to the current model
(see :mod:`contracts.registry`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Final
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.catalog import (
    REASON_CODE_PATTERN,
    AgencyId,
    LifeExperienceId,
    ServiceId,
    load_catalog,
)
from contracts.privacy import AgeBand, JourneyToken, KeyId, ScrubbedText, TokenRule, UsState, Zip3
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage

__all__ = [
    "A11_DRIVERS",
    "REASON_CODE_PATTERN",
    "ApplicationStatus",
    "ApplicationStatusV1_0",
    "CatalogReasonCode",
    "ContractModel",
    "CxEvent",
    "Feedback",
    "FeedbackV1_0",
    "Likert",
    "ReasonCode",
    "ServiceInteraction",
    "UtcDatetime",
    "reason_code_known",
]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalized to UTC (naive datetimes are rejected)."""

Likert = Annotated[int, Field(ge=1, le=5)]
"""A 5-point Likert answer: 1 strongly disagree … 5 strongly agree (OMB A-11 §280)."""

ReasonCode = Annotated[
    str,
    Field(
        min_length=2,
        max_length=32,
        pattern=REASON_CODE_PATTERN,
        description="agency-defined short upper-case code, e.g. INCOME-LIMIT",
    ),
]
"""The shape of a reason code (``application-status`` 1.0.0 checked only this)."""

CatalogReasonCode = Annotated[
    str,
    Field(
        min_length=2,
        max_length=32,
        pattern=REASON_CODE_PATTERN,
        description=(
            "a reason code of the event's agency in the catalog (agencies.json "
            "reason_codes), e.g. INCOME-LIMIT; never free text"
        ),
        json_schema_extra={"x-cx-catalog": "agency.reason_codes"},
    ),
]
"""A reason code that the catalog lists for the event's agency (checked by the model)."""


def reason_code_known(agency: str, code: str) -> bool:
    """True when ``code`` is one of ``agency``'s reason codes in the catalog."""
    return code in load_catalog().agency(agency).reason_codes


#: The A-11 post-transaction drivers, in survey order (``humanity`` from feedback 1.1.0).
A11_DRIVERS: Final[tuple[str, ...]] = (
    "satisfaction",
    "trust",
    "effectiveness",
    "ease",
    "efficiency",
    "equity_transparency",
    "employee_helpfulness",
    "humanity",
)


class ContractModel(BaseModel):
    """Base of every versioned contract: closed, frozen, with a name and a semver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contract_name: ClassVar[str]
    contract_version: ClassVar[str]

    @classmethod
    def contract_urn(cls) -> str:
        """``urn:cx:contract:<name>:<semver>``: the ``ce_dataschema`` and JSON Schema ``$id``."""
        return f"urn:cx:contract:{cls.contract_name}:{cls.contract_version}"

    @classmethod
    def contract_major(cls) -> int:
        """The major version number."""
        return int(cls.contract_version.split(".", 1)[0])


class CxEvent(ContractModel):
    """Fields common to every agency event.

    The journey token joins events of one person across agencies without revealing who
    it is; ``token_rule`` and ``linkage_key_id`` say how it was made, so the joiner only
    joins tokens made the same way. Demographics are generalized quasi-identifiers.
    """

    event_id: UUID
    agency: AgencyId
    life_experience: LifeExperienceId
    journey_token: JourneyToken
    token_rule: TokenRule
    linkage_key_id: KeyId
    occurred_at: UtcDatetime
    age_band: AgeBand | None = None
    zip3: Zip3 | None = None
    state: UsState | None = None


class _ServiceEvent(CxEvent):
    """An event about one service of the publishing agency."""

    service_id: ServiceId

    @model_validator(mode="after")
    def _service_in_catalog(self) -> _ServiceEvent:
        catalog = load_catalog()
        if catalog.service(self.service_id).agency != self.agency:
            raise ValueError("service_id is not a service of this event's agency")
        if self.service_id not in catalog.life_experience(self.life_experience).services:
            raise ValueError("service_id does not take part in this event's life experience")
        return self


class ServiceInteraction(_ServiceEvent):
    """One contact between a customer and a service (a visit, a call, a web session)."""

    contract_name: ClassVar[str] = "service-interaction"
    contract_version: ClassVar[str] = "1.0.0"

    stage: Stage
    channel: Channel
    started_at: UtcDatetime
    ended_at: UtcDatetime
    outcome: Outcome
    #: Time spent waiting (queue, hold, appointment lead time), in seconds; at most a year.
    wait_seconds: float = Field(ge=0, le=366 * 86400)
    attempt: int = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _ends_after_start(self) -> ServiceInteraction:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


# application-status 1.0.0: any code of the right shape. Frozen, read and upcast only (the
# upcast keeps a code only if the catalog lists it for the agency); title and docstring are
# those it was released with, since they are part of its published JSON Schema.
class ApplicationStatusV1_0(_ServiceEvent):
    """A change of status of an application; the application is a pseudonym, too."""

    model_config = ConfigDict(title="ApplicationStatus")

    contract_name: ClassVar[str] = "application-status"
    contract_version: ClassVar[str] = "1.0.0"

    application_token: JourneyToken
    status: ApplicationState
    reason_code: ReasonCode | None = None


class ApplicationStatus(_ServiceEvent):
    """``application-status`` 1.1.0: a change of status of an application (the application
    is a pseudonym, too); ``reason_code`` is closed: one of the agency's catalog codes."""

    contract_name: ClassVar[str] = "application-status"
    contract_version: ClassVar[str] = "1.1.0"

    application_token: JourneyToken
    status: ApplicationState
    reason_code: CatalogReasonCode | None = None

    @field_validator("reason_code")
    @classmethod
    def _reason_code_in_catalog(cls, code: str | None, info: ValidationInfo) -> str | None:
        agency = info.data.get("agency")  # absent when the agency itself was invalid
        if code is not None and agency is not None and not reason_code_known(agency, code):
            raise ValueError("not a reason code of this event's agency in the catalog")
        return code


class _FeedbackFields(_ServiceEvent):
    """OMB A-11 §280 post-transaction survey answers, each 1-5 and optional."""

    channel: Channel
    stage: Stage | None = None
    satisfaction: Likert | None = None
    trust: Likert | None = None
    effectiveness: Likert | None = None
    ease: Likert | None = None
    efficiency: Likert | None = None
    equity_transparency: Likert | None = None
    employee_helpfulness: Likert | None = None
    comment: ScrubbedText | None = None


class FeedbackV1_0(_FeedbackFields):
    """``feedback`` 1.0.0: the seven classic A-11 drivers. Frozen; read and upcast only."""

    contract_name: ClassVar[str] = "feedback"
    contract_version: ClassVar[str] = "1.0.0"


class Feedback(_FeedbackFields):
    """``feedback`` 1.1.0: adds the ``humanity`` driver of the newer A-11 collection format."""

    contract_name: ClassVar[str] = "feedback"
    contract_version: ClassVar[str] = "1.1.0"

    humanity: Likert | None = None
