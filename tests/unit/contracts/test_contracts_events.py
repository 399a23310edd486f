"""Event contracts: closed, frozen, versioned, validated against the catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts import (
    ApplicationStatus,
    ContractModel,
    CxEvent,
    Feedback,
    ServiceInteraction,
    Stage,
    load_registry,
)
from contracts.catalog import load_catalog
from contracts.errors import describe_validation_error
from contracts.events import ApplicationStatusV1_0, FeedbackV1_0
from tests.support.contract_samples import Samples


def test_contracts_carry_name_and_semver() -> None:
    assert (ServiceInteraction.contract_name, ServiceInteraction.contract_version) == (
        "service-interaction",
        "1.0.0",
    )
    assert ApplicationStatus.contract_urn() == "urn:cx:contract:application-status:1.1.0"
    assert ApplicationStatusV1_0.contract_version == "1.0.0"
    assert (Feedback.contract_version, FeedbackV1_0.contract_version) == ("1.1.0", "1.0.0")
    assert Feedback.contract_major() == 1


def test_events_are_closed_and_frozen(samples: Samples) -> None:
    event = samples.interaction()
    with pytest.raises(ValidationError):
        ServiceInteraction(**{**event.model_dump(), "first_name": "x"})
    with pytest.raises(ValidationError):
        event.attempt = 2  # type: ignore[misc]


def test_occurred_at_must_be_aware_and_is_normalized_to_utc(samples: Samples) -> None:
    eastern = timezone(timedelta(hours=-4))
    event = samples.feedback(occurred_at=datetime(2026, 4, 3, 10, 30, tzinfo=eastern))
    assert event.occurred_at == datetime(2026, 4, 3, 14, 30, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        samples.feedback(occurred_at=datetime(2026, 4, 3, 10, 30))


def test_service_interaction_rules(samples: Samples) -> None:
    event = samples.interaction()
    assert event.stage is Stage.APPLY
    with pytest.raises(ValidationError, match="ended_at is before started_at"):
        samples.interaction(ended_at=event.started_at - timedelta(seconds=1))
    for bad in ({"wait_seconds": -1}, {"attempt": 0}, {"channel": "fax"}, {"outcome": "won"}):
        with pytest.raises(ValidationError):
            samples.interaction(**bad)


def test_application_status_rules(samples: Samples) -> None:
    assert samples.status(reason_code=None).reason_code is None
    # Closed: only the agency's catalog codes, even when the shape fits (a name, a ZIP).
    for bad in ("x", "has space", "lower", "A" * 33, "QUINTANILLA", "Z32301", "WORK-CREDITS"):
        with pytest.raises(ValidationError):
            samples.status(reason_code=bad)
    with pytest.raises(ValidationError):
        samples.status(status="lost")


def test_feedback_drivers_are_optional_1_to_5(samples: Samples) -> None:
    event = samples.feedback(trust=None, comment=None)
    assert event.trust is None and event.satisfaction == 4
    for bad in (0, 6):
        with pytest.raises(ValidationError):
            samples.feedback(satisfaction=bad)
    with pytest.raises(ValidationError, match="scrub"):
        samples.feedback(comment="reach me at someone@example.org")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"agency": "nasa"}, "not a known agency id"),
        ({"life_experience": "buying-a-boat"}, "not a known life-experience id"),
        ({"service_id": "usda-fns.nothing"}, "not a known service id"),
        ({"service_id": "ssa.enumeration-at-birth"}, "not a service of this event's agency"),
        ({"service_id": "usda-fns.snap"}, "does not take part in this event's life experience"),
    ],
)
def test_ids_are_checked_against_the_catalog(
    samples: Samples, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        samples.status(**overrides)


def test_restricted_zip3_and_raw_zip_are_rejected(samples: Samples) -> None:
    for bad in ("036", "20500"):
        with pytest.raises(ValidationError):
            samples.interaction(zip3=bad)
    assert samples.interaction(zip3="000").zip3 == "000"


def test_every_registered_contract_is_closed_and_frozen() -> None:
    for entry in load_registry().entries:
        assert issubclass(entry.model, ContractModel)
        assert entry.model.model_config.get("extra") == "forbid"
        assert entry.model.model_config.get("frozen") is True
    assert {m.contract_name for m in load_registry().event_models()} == {
        "service-interaction",
        "application-status",
        "feedback",
    }
    assert all(issubclass(m, CxEvent) for m in load_registry().event_models())


def test_application_status_1_0_upcasts_keeping_only_catalog_reason_codes(
    samples: Samples,
) -> None:
    fields = samples.status().model_dump()
    registry = load_registry()
    for code, kept in (("MISSING-DOCS", "MISSING-DOCS"), ("QUINTANILLA", None), (None, None)):
        old = ApplicationStatusV1_0.model_validate({**fields, "reason_code": code})
        new = registry.upcast(old)
        assert isinstance(new, ApplicationStatus)
        assert new.reason_code == kept
        assert (new.event_id, new.occurred_at) == (old.event_id, old.occurred_at)


def test_every_agency_has_closed_reason_codes_and_the_error_names_no_value(
    samples: Samples,
) -> None:
    for agency in load_catalog().agencies:
        assert agency.reason_codes and all(c == c.upper() for c in agency.reason_codes)
    with pytest.raises(ValidationError) as caught:
        samples.status(reason_code="ZOE-QUINTANILLA")
    described = str(describe_validation_error(caught.value, "event"))
    assert "reason_code" in described and "QUINTANILLA" not in described
