"""From a raw agency record to a contract event: the de-identification step itself.

Direct identifiers are dropped; the person becomes a journey token (keyed HMAC, rule and
key id recorded); the date of birth becomes an age band from the birth *year* (so it never
changes inside a calendar year and tells nothing finer than the year); the ZIP becomes a
ZIP3 (restricted areas ``000``); the state is kept; free text is scrubbed or dropped.
Times are truncated to the hour and waits to the minute (:func:`contracts.privacy.coarse_time`);
the event id is a keyed hash made by the publisher (:mod:`producers.deid.ids`), never the
caller's. Nothing else from the identity part of the record reaches the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final
from uuid import UUID, uuid4

from pydantic import ValidationError

from broker.errors import LinkageKeyMissing
from broker.keyring import LinkageKey, RecordIdKey
from contracts.catalog import FreeTextPolicy, load_catalog
from contracts.envelope import HEADER_SIG, Record
from contracts.errors import describe_validation_error
from contracts.events import ApplicationStatus, CxEvent, Feedback, ServiceInteraction
from contracts.privacy import AgeBand, TokenRule, coarse_time, coarse_wait, zip3_of
from producers.deid.guard import PiiGuard
from producers.deid.ids import wire_event_id
from producers.deid.raw import EventKind, RawRecord
from producers.deid.scrub import TextPolicy, own_values, scrub_text
from producers.deid.tokens import application_token, link
from producers.errors import DeidentificationError

__all__ = [
    "DeidPolicy",
    "age_at",
    "age_band_at",
    "deidentify",
    "guard_record",
    "opaque_values",
    "scrub_free_text",
    "shares_free_text",
]


@dataclass(frozen=True, slots=True)
class DeidPolicy:
    """How an agency de-identifies: what happens to free text, which token rules it prefers.

    ``token_rules`` is tried in order; the first rule whose inputs the record has makes the
    token. The default (None) is the one rule the record's life experience agreed on in the
    catalog (``LifeExperience.token_rule``): the joiner only joins tokens made by the same
    rule, so every agency of a life experience must use it, and a record lacking its inputs
    is refused rather than given a token no partner could match.
    """

    text: TextPolicy = TextPolicy.SCRUB
    token_rules: tuple[TokenRule, ...] | None = None

    def rules_for(self, life_experience: str) -> tuple[TokenRule, ...]:
        """The rules to try for a record of ``life_experience``."""
        if self.token_rules is not None:
            return self.token_rules
        return (load_catalog().life_experience(life_experience).token_rule,)


def age_at(date_of_birth: date, on: date) -> int:
    """Age in whole years on a given date."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


# The bands in order, as contracts.privacy.age_band indexes them (listing an enum's members
# costs more than the rest of the age computation, so it is done once).
_AGE_BANDS: Final[tuple[AgeBand, ...]] = tuple(AgeBand)


def age_band_at(date_of_birth: date, on: date) -> AgeBand:
    """The 5-year age band (90+ grouped) of the age reached in the event's calendar year.

    The age is ``on.year - date_of_birth.year`` (the age at the end of the event's year):
    computed from the birth year only, so two events of one journey get different bands
    only across a New Year, which tells the birth year (allowed by Safe Harbor) and nothing
    finer. The birth date itself is dropped.
    """
    age = on.year - date_of_birth.year
    if age < 0 or date_of_birth > on:
        raise DeidentificationError("date_of_birth is after the event date")
    # = age_band(age) (tests/unit/producers/test_prepare_equivalence.py), without its lookup.
    return _AGE_BANDS[min(age // 5, len(_AGE_BANDS) - 1)]


def shares_free_text(life_experience: str) -> bool:
    """Whether the catalog turns free text on for ``life_experience`` (off by default)."""
    return load_catalog().life_experience(life_experience).free_text is FreeTextPolicy.SCRUBBED


def scrub_free_text(raw: RawRecord, policy: TextPolicy = TextPolicy.SCRUB) -> str | None:
    """The record's free text scrubbed, or None when dropped, absent or not shared.

    Free text is shared only where the life experience's catalog policy turns it on; the
    agency's ``policy`` can still drop it there.
    """
    if raw.free_text is None or policy is TextPolicy.DROP:
        return None
    if not shares_free_text(raw.life_experience):
        return None
    own = own_values(
        names=(raw.first_name, raw.middle_name, raw.last_name),
        street_address=raw.street_address,
        city=raw.city,
        zip5=raw.zip,
        email=raw.email,
        account_number=raw.account_number,
        application_id=raw.application_id,
        ssn=raw.ssn,
        phone=raw.phone,
        date_of_birth=raw.date_of_birth,
    )
    scrubbed = scrub_text(raw.free_text, own)
    return scrubbed or None


_KIND_FIELDS: Final[dict[EventKind, tuple[str, ...]]] = {
    EventKind.SERVICE_INTERACTION: (
        "service_id",
        "stage",
        "channel",
        "started_at",
        "ended_at",
        "outcome",
        "wait_seconds",
        "attempt",
    ),
    EventKind.APPLICATION_STATUS: ("service_id", "status", "reason_code"),
    EventKind.FEEDBACK: (
        "service_id",
        "channel",
        "stage",
        "satisfaction",
        "trust",
        "effectiveness",
        "ease",
        "efficiency",
        "equity_transparency",
        "employee_helpfulness",
        "humanity",
    ),
}
_MODELS: Final[dict[EventKind, type[CxEvent]]] = {
    EventKind.SERVICE_INTERACTION: ServiceInteraction,
    EventKind.APPLICATION_STATUS: ApplicationStatus,
    EventKind.FEEDBACK: Feedback,
}


_TIME_FIELDS: Final = frozenset(("started_at", "ended_at"))


def _event_id(raw: RawRecord, record_key: RecordIdKey | None) -> UUID:
    # Without the agency's record-id secret the id is random (never the caller's value):
    # only the publisher, which always has the secret, makes re-sent records idempotent.
    return uuid4() if record_key is None else wire_event_id(raw, record_key)


def deidentify(
    raw: RawRecord,
    linkage_keys: Mapping[str, LinkageKey],
    policy: DeidPolicy | None = None,
    *,
    record_key: RecordIdKey | None = None,
) -> CxEvent:
    """The contract event for ``raw``, with no direct identifier left.

    ``linkage_keys`` maps each life experience to its *current* linkage key; ``record_key``
    is the agency's record-id secret that the event id is derived with (a random id when
    None, as in tests that do not publish). Raises
    :class:`~broker.keyring.LinkageKeyMissing`, :class:`~producers.errors.TokenInputMissing`,
    :class:`~producers.errors.DeidentificationError` or
    :class:`~contracts.errors.ContractViolation`; no message holds a raw value.
    """
    policy = policy or DeidPolicy()
    key = linkage_keys.get(raw.life_experience)
    if key is None or key.life_experience != raw.life_experience:
        raise LinkageKeyMissing(
            f"no linkage key for life experience {raw.life_experience}; "
            "run `cxbroker keys init` or load the agency's keyring"
        )
    linkage = link(raw, key, policy.rules_for(raw.life_experience))
    payload: dict[str, Any] = {
        "event_id": _event_id(raw, record_key),
        "agency": raw.agency,
        "life_experience": raw.life_experience,
        "journey_token": linkage.journey_token,
        "token_rule": linkage.token_rule,
        "linkage_key_id": linkage.linkage_key_id,
        "occurred_at": coarse_time(raw.occurred_at),
        "age_band": age_band_at(raw.date_of_birth, raw.occurred_at.date()),
        "zip3": zip3_of(raw.zip),
        "state": raw.state,
    }
    for name in _KIND_FIELDS[raw.kind]:
        value = getattr(raw, name)
        if value is None:  # absent: let the contract say "field required" or default
            continue
        if name in _TIME_FIELDS:
            value = coarse_time(value)
        elif name == "wait_seconds":
            value = coarse_wait(value)
        payload[name] = value
    if raw.kind is EventKind.APPLICATION_STATUS:
        if raw.application_id is None:
            raise DeidentificationError("an application-status record needs application_id")
        payload["application_token"] = application_token(raw.agency, raw.application_id, key)
    if raw.kind is EventKind.FEEDBACK:
        payload["comment"] = scrub_free_text(raw, policy.text)
    model = _MODELS[raw.kind]
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise describe_validation_error(exc, f"{raw.agency} {model.contract_name} event") from None


def opaque_values(event: CxEvent) -> tuple[bytes, ...]:
    """The event's keyed-hash values (journey and application tokens, and the event id, a
    keyed hash too): random by construction, so the PII guard ignores identifier-like
    letters or digits that happen to occur inside them. Without the event id, a record
    whose derived id happened to hold, say, the person's ZIP digits would be refused on
    every run, since the id no longer changes between runs."""
    tokens = tuple(
        value.encode("ascii")
        for name in _token_fields(type(event))
        if isinstance(value := getattr(event, name), str)
    )
    return (*tokens, str(event.event_id).encode("ascii"))


@lru_cache(maxsize=64)
def _token_fields(model: type[CxEvent]) -> tuple[str, ...]:
    # Per contract class, not per event: iterating a model's fields costs more than the rest.
    return tuple(name for name in model.model_fields if name.endswith("_token"))


def guard_record(
    record: Record, raw: RawRecord, event: CxEvent, guard: PiiGuard | None = None
) -> None:
    """Run the PII guard over a serialized event: key, value and every header.

    Meant for the unsigned record (the signature is made over guarded bytes); if the record
    is already signed, its signature is random by construction and treated as opaque.
    Raises :class:`~producers.errors.PiiLeak` naming the raw field that leaked.
    """
    opaque = opaque_values(event)
    signature = record.header(HEADER_SIG)
    if signature:
        opaque = (*opaque, signature)
    (guard or PiiGuard(raw)).check(record.value, record.headers, key=record.key, opaque=opaque)
