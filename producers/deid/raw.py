"""The raw agency record: what an agency system knows about one service event, PII included.

A :class:`RawRecord` exists only in memory inside the agency's trust boundary. It is not a
contract and is never serialized by cx-broker: its ``repr``/``str`` show only the service
facts, and validation errors never echo an input value (``hide_input_in_errors``), so a
record cannot leak through a log line or a traceback.

The model is flat on purpose: one field per column of the ingestion files (CSV headers or
JSONL keys are exactly these field names) and per attribute the simulator fills. Which
service facts are required depends on ``kind`` and is checked by the event contract when
:func:`producers.deid.deidentify` builds the event.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.catalog import AgencyId, LifeExperienceId, ServiceId, load_catalog
from contracts.errors import UnknownEntry
from contracts.events import Likert, ReasonCode
from contracts.privacy import UsState
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage
from producers.deid.normalize import normalize_ssn, normalize_zip5, parse_date

__all__ = ["IDENTIFIER_FIELDS", "EventKind", "RawRecord", "Sex"]


def _catalog_id(kind: str, lookup: str, section: str) -> BeforeValidator:
    """Catalog ids in any case (``SSA`` is ``ssa``: ids are lower-case, so this is never
    ambiguous), and one clear problem for an unknown id (never the slug's pattern)."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return value
        cleaned = value.strip().lower()
        try:
            getattr(load_catalog(), lookup)(cleaned)
        except UnknownEntry:
            raise ValueError(
                f"not a known {kind}; `cxbroker catalog {section}` lists them"
            ) from None
        return cleaned

    return BeforeValidator(check)


class EventKind(StrEnum):
    """Which event contract a raw record becomes (the values are the contract names)."""

    SERVICE_INTERACTION = "service-interaction"
    APPLICATION_STATUS = "application-status"
    FEEDBACK = "feedback"


class Sex(StrEnum):
    """Sex as agency systems record it; kept for future token rules, never published."""

    FEMALE = "F"
    MALE = "M"
    UNSPECIFIED = "X"
    UNKNOWN = "U"


def _blank_to_none(value: Any) -> Any:
    """CSV cells are empty strings where JSONL has null: both mean "not given"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _sex(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().upper()
        return {"FEMALE": "F", "MALE": "M"}.get(text, text)
    return value


def _caller_id(value: Any) -> Any:
    """A UUID in any spelling is one caller id (canonical lower-case form)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(UUID(value.strip()))
        except ValueError:
            return value
    return value


CallerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_Blank = BeforeValidator(_blank_to_none)
OptionalText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None,
    _Blank,
]

#: Fields holding identifying values. None of them may appear in a published record.
IDENTIFIER_FIELDS: Final[tuple[str, ...]] = (
    "first_name",
    "middle_name",
    "last_name",
    "ssn",
    "date_of_birth",
    "street_address",
    "city",
    "zip",
    "phone",
    "email",
    "account_number",
    "application_id",
)


class RawRecord(BaseModel):
    """One raw agency event with the person's identifiers (in memory only).

    Identifiers: ``first_name``, ``last_name``, ``middle_name``, ``ssn`` (any common format,
    kept as 9 digits; numbers the SSA never issues are refused), ``date_of_birth``
    (``YYYY-MM-DD``, ``MM/DD/YYYY`` or ``YYYYMMDD``), ``sex``, ``street_address``, ``city``,
    ``state``, ``zip`` (ZIP5 or ZIP+4, kept as ZIP5), ``phone``, ``email``,
    ``account_number``, ``application_id`` and ``free_text``.

    Service facts: ``event_id`` (the agency system's own id of the event, any string of at
    most 200 characters; it never travels: the published id is a keyed hash of it, or of the
    record's content when it is absent, see :mod:`producers.deid.ids`), ``agency``,
    ``life_experience``, ``kind``, ``occurred_at`` and the fields of the kind's contract
    (``service_id``, ``stage``, ``channel``, ...). Free text reaches only a ``feedback``
    event, scrubbed, as its ``comment``; other kinds drop it.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        str_strip_whitespace=True,
    )

    # Identity (repr=False: never shown by repr/str).
    first_name: Name = Field(repr=False)
    last_name: Name = Field(repr=False)
    middle_name: OptionalText = Field(default=None, repr=False)
    ssn: Annotated[str | None, _Blank] = Field(default=None, repr=False)
    date_of_birth: date = Field(repr=False)
    sex: Annotated[Sex | None, _Blank, BeforeValidator(_sex)] = Field(default=None, repr=False)
    street_address: OptionalText = Field(default=None, repr=False)
    city: OptionalText = Field(default=None, repr=False)
    state: Annotated[UsState | None, _Blank] = None
    zip: str = Field(repr=False)
    phone: OptionalText = Field(default=None, repr=False)
    email: OptionalText = Field(default=None, repr=False)
    account_number: OptionalText = Field(default=None, repr=False)
    application_id: OptionalText = Field(default=None, repr=False)
    free_text: Annotated[Annotated[str, StringConstraints(max_length=20_000)] | None, _Blank] = (
        Field(default=None, repr=False)
    )

    # Service facts.
    event_id: Annotated[CallerId | None, _Blank, BeforeValidator(_caller_id)] = Field(
        default=None, repr=False
    )
    agency: Annotated[AgencyId, _catalog_id("agency id", "agency", "agencies")]
    life_experience: Annotated[
        LifeExperienceId,
        _catalog_id("life-experience id", "life_experience", "life-experiences"),
    ]
    kind: EventKind
    occurred_at: AwareDatetime
    service_id: Annotated[
        ServiceId | None, _catalog_id("service id", "service", "services"), _Blank
    ] = None
    stage: Annotated[Stage | None, _Blank] = None
    channel: Annotated[Channel | None, _Blank] = None
    started_at: Annotated[AwareDatetime | None, _Blank] = None
    ended_at: Annotated[AwareDatetime | None, _Blank] = None
    outcome: Annotated[Outcome | None, _Blank] = None
    wait_seconds: Annotated[float | None, _Blank] = None
    attempt: Annotated[int | None, _Blank] = None
    status: Annotated[ApplicationState | None, _Blank] = None
    reason_code: Annotated[ReasonCode | None, _Blank] = None
    satisfaction: Annotated[Likert | None, _Blank] = None
    trust: Annotated[Likert | None, _Blank] = None
    effectiveness: Annotated[Likert | None, _Blank] = None
    ease: Annotated[Likert | None, _Blank] = None
    efficiency: Annotated[Likert | None, _Blank] = None
    equity_transparency: Annotated[Likert | None, _Blank] = None
    employee_helpfulness: Annotated[Likert | None, _Blank] = None
    humanity: Annotated[Likert | None, _Blank] = None

    @field_validator("ssn")
    @classmethod
    def _normalize_ssn(cls, value: str | None) -> str | None:
        return None if value is None else normalize_ssn(value)

    @field_validator("zip", mode="before")
    @classmethod
    def _normalize_zip(cls, value: Any) -> Any:
        if isinstance(value, int):
            # A spreadsheet that typed the column as a number dropped leading zeros.
            value = f"{value:05d}"
        return normalize_zip5(value) if isinstance(value, str) else value

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _parse_dob(cls, value: Any) -> Any:
        return parse_date(value) if isinstance(value, str | date) else value

    @model_validator(mode="after")
    def _born_before_event(self) -> RawRecord:
        if self.date_of_birth > self.occurred_at.date():
            raise ValueError("date_of_birth is after occurred_at")
        return self

    def __repr_args__(self) -> Any:
        # Belt and braces over repr=False: only non-identifying facts are ever shown.
        return [(k, v) for k, v in super().__repr_args__() if k not in _HIDDEN]


_HIDDEN: Final = frozenset((*IDENTIFIER_FIELDS, "sex", "free_text", "event_id"))
