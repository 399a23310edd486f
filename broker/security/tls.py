"""A local certificate authority and a broker certificate, generated with ``cryptography``.

Kafka reads PEM directly (``ssl.keystore.type=PEM``): the keystore file holds the
broker's unencrypted PKCS#8 private key followed by its certificate and the CA
certificate; the truststore file holds the CA certificate. Private keys are
written 0600 and never leave the state dir.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from broker.security.files import write_private, write_public

__all__ = ["TlsFiles", "ensure_tls", "generate_ca", "issue_server_cert"]

# Long enough for a development cluster, short enough not to pretend to be a real PKI.
VALIDITY = dt.timedelta(days=365)
SERVER_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class TlsFiles:
    """Where a cluster's TLS material lives."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate clients trust (``CX_CA_FILE``)."""
        return self.dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """The CA's private key (0600)."""
        return self.dir / "ca.key"

    @property
    def keystore(self) -> Path:
        """Broker key + certificate chain, PEM (0600)."""
        return self.dir / "broker-keystore.pem"

    @property
    def truststore(self) -> Path:
        """The CA certificate the brokers trust (a copy of ``ca_cert``)."""
        return self.dir / "truststore.pem"

    def complete(self) -> bool:
        """True when every file exists."""
        return all(p.exists() for p in (self.ca_cert, self.ca_key, self.keystore, self.truststore))


def _name(common_name: str) -> object:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cx-broker local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def generate_ca(common_name: str = "cx-broker local CA") -> tuple[bytes, bytes]:
    """A new self-signed CA: ``(certificate PEM, PKCS#8 private key PEM)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)  # type: ignore[arg-type]
        .issuer_name(name)  # type: ignore[arg-type]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def issue_server_cert(
    ca_cert_pem: bytes,
    ca_key_pem: bytes,
    *,
    common_name: str = "cx-broker kafka",
    dns_names: tuple[str, ...] = SERVER_NAMES,
    ip_addresses: tuple[str, ...] = SERVER_IPS,
) -> tuple[bytes, bytes]:
    """A server certificate signed by the CA: ``(certificate PEM, PKCS#8 key PEM)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))  # type: ignore[arg-type]
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(
            # Brokers are servers to clients and clients to each other (inter-broker).
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def ensure_tls(directory: Path) -> TlsFiles:
    """The cluster's CA and broker certificate in ``directory``, generated when missing."""
    files = TlsFiles(directory)
    if files.complete():
        return files
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_cert, ca_key = generate_ca()
    cert, key = issue_server_cert(ca_cert, ca_key)
    write_private(files.ca_key, ca_key)
    write_private(files.keystore, key + cert + ca_cert)
    write_public(files.truststore, ca_cert)
    write_public(files.ca_cert, ca_cert)
    return files
