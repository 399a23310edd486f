"""The login probe tells a refused login from an outage (#21); fake connections, no Kafka."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    UnsupportedSaslMechanismError,
)
from pydantic import SecretStr

from broker.errors import AuthenticationFailed, BrokerUnavailable
from broker.security import probe
from broker.settings import SecurityProtocol, Settings
from consumers.errors import JoinerError
from cxbroker import cli
from producers.publisher import kafka as publisher_kafka

SECRET = "s3cret-password-1"


def sasl_settings(tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        bootstrap_servers="127.0.0.1:9,127.0.0.1:10",
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_username="agency-ssa",
        sasl_password=SecretStr(SECRET),
        profile="agency-ssa",
        state_dir=tmp_path,
        **more,
    )


class FakeConn:
    closed = False

    def close(self) -> None:
        self.closed = True


def fake_create_conn(outcomes: list[BaseException | FakeConn], seen: list[str]) -> Any:
    async def create_conn(host: str, port: int, **kwargs: Any) -> FakeConn:
        seen.append(f"{host}:{port}")
        assert kwargs["sasl_plain_password"] == SECRET  # the client's own credentials
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return create_conn


def test_errors_that_read_like_an_outage() -> None:
    assert probe.looks_unreachable(KafkaConnectionError("Unable to bootstrap"))
    assert probe.looks_unreachable(BrokerUnavailable("cannot reach Kafka"))
    wrapped = JoinerError("joiner stopped")
    wrapped.__cause__ = KafkaConnectionError()
    assert probe.looks_unreachable(wrapped)
    assert not probe.looks_unreachable(TopicAuthorizationFailedError())
    assert not probe.looks_unreachable(ValueError("bad row"))
    looped = ValueError("a chain that refers back to itself")
    looped.__context__ = looped
    assert not probe.looks_unreachable(looped)


async def test_a_refused_password_is_named_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    failed = SaslAuthenticationFailed("Authentication failed: invalid credentials")
    monkeypatch.setattr(probe, "create_conn", fake_create_conn([failed], seen))
    refused = await probe.authentication_failure(sasl_settings(tmp_path))
    assert isinstance(refused, AuthenticationFailed)
    assert str(refused) == (
        "Kafka at 127.0.0.1:9,127.0.0.1:10 refused the credentials of principal agency-ssa "
        "(SaslAuthenticationFailed): check CX_PROFILE=agency-ssa and its credentials file "
        f"{tmp_path / 'credentials' / 'agency-ssa.json'}"
    )
    assert SECRET not in str(refused)
    assert seen == ["127.0.0.1:9"]


async def test_a_down_broker_is_skipped_and_a_login_that_works_is_no_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    conn = FakeConn()
    outcomes: list[BaseException | FakeConn] = [ConnectionRefusedError(), conn]
    monkeypatch.setattr(probe, "create_conn", fake_create_conn(outcomes, seen))
    assert await probe.authentication_failure(sasl_settings(tmp_path)) is None
    assert seen == ["127.0.0.1:9", "127.0.0.1:10"] and conn.closed


async def test_no_broker_answering_is_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[BaseException | FakeConn] = [ConnectionRefusedError(), TimeoutError()]
    monkeypatch.setattr(probe, "create_conn", fake_create_conn(outcomes, []))
    assert await probe.authentication_failure(sasl_settings(tmp_path)) is None


async def test_mechanism_and_tls_trust_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    untrusted = ssl.SSLCertVerificationError("certificate verify failed")
    untrusted.verify_message = "self-signed certificate in certificate chain"
    outcomes: list[BaseException | FakeConn] = [UnsupportedSaslMechanismError(), untrusted]
    monkeypatch.setattr(probe, "create_conn", fake_create_conn(outcomes, []))
    mechanism = await probe.authentication_failure(sasl_settings(tmp_path))
    assert mechanism is not None and "does not offer the SASL mechanism SCRAM-SHA-512" in str(
        mechanism
    )
    trust = await probe.authentication_failure(sasl_settings(tmp_path, ca_file=Path("/x/ca.pem")))
    assert trust is not None and str(trust).startswith(
        "Kafka at 127.0.0.1:9,127.0.0.1:10 presented a certificate that /x/ca.pem does not "
        "verify (self-signed certificate in certificate chain): check CX_CA_FILE"
    )


async def test_a_plaintext_client_is_not_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "create_conn", fake_create_conn([], []))  # would fail: no outcome
    plain = Settings(bootstrap_servers="127.0.0.1:9", state_dir=tmp_path)
    assert await probe.authentication_failure(plain) is None


async def test_the_publisher_never_spools_a_refused_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = AuthenticationFailed("Kafka at x refused the credentials of principal agency-ssa")

    async def says_refused(settings: Settings) -> AuthenticationFailed:
        return refused

    monkeypatch.setattr(publisher_kafka, "authentication_failure", says_refused)
    outage = KafkaConnectionError("Unable to bootstrap")
    explained = await publisher_kafka.explained(outage, sasl_settings(tmp_path))
    assert explained is refused
    assert not publisher_kafka.unavailable(explained)
    assert publisher_kafka.refusal(explained, "cx.events.ssa") is refused
    assert publisher_kafka.start_failure(explained, "t", refused, spooling=True) is refused
    # A refusal Kafka states itself is not probed again.
    denied = TopicAuthorizationFailedError()
    assert await publisher_kafka.explained(denied, sasl_settings(tmp_path)) is denied


def test_the_cli_prints_the_refused_login_instead_of_the_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = AuthenticationFailed("Kafka at x refused the credentials of principal joiner")

    async def says_refused(settings: Settings) -> AuthenticationFailed:
        return refused

    async def says_nothing(settings: Settings) -> None:
        return None

    monkeypatch.setattr(cli, "load_settings", lambda: Settings())
    monkeypatch.setattr(cli, "authentication_failure", says_refused)
    assert cli._explained(BrokerUnavailable("cannot reach Kafka")) is refused
    assert cli._explained(KafkaConnectionError()) is refused
    other = JoinerError("an offset is 0 or more")
    assert cli._explained(other) is other
    monkeypatch.setattr(cli, "authentication_failure", says_nothing)
    down = cli._explained(KafkaConnectionError())
    assert isinstance(down, BrokerUnavailable)
    assert str(down) == "cannot reach Kafka (KafkaConnectionError)"
