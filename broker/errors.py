"""Errors of the ground floor: the local cluster, Kafka access, security and the keyring.

Every one is a :class:`~contracts.errors.CxError` (re-exported here): its message says what
went wrong and what to do, and never holds a secret or a payload value. The CLI turns
each into one line and the exit code of :mod:`cxbroker.exitcodes`.
"""

from __future__ import annotations

from typing import ClassVar

from contracts.errors import CxError

__all__ = [
    "AccessDenied",
    "AclApplyError",
    "AuthenticationFailed",
    "BrokerUnavailable",
    "CxError",
    "DeploymentKeyUnpublished",
    "GroupFenced",
    "InvalidAccessPlan",
    "KafkaLaunchError",
    "KeyExpired",
    "KeyRevoked",
    "KeyUseMismatch",
    "KeyringError",
    "KeyringRefused",
    "LinkageKeyMissing",
    "MissingTool",
    "ProfileRequired",
    "PropagationTimeout",
    "ScramError",
    "SecurityDisabled",
    "SignatureInvalid",
    "SignatureMissing",
    "SigningKeyAgencyMismatch",
    "SigningKeyMissing",
    "TopicConflict",
    "UnknownProfile",
    "UnknownSigningKey",
]


class MissingTool(CxError):
    """A required program (Java 17, Maven) is not installed."""


class KafkaLaunchError(CxError):
    """The local Kafka cluster could not be fetched, formatted or started."""


class BrokerUnavailable(CxError):
    """Kafka cannot be reached."""


class TopicConflict(CxError):
    """An existing topic differs from the topic plan."""


class AccessDenied(CxError):
    """Kafka refused the operation for this principal."""


#: Which principal of the access plan (broker/access.toml) does which job.
PRINCIPAL_ROLES = (
    "agency-<agency> publishes that agency's events, joiner runs `cxbroker join`, insights "
    "runs `cxbroker insights --compute`, team-analytics reads joined journeys and insights"
)


class AuthenticationFailed(AccessDenied):
    """Kafka answered but refused this client's credentials or TLS trust: a wrong password,
    an unknown user, a SASL mechanism the listener does not offer, a CA that does not
    verify the broker's certificate. Not an outage: waiting does not fix it, nothing spools.
    """


class ProfileRequired(AccessDenied):
    """The cluster is secured and this client has no credentials (no ``CX_PROFILE``).

    ``needed`` is the principal that may do what was asked (when the caller knows it) and
    ``purpose`` what that is, e.g. ``"write to topic cx.events.ssa"``.
    """

    def __init__(self, bootstrap: str, needed: str | None = None, purpose: str = "") -> None:
        self.bootstrap = bootstrap
        self.needed = needed
        self.purpose = purpose
        head = f"Kafka at {bootstrap} is secured and no principal is selected"
        if needed:
            to = f"to {purpose} " if purpose else ""
            message = f"{head}: {to}run as {needed}, i.e. set CX_PROFILE={needed}"
        else:
            message = f"{head}: set CX_PROFILE=<principal> ({PRINCIPAL_ROLES})"
        super().__init__(message)


class KeyringError(CxError):
    """The keyring directory or one of its files is missing, malformed or too open."""


class KeyringRefused(KeyringError):
    """Key material refused at start: another organisation's private key in the state dir,
    files others may read, or a public keyring whose signature or content does not hold."""


class DeploymentKeyUnpublished(KeyringRefused):
    """A joiner or insights deployment's own current signing key is not a valid entry of
    the signed public keyring it reads (never assembled, revoked, expired, another owner's):
    readers would reject everything it signs, so it refuses to start."""


class SigningKeyMissing(KeyringError):
    """The keyring has no signing key for an agency."""


class LinkageKeyMissing(KeyringError):
    """No linkage key exists for a life experience (or for a key id)."""


class RecordIdKeyMissing(KeyringError):
    """The keyring has no record-id secret for an agency (made by ``cxbroker keys init``)."""


class SignatureInvalid(CxError):
    """A record's signature does not verify. ``reason`` is a stable code for dead letters."""

    reason: ClassVar[str] = "bad-signature"


class SignatureMissing(SignatureInvalid):
    """The record has no ``ce_cxkeyid`` or no ``ce_cxsig`` header."""

    reason = "missing-signature"


class UnknownSigningKey(SignatureInvalid):
    """``ce_cxkeyid`` names no key of the public keyring."""

    reason = "unknown-key-id"


class SigningKeyAgencyMismatch(SignatureInvalid):
    """The signing key belongs to another agency than the record's ``ce_source``."""

    reason = "key-agency-mismatch"


class KeyRevoked(SignatureInvalid):
    """The record was signed by a key revoked before the record's time."""

    reason = "key-revoked"


class KeyExpired(SignatureInvalid):
    """The record's time lies after the signing key's ``not_after``."""

    reason = "key-expired"


class KeyUseMismatch(SignatureInvalid):
    """The key named by ``ce_cxkeyid`` is not a signing key (an encryption key, ...)."""

    reason = "key-use-mismatch"


class PropagationTimeout(CxError):
    """ACL changes were accepted but did not become visible in time."""


class AclApplyError(CxError):
    """The cluster refused to create or delete an ACL."""


class UnknownProfile(CxError):
    """A principal profile was asked for that has no credential in the state dir."""


class InvalidAccessPlan(CxError):
    """The access plan file is malformed."""


class ScramError(CxError):
    """The cluster refused to describe, create or delete a SCRAM user."""


class SecurityDisabled(CxError):
    """The cluster runs without an authorizer: it has no ACLs to show or apply."""


class GroupFenced(CxError):
    """The group coordinator refused a transactional offset commit from a stale member
    (KIP-447): another member owns the partitions now; the transaction must be aborted."""
