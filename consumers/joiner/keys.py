"""The joiner's signature verifier: the governance-signed public keyring of its directory.

Loaded at start (refused whole, one line, when it does not verify under the pinned trust
anchor or the directory holds a private key); then re-read while the joiner runs when
the file changes (see :class:`broker.keyring.PublicKeyring`).
"""

from __future__ import annotations

from broker.keyring import PublicKeyring
from broker.settings import Settings

__all__ = ["keyring_verifier"]


def keyring_verifier(settings: Settings) -> PublicKeyring:
    """Load ``<keyring dir>/public-keyring.json`` (a local-demo root: its operator's)."""
    return PublicKeyring.load(settings.keyring_path)
