"""Property tests: generated valid events survive the wire format unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from cloudevents.core.bindings import kafka as ce_kafka
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    RESTRICTED_ZIP3,
    AgeBand,
    Channel,
    Outcome,
    ServiceInteraction,
    Stage,
    TokenRule,
    UsState,
    age_band,
    decode,
    encode_unsigned,
    journey_token_from_digest,
    load_catalog,
    with_signature,
    zip3_of,
)

CATALOG = load_catalog()
PAIRS = sorted((le.id, service_id) for le in CATALOG.life_experiences for service_id in le.services)


@st.composite
def interactions(draw: st.DrawFn) -> ServiceInteraction:
    life_experience, service_id = draw(st.sampled_from(PAIRS))
    started = draw(
        st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
        )
    )
    duration = timedelta(seconds=draw(st.integers(0, 86400)))
    return ServiceInteraction(
        event_id=UUID(int=draw(st.integers(0, 2**128 - 1)), version=4),
        agency=CATALOG.service(service_id).agency,
        life_experience=life_experience,
        journey_token=journey_token_from_digest(draw(st.binary(min_size=32, max_size=32))),
        token_rule=draw(st.sampled_from(TokenRule)),
        linkage_key_id="link-1",
        occurred_at=started + duration,
        age_band=draw(st.none() | st.sampled_from(AgeBand)),
        zip3=draw(st.none() | st.sampled_from(["000", "200", "100", "941"])),
        state=draw(st.none() | st.sampled_from(UsState)),
        service_id=service_id,
        stage=draw(st.sampled_from(Stage)),
        channel=draw(st.sampled_from(Channel)),
        started_at=started,
        ended_at=started + duration,
        outcome=draw(st.sampled_from(Outcome)),
        wait_seconds=draw(st.floats(0, 366 * 86400, allow_nan=False)),
        attempt=draw(st.integers(1, 1000)),
    )


@settings(max_examples=60, deadline=None)
@given(interactions(), st.binary(min_size=64, max_size=64))
def test_generated_events_round_trip_through_decode_and_the_sdk(
    event: ServiceInteraction, signature: bytes
) -> None:
    record = with_signature(encode_unsigned(event), "agency-key-1", signature)
    decoded = decode(record.key, record.value, record.headers)
    assert decoded.event == event and decoded.signature == signature
    message = ce_kafka.KafkaMessage(
        headers=dict(record.headers), key=record.key, value=record.value
    )
    cloud_event = ce_kafka.from_binary_event(message)
    assert cloud_event.get_time() == event.occurred_at
    assert ServiceInteraction.model_validate(cloud_event.get_data()) == event


@given(st.integers(0, 200))
def test_age_band_contains_the_age(age: int) -> None:
    band = age_band(age).value
    low, _, high = band.partition("-")
    assert int(low.rstrip("+")) <= age
    assert band == "90+" or age <= int(high)


@given(st.from_regex(r"[0-9]{5}", fullmatch=True))
def test_zip3_of_never_leaks_a_restricted_area(zip5: str) -> None:
    zip3 = zip3_of(zip5)
    assert zip3 == "000" or zip3 == zip5[:3]
    assert zip3 not in RESTRICTED_ZIP3
