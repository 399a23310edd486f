"""Principal profiles: which credential and trust a client uses, chosen by name.

``Settings(profile="agency-ssa")`` (or ``CX_PROFILE=agency-ssa``) fills the
security fields a client needs from the state dir: the principal's stored
credential, and the security protocol and CA file of the local cluster that
``cxbroker kafka up --security ...`` recorded. Fields set explicitly (``CX_*``)
win over the profile, so a remote cluster works with a profile for credentials
plus ``CX_SECURITY_PROTOCOL``/``CX_CA_FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from broker.kafka.config import SCRAM_MECHANISM
from broker.security.credentials import Credential, read_credential

__all__ = [
    "client_security_kwargs",
    "cluster_is_secured",
    "operator_settings",
    "profile_fields",
]


def client_security_kwargs(
    protocol: str, credential: Credential | None, ca_file: Path | None
) -> dict[str, Any]:
    """aiokafka keyword arguments for ``protocol`` with a SCRAM credential and a trusted CA."""
    kwargs: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        kwargs["sasl_mechanism"] = SCRAM_MECHANISM
        kwargs["sasl_plain_username"] = credential.username if credential else None
        kwargs["sasl_plain_password"] = credential.password if credential else None
    if protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        kwargs["ssl_context"] = create_ssl_context(cafile=str(ca_file) if ca_file else None)
    return kwargs


def profile_fields(
    state_dir: Path, cluster_dir: Path, profile: str, explicit: set[str]
) -> dict[str, Any]:
    """Settings field values implied by ``profile``, except those in ``explicit``.

    Raises :class:`~broker.security.credentials.UnknownProfile` when the principal
    has no stored credential.
    """
    from pydantic import SecretStr

    from broker.kafka.launcher import read_cluster_state
    from broker.settings import SecurityProtocol

    cred = read_credential(state_dir, profile)
    values: dict[str, Any] = {
        "sasl_username": cred.username,
        "sasl_password": SecretStr(cred.password),
        "sasl_mechanism": SCRAM_MECHANISM,
    }
    state = read_cluster_state(cluster_dir)
    if state is not None:
        values["security_protocol"] = SecurityProtocol(state.security_mode.client_protocol)
        if state.ca_file:
            values["ca_file"] = Path(state.ca_file)
    return {k: v for k, v in values.items() if k not in explicit}


def cluster_is_secured(settings: Any) -> bool:
    """True when ``settings`` talk SASL, or point at a local cluster that is secured."""
    from broker.kafka.launcher import read_cluster_state

    if settings.security_protocol.value.startswith("SASL"):
        return True
    state = read_cluster_state(settings.cluster_dir)
    if state is None or state.security == "none":
        return False
    # An explicit address is the local cluster only when it is the recorded one.
    return not settings.bootstrap_servers or settings.bootstrap_servers == state.bootstrap_servers


def operator_settings(settings: Any, profile: str | None = None) -> Any:
    """Settings for operator commands (init, access): the admin profile on a secured local cluster.

    Explicit credentials (``CX_SASL_USERNAME``, ``CX_PROFILE``) are kept; only a
    client that would otherwise connect without credentials to the secured local
    cluster is given the admin profile (or ``profile``).
    """
    from broker.security.credentials import ADMIN
    from broker.settings import Settings

    if profile is None and (settings.profile or settings.sasl_username):
        return settings
    if profile is None and not cluster_is_secured(settings):
        return settings
    explicit = {name: getattr(settings, name) for name in settings.model_fields_set}
    explicit["profile"] = profile or ADMIN
    for name in ("sasl_username", "sasl_password"):
        explicit.pop(name, None)
    return Settings(**explicit)
