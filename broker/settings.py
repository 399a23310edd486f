"""One settings object for every cx-broker process, read from ``CX_*`` environment variables."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from broker.errors import BrokerUnavailable, ProfileRequired
from broker.topics import TopicNames

__all__ = ["SecurityProtocol", "Settings", "default_cache_dir", "default_state_dir"]


class SecurityProtocol(StrEnum):
    """Kafka client security protocols cx-broker supports."""

    PLAINTEXT = "PLAINTEXT"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"
    SSL = "SSL"


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def default_state_dir() -> Path:
    """Where local clusters, credentials and spools live unless ``CX_STATE_DIR`` says otherwise."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "cx-broker"


def default_cache_dir() -> Path:
    """Where Maven-fetched Kafka jars are cached (outside any git work tree)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "cx-broker"


class Settings(BaseSettings):
    """Connection, security and storage settings (environment prefix ``CX_``).

    Plain configuration: building one reads the environment and nothing else. An empty
    ``bootstrap_servers`` means: use the local Kafka cluster that ``cxbroker kafka up``
    started, and ``profile`` names a principal whose stored credential to use; both are
    filled in from the state dir by :func:`broker.security.profile.resolve_settings`
    (:func:`~broker.security.profile.load_settings` reads and resolves in one call).
    """

    model_config = SettingsConfigDict(env_prefix="CX_", extra="ignore", frozen=True)

    bootstrap_servers: str = ""
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ca_file: Path | None = None
    client_id: str = "cx-broker"
    topic_prefix: str = Field(default="", pattern=r"^[a-zA-Z0-9._-]*$")

    state_dir: Path = Field(default_factory=default_state_dir)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    keyring_dir: Path | None = None

    partitions: int = Field(default=6, ge=1, le=1000)
    kafka_heap: str = "512m"
    kafka_start_timeout: float = Field(default=90.0, gt=0)
    # A principal whose stored credential (and the local cluster's protocol and CA)
    # this process uses, e.g. "agency-ssa"; see broker/security/profile.py.
    profile: str | None = None
    # Prometheus metrics, /healthz and /readyz of a long-running process on this port
    # (``--metrics-port``; 0: any free port; unset: none), bound to ``metrics_host``.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @property
    def cluster_dir(self) -> Path:
        """State of the local Kafka cluster started by the launcher."""
        return self.state_dir / "kafka"

    @property
    def topics(self) -> TopicNames:
        """Topic names under this deployment's prefix."""
        return TopicNames(self.topic_prefix)

    @property
    def keyring_path(self) -> Path:
        """Directory of the agency signing keys and linkage keys."""
        return self.keyring_dir or self.state_dir / "keyring"

    def resolved_bootstrap(self) -> str:
        """The configured bootstrap address; :class:`BrokerUnavailable` when there is none.

        Settings of the local cluster get its address from
        :func:`broker.security.profile.resolve_settings`.
        """
        if self.bootstrap_servers:
            return self.bootstrap_servers
        raise BrokerUnavailable(
            "no Kafka configured: set CX_BOOTSTRAP_SERVERS or run `cxbroker kafka up`"
        )

    def kafka_client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (bootstrap and security).

        :class:`~broker.errors.ProfileRequired` for a SASL protocol without a user name.
        """
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.resolved_bootstrap(),
            "security_protocol": self.security_protocol.value,
            "client_id": self.client_id,
        }
        if self.security_protocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL):
            if not self.sasl_username:
                # Without it the client fails to authenticate, which reads like an outage.
                raise ProfileRequired(kwargs["bootstrap_servers"])
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.security_protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
            kwargs["ssl_context"] = create_ssl_context(
                cafile=str(self.ca_file) if self.ca_file else None
            )
        return kwargs
