"""The joiner's signature verifier: the public keyring of the configured keyring dir."""

from __future__ import annotations

from broker.keyring import PublicKeyring
from broker.settings import Settings

__all__ = ["keyring_verifier"]


def keyring_verifier(settings: Settings) -> PublicKeyring:
    """Load ``<keyring dir>/public-keyring.json`` (public keys cached per key id)."""
    return PublicKeyring.load(settings.keyring_path)
