"""TLS material, credential files, profiles and error mapping, without Kafka."""

from __future__ import annotations

import ipaddress
import json
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from broker.errors import AccessDenied, UnknownProfile
from broker.kafka import ClusterState, NodeState
from broker.kafka.config import (
    ClusterSecurity,
    NodeConfig,
    NodeSecurity,
    broker_properties,
)
from broker.security.credentials import (
    Credential,
    ensure_credential,
    read_credential,
    remove_credential,
)
from broker.security.errors import access_denied_from, denied_as, is_access_error
from broker.security.profile import resolve_settings
from broker.security.protocol import AlterScramRequest, AlterUserScramCredentialsRequest_v0
from broker.security.scram import salted_password
from broker.security.tls import ensure_tls, generate_ca
from broker.settings import SecurityProtocol, Settings


def test_broker_certificate_names_loopback_and_chains_to_the_ca(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    pem = files.keystore.read_bytes()
    certs = x509.load_pem_x509_certificates(pem[pem.index(b"-----BEGIN CERTIFICATE") :])
    server, ca = certs[0], x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert server.issuer == ca.subject
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    server.verify_directly_issued_by(ca)
    # Python's TLS stack (what aiokafka uses) accepts the CA file.
    ssl.create_default_context(cafile=str(files.ca_cert))
    assert b"PRIVATE KEY" not in files.ca_cert.read_bytes()
    assert files.truststore.read_bytes() == files.ca_cert.read_bytes()


def test_tls_material_is_generated_once_and_keys_are_private(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path / "tls")
    before = first.keystore.read_bytes()
    again = ensure_tls(tmp_path / "tls")
    assert again.keystore.read_bytes() == before
    for secret in (first.ca_key, first.keystore):
        assert secret.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700


def test_another_ca_does_not_verify_the_broker_certificate(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    pem = files.keystore.read_bytes()
    server = x509.load_pem_x509_certificates(pem[pem.index(b"-----BEGIN CERTIFICATE") :])[0]
    other = x509.load_pem_x509_certificate(generate_ca("other")[0])
    with pytest.raises(ValueError):
        server.verify_directly_issued_by(other)


def test_credentials_are_private_stable_and_hidden_from_repr(tmp_path: Path) -> None:
    cred = ensure_credential(tmp_path, "agency-ssa")
    path = tmp_path / "credentials" / "agency-ssa.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "credentials").stat().st_mode & 0o777 == 0o700
    assert ensure_credential(tmp_path, "agency-ssa") == cred
    assert read_credential(tmp_path, "agency-ssa") == cred
    assert cred.password not in repr(cred) and len(cred.password) >= 32
    assert ensure_credential(tmp_path, "agency-irs").password != cred.password
    assert remove_credential(tmp_path, "agency-ssa")
    with pytest.raises(UnknownProfile, match="agency-ssa"):
        read_credential(tmp_path, "agency-ssa")


@pytest.mark.parametrize("name", ["../etc", "Agency", "a b", "", "x,y", "a=b"])
def test_principal_names_are_restricted(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid principal name"):
        ensure_credential(tmp_path, name)


def _record_cluster(state_dir: Path, security: ClusterSecurity, ca: str | None) -> None:
    cluster = state_dir / "kafka"
    cluster.mkdir(parents=True)
    state = ClusterState(
        "id",
        "4.1.1",
        [NodeState(1, 9092, 9093, str(cluster / "node-1"))],
        "/jars",
        security=security.value,
        ca_file=ca,
    )
    (cluster / "cluster.json").write_text(state.to_json())


def test_profile_fills_credentials_protocol_and_ca(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "kafka-tls")
    _record_cluster(tmp_path, ClusterSecurity.SASL_TLS, str(files.ca_cert))
    cred = ensure_credential(tmp_path, "agency-ssa")
    settings = resolve_settings(Settings(state_dir=tmp_path, profile="agency-ssa"))
    assert settings.security_protocol is SecurityProtocol.SASL_SSL
    assert settings.ca_file == files.ca_cert
    kwargs = settings.kafka_client_kwargs()
    assert kwargs["bootstrap_servers"] == "127.0.0.1:9092"
    assert kwargs["sasl_plain_username"] == "agency-ssa"
    assert kwargs["sasl_plain_password"] == cred.password
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    assert cred.password not in repr(settings)


def test_explicit_settings_win_over_the_profile(tmp_path: Path) -> None:
    _record_cluster(tmp_path, ClusterSecurity.SASL, None)
    ensure_credential(tmp_path, "joiner")
    settings = resolve_settings(
        Settings(state_dir=tmp_path, profile="joiner", sasl_username="someone-else")
    )
    assert settings.sasl_username == "someone-else"
    assert settings.security_protocol is SecurityProtocol.SASL_PLAINTEXT


def test_unknown_profile_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(UnknownProfile, match="cxbroker init"):
        resolve_settings(Settings(state_dir=tmp_path, profile="nobody"))


def test_plain_settings_are_unchanged_by_profiles() -> None:
    settings = Settings(bootstrap_servers="127.0.0.1:1")
    assert settings.profile is None
    assert settings.kafka_client_kwargs()["security_protocol"] == "PLAINTEXT"


def node() -> NodeConfig:
    return NodeConfig(1, "127.0.0.1", 9092, 9093, Path("/d"))


def test_secured_node_properties(tmp_path: Path) -> None:
    security = NodeSecurity(
        ClusterSecurity.SASL_TLS, "admin", "pw", tmp_path / "ks.pem", tmp_path / "ts.pem"
    )
    props = broker_properties(node(), [node()], security)
    assert props["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_SSL"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    # No ANONYMOUS super user: the controller port is not an unauthenticated way in.
    assert props["super.users"] == "User:admin"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert 'user_admin="pw"' in props["listener.name.controller.plain.sasl.jaas.config"]
    assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert (
        'username="admin" password="pw"'
        in props["listener.name.client.scram-sha-512.sasl.jaas.config"]
    )
    assert props["listener.name.client.ssl.keystore.type"] == "PEM"
    assert props["listeners"].startswith("CLIENT://127.0.0.1:")
    assert "CONTROLLER://127.0.0.1:" in props["listeners"]


def test_sasl_without_tls_and_none_are_as_before() -> None:
    sasl = broker_properties(node(), [node()], NodeSecurity(ClusterSecurity.SASL, "admin", "pw"))
    assert sasl["listener.security.protocol.map"] == (
        "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT"
    )
    assert not any("ssl" in key for key in sasl)
    plain = broker_properties(node(), [node()])
    assert plain == broker_properties(
        node(), [node()], NodeSecurity(ClusterSecurity.NONE, "admin", "pw")
    )
    assert "authorizer.class.name" not in plain


def test_salted_password_is_pbkdf2_sha512() -> None:
    import hashlib

    salt = b"\x01" * 32
    assert salted_password("pw", salt, 4096) == hashlib.pbkdf2_hmac("sha512", b"pw", salt, 4096)
    assert salted_password("pw", salt) != salted_password("pw2", salt)


def test_authorization_errors_become_clear_access_denied() -> None:
    from aiokafka.errors import SaslAuthenticationFailed, TopicAuthorizationFailedError

    denied = access_denied_from(
        TopicAuthorizationFailedError("t"), "agency-ssa", "write to", "topic cx.events.irs"
    )
    assert isinstance(denied, AccessDenied)
    assert "agency-ssa may not write to topic cx.events.irs" in str(denied)
    assert "access.toml" in str(denied)
    auth = access_denied_from(SaslAuthenticationFailed(), "x", "connect", "cluster")
    assert "credentials of x" in str(auth)
    assert is_access_error(RuntimeError("unrelated")) is False
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = TopicAuthorizationFailedError("t")
    assert is_access_error(wrapped)
    with pytest.raises(AccessDenied), denied_as("joiner", "write to", "t"):
        raise TopicAuthorizationFailedError("t")
    with pytest.raises(KeyError), denied_as("joiner", "write to", "t"):
        raise KeyError("not an access error")


def test_credential_file_holds_only_name_and_password(tmp_path: Path) -> None:
    cred: Credential = ensure_credential(tmp_path, "joiner")
    data = json.loads((tmp_path / "credentials" / "joiner.json").read_text())
    assert data == {"username": "joiner", "password": cred.password}


def test_scram_alter_request_encodes_as_flexible_v0() -> None:
    from io import BytesIO

    request = AlterScramRequest([("old", 2)], [("new", 2, 8192, b"s" * 4, b"p" * 64)])
    struct = request.prepare({51: (0, 0)})
    assert isinstance(struct, AlterUserScramCredentialsRequest_v0)
    assert struct.FLEXIBLE_VERSION
    decoded = AlterUserScramCredentialsRequest_v0.SCHEMA.decode(BytesIO(struct.encode()))
    assert decoded[0] == [("old", 2, {})]
    assert decoded[1] == [("new", 2, 8192, b"s" * 4, b"p" * 64, {})]
