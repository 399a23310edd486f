"""aiokafka client keyword arguments for a security protocol, a SCRAM credential and a CA.

The launcher's own admin client (``kafka up`` waits for the cluster as its super user)
and the settings of every other client build their security arguments here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context

from broker.kafka.config import SCRAM_MECHANISM
from broker.security.credentials import Credential

__all__ = ["client_security_kwargs"]


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
        kwargs["ssl_context"] = create_ssl_context(cafile=str(ca_file) if ca_file else None)
    return kwargs
