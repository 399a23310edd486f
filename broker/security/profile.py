"""Principal profiles, and the one place where settings are completed from the state dir.

:class:`~broker.settings.Settings` is plain configuration. What a client also needs from
files is filled in by :func:`resolve_settings` (and :func:`load_settings`, which reads the
``CX_*`` environment first), called once where a process starts (the ``cxbroker``
commands, the SDK's defaults):

* no ``CX_BOOTSTRAP_SERVERS``: the address of the local cluster ``cxbroker kafka up``
  recorded;
* ``CX_PROFILE=agency-ssa``: that principal's stored credential, and the security
  protocol and CA file of the local cluster (a plain local cluster, which checks no one,
  needs no stored credential).

Fields set explicitly (``CX_*``) win over the profile, so a remote cluster works with a
profile for credentials plus ``CX_SECURITY_PROTOCOL``/``CX_CA_FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from broker.kafka.config import SCRAM_MECHANISM, ClusterSecurity
from broker.kafka.state import read_cluster_state
from broker.security.credentials import ADMIN, credential_path, read_credential
from broker.settings import SecurityProtocol, Settings

__all__ = [
    "acting_as_agency",
    "cluster_is_secured",
    "load_settings",
    "operator_settings",
    "principal_settings",
    "resolve_settings",
]


def resolve_settings(settings: Settings) -> Settings:
    """``settings`` completed from the state dir: local cluster address, profile credential.

    Reads ``<state dir>/kafka/cluster.json`` (when no bootstrap address is configured, or
    a profile is) and the profile's credential file. Explicitly set fields are kept.
    Raises :class:`~broker.errors.UnknownProfile` when the profile has no credential.
    Idempotent: resolving resolved settings changes nothing.
    """
    explicit = settings.model_fields_set
    update: dict[str, Any] = {}
    state = read_cluster_state(settings.cluster_dir)
    if not settings.bootstrap_servers and state is not None:
        update["bootstrap_servers"] = state.bootstrap_servers
    local = state is not None and (
        not settings.bootstrap_servers or settings.bootstrap_servers == state.bootstrap_servers
    )
    # A plain local cluster checks no one: a profile without a stored credential is no
    # error there, so the README's `CX_PROFILE=... cxbroker ...` lines run on both kinds.
    plain = local and state is not None and state.security_mode is ClusterSecurity.NONE
    if settings.profile and not (plain and not _stored(settings.state_dir, settings.profile)):
        cred = read_credential(settings.state_dir, settings.profile)
        update |= {
            "sasl_username": cred.username,
            "sasl_password": SecretStr(cred.password),
            "sasl_mechanism": SCRAM_MECHANISM,
        }
    if state is not None and (settings.profile or (local and not settings.sasl_username)):
        # Without a profile, the secured local cluster's protocol still applies: the
        # client then says that a principal is missing (ProfileRequired) instead of
        # failing to connect as if Kafka were down.
        update["security_protocol"] = SecurityProtocol(state.security_mode.client_protocol)
        if state.ca_file:
            update["ca_file"] = Path(state.ca_file)
    update = {name: value for name, value in update.items() if name not in explicit}
    return settings.model_copy(update=update) if update else settings


def _stored(state_dir: Path, profile: str) -> bool:
    try:
        return credential_path(state_dir, profile).is_file()
    except ValueError:
        return True  # read_credential names the invalid principal name


def load_settings(**overrides: Any) -> Settings:
    """Settings from the ``CX_*`` environment (``overrides`` on top), resolved."""
    return resolve_settings(Settings(**overrides))


def cluster_is_secured(settings: Settings) -> bool:
    """True when ``settings`` talk SASL, or point at a local cluster that is secured."""
    if settings.security_protocol.value.startswith("SASL"):
        return True
    state = read_cluster_state(settings.cluster_dir)
    if state is None or state.security_mode is ClusterSecurity.NONE:
        return False
    # An explicit address is the local cluster only when it is the recorded one.
    return not settings.bootstrap_servers or settings.bootstrap_servers == state.bootstrap_servers


def operator_settings(settings: Settings, profile: str | None = None) -> Settings:
    """Settings for operator commands (init, access): the admin profile on a secured local cluster.

    Explicit credentials (``CX_SASL_USERNAME``, ``CX_PROFILE``) are kept; only a
    client that would otherwise connect without credentials to the secured local
    cluster is given the admin profile (or ``profile``).
    """
    if profile is None and (settings.profile or settings.sasl_username):
        return resolve_settings(settings)
    if profile is None and not cluster_is_secured(settings):
        return resolve_settings(settings)
    fields = {name: getattr(settings, name) for name in settings.model_fields_set}
    fields.pop("sasl_username", None)
    fields.pop("sasl_password", None)
    fields["profile"] = profile or ADMIN
    return resolve_settings(Settings(**fields))


def principal_settings(settings: Settings, secured: bool, principal: str) -> Settings:
    """Settings acting as ``principal`` (its stored credential) on a secured local cluster.

    On a plaintext or external cluster the given settings serve every role unchanged.
    """
    if not secured:
        return resolve_settings(settings)
    return load_settings(
        profile=principal,
        state_dir=settings.state_dir,
        keyring_dir=settings.keyring_dir,
        topic_prefix=settings.topic_prefix,
        partitions=settings.partitions,
        cache_dir=settings.cache_dir,
    )


def acting_as_agency(settings: Settings, agency: str) -> Settings:
    """Settings for publishing as ``agency`` from a process that plays several agencies
    (``cxbroker simulate``): on a secured cluster whose credentials come from profiles,
    that agency's own principal ``agency-<id>``.

    ``settings`` are the unresolved ``CX_*`` settings. Explicit credentials (``CX_PROFILE``,
    ``CX_SASL_USERNAME``) serve every agency unchanged, as does a cluster without security.
    """
    if settings.profile or settings.sasl_username or not cluster_is_secured(settings):
        return resolve_settings(settings)
    return principal_settings(settings, True, f"agency-{agency}")
