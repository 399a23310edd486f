"""Missing, wrong and refused principals read as access problems, never as outages (#21)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from broker.errors import AccessDenied, ProfileRequired, SecurityDisabled, UnknownProfile
from broker.kafka import ClusterState, NodeState
from broker.kafka.config import ClusterSecurity
from broker.security.apply import effective_acls
from broker.security.credentials import ensure_credential
from broker.security.errors import access_denied_from, denied_as
from broker.security.plan import group_patterns
from broker.security.profile import resolve_settings
from broker.settings import SecurityProtocol, Settings
from cxbroker.exitcodes import ExitCode, exit_code_for
from producers.publisher.kafka import refusal, unavailable


def _record_cluster(state_dir: Path, security: ClusterSecurity) -> None:
    cluster = state_dir / "kafka"
    cluster.mkdir(parents=True)
    state = ClusterState(
        "id",
        "4.1.1",
        [NodeState(1, 9092, 9093, str(cluster / "node-1"))],
        "/jars",
        security=security.value,
    )
    (cluster / "cluster.json").write_text(state.to_json())


def test_secured_local_cluster_without_profile_asks_for_one(tmp_path: Path) -> None:
    _record_cluster(tmp_path, ClusterSecurity.SASL)
    settings = resolve_settings(Settings(state_dir=tmp_path))
    # The cluster's protocol applies, so the client does not fail as if Kafka were down.
    assert settings.security_protocol is SecurityProtocol.SASL_PLAINTEXT
    with pytest.raises(ProfileRequired, match="no principal is selected") as caught:
        settings.kafka_client_kwargs()
    assert "CX_PROFILE=<principal>" in str(caught.value)
    assert "team-analytics reads" in str(caught.value)
    assert exit_code_for(caught.value) is ExitCode.ACCESS_DENIED


def test_plain_local_cluster_needs_no_profile(tmp_path: Path) -> None:
    _record_cluster(tmp_path, ClusterSecurity.NONE)
    kwargs = resolve_settings(Settings(state_dir=tmp_path)).kafka_client_kwargs()
    assert kwargs["security_protocol"] == "PLAINTEXT"


def test_a_profile_needs_no_credential_on_a_plain_local_cluster(tmp_path: Path) -> None:
    """The README's `CX_PROFILE=joiner cxbroker lag` lines run on a plain cluster too."""
    _record_cluster(tmp_path, ClusterSecurity.NONE)
    settings = resolve_settings(Settings(state_dir=tmp_path, profile="joiner"))
    assert settings.kafka_client_kwargs()["security_protocol"] == "PLAINTEXT"
    assert settings.sasl_username is None
    # Another cluster (not the recorded plain one) still needs the stored credential.
    with pytest.raises(UnknownProfile):
        resolve_settings(
            Settings(state_dir=tmp_path, profile="joiner", bootstrap_servers="10.0.0.1:9092")
        )
    with pytest.raises(UnknownProfile):
        resolve_settings(Settings(state_dir=tmp_path, profile="SSA"))


def test_a_missing_principal_is_named_where_the_job_is_known(tmp_path: Path) -> None:
    _record_cluster(tmp_path, ClusterSecurity.SASL)
    settings = resolve_settings(Settings(state_dir=tmp_path))
    with (
        pytest.raises(ProfileRequired) as caught,
        denied_as(None, "write to", "topic cx.events.ssa", needed="agency-ssa"),
    ):
        settings.kafka_client_kwargs()
    assert str(caught.value) == (
        "Kafka at 127.0.0.1:9092 is secured and no principal is selected: to write to topic "
        "cx.events.ssa run as agency-ssa, i.e. set CX_PROFILE=agency-ssa"
    )


def test_unknown_profile_lists_the_known_ones_and_is_access_denied(tmp_path: Path) -> None:
    ensure_credential(tmp_path, "agency-ssa")
    ensure_credential(tmp_path, "joiner")
    with pytest.raises(UnknownProfile, match="known: agency-ssa, joiner") as caught:
        resolve_settings(Settings(state_dir=tmp_path, profile="ssa"))
    assert exit_code_for(caught.value) is ExitCode.ACCESS_DENIED
    with pytest.raises(UnknownProfile, match="invalid principal name"):
        resolve_settings(Settings(state_dir=tmp_path, profile="SSA"))


def test_a_refusal_names_the_principal_that_may() -> None:
    denied = access_denied_from(
        ClusterAuthorizationFailedError(),
        "team-analytics",
        "write to",
        "topic cx.events.ssa",
        needed="agency-ssa",
    )
    assert str(denied) == (
        "team-analytics may not write to topic cx.events.ssa (ClusterAuthorizationFailedError); "
        "run it as agency-ssa: CX_PROFILE=agency-ssa"
    )
    auth = access_denied_from(SaslAuthenticationFailed(), "x", "read", "t", needed="joiner")
    assert "CX_PROFILE=joiner" in str(auth)


def test_a_refused_group_says_which_names_the_plan_grants() -> None:
    assert group_patterns("team-analytics") == ["cx.team-analytics.*"]
    assert group_patterns("team-analytics", "p.") == ["p.cx.team-analytics.*"]
    assert group_patterns("agency-ssa") == []
    denied = access_denied_from(
        GroupAuthorizationFailedError(),
        "team-analytics",
        "read",
        "topic cx.joined.having-a-child",
        group="my-team",
    )
    assert str(denied) == (
        "team-analytics may not use consumer group 'my-team' (GroupAuthorizationFailedError); "
        "the consumer groups of team-analytics must start with cx.team-analytics. (the access "
        "plan's grant), e.g. cx.team-analytics.journeys"
    )


def test_the_publisher_never_spools_on_an_access_error() -> None:
    for exc in (
        TopicAuthorizationFailedError("t"),
        ClusterAuthorizationFailedError(),
        SaslAuthenticationFailed(),
    ):
        assert not unavailable(exc)
        assert isinstance(refusal(exc, "cx.events.ssa", "agency-irs", "agency-ssa"), AccessDenied)
    wrapped = KafkaConnectionError("closed")
    wrapped.__cause__ = SaslAuthenticationFailed()
    assert not unavailable(wrapped)
    assert unavailable(KafkaConnectionError("down"))


class _AclAdmin:
    """An admin client whose DescribeAcls answers with one error code."""

    def __init__(self, error_code: int) -> None:
        self.error_code = error_code

    async def _send_request(self, request: object) -> object:
        return SimpleNamespace(error_code=self.error_code, error_message=None, resources=[])


async def test_acls_of_a_cluster_without_authorizer_are_one_clear_line() -> None:
    with pytest.raises(SecurityDisabled) as caught:
        await effective_acls(_AclAdmin(54), "admin")
    assert str(caught.value).startswith(
        "this Kafka cluster runs without an authorizer, so no ACLs apply"
    )
    assert "--security sasl-tls" in str(caught.value)
    assert exit_code_for(caught.value) is ExitCode.FAILED


async def test_acls_asked_by_a_data_team_name_the_admin() -> None:
    with pytest.raises(AccessDenied) as caught:
        await effective_acls(_AclAdmin(31), "team-analytics")
    assert str(caught.value) == (
        "team-analytics may not describe the cluster's ACLs (ClusterAuthorizationFailedError); "
        "run it as admin: CX_PROFILE=admin"
    )
