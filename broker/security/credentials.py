"""Per-principal SCRAM credentials, generated once and stored 0600 in the state dir.

``<state_dir>/credentials/<principal>.json`` holds ``{"username", "password"}``.
The directory is 0700. Nothing here logs or prints a password; the only way to
see one is ``cxbroker access credentials NAME --show``.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from broker.errors import UnknownProfile
from broker.security.files import write_private

__all__ = [
    "ADMIN",
    "Credential",
    "credential_path",
    "credentials_dir",
    "ensure_credential",
    "read_credential",
    "remove_credential",
    "validate_principal_name",
]

ADMIN = "admin"
# SCRAM user names and ACL principals: keep them to a conservative alphabet so they
# never need escaping in SCRAM (',' '='), properties or JAAS strings.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Credential:
    """A SCRAM user name and its password; the password never appears in ``repr``."""

    username: str
    password: str = field(repr=False)


def validate_principal_name(name: str) -> str:
    """Return ``name`` if it is a valid principal name, else raise ``ValueError``."""
    if not _NAME.match(name):
        raise ValueError(
            f"invalid principal name {name!r}: use lower-case letters, digits, '.', '_', '-'"
        )
    return name


def credentials_dir(state_dir: Path) -> Path:
    """The directory of every principal's credential file."""
    return state_dir / "credentials"


def credential_path(state_dir: Path, name: str) -> Path:
    """The credential file of one principal."""
    return credentials_dir(state_dir) / f"{validate_principal_name(name)}.json"


def read_credential(state_dir: Path, name: str) -> Credential:
    """The stored credential of ``name``; :class:`UnknownProfile` when there is none."""
    try:
        path = credential_path(state_dir, name)
    except ValueError as exc:
        raise UnknownProfile(f"{exc} (CX_PROFILE)") from None
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        known = sorted(p.stem for p in path.parent.glob("*.json")) if path.parent.is_dir() else []
        hint = (
            f"known: {', '.join(known)}"
            if known
            else "run `cxbroker init` against the secured cluster to create them"
        )
        raise UnknownProfile(
            f"no credential for principal {name!r} (CX_PROFILE) in {path.parent}; {hint}"
        ) from None
    return Credential(str(data["username"]), str(data["password"]))


def ensure_credential(state_dir: Path, name: str) -> Credential:
    """The credential of ``name``, generating and storing (0600) a new one when missing."""
    path = credential_path(state_dir, name)
    if path.exists():
        return read_credential(state_dir, name)
    directory = credentials_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    # 32 url-safe characters: no ',' or '=' (StorageTool's SCRAM syntax) and no quotes (JAAS).
    cred = Credential(name, secrets.token_urlsafe(24))
    write_private(path, json.dumps({"username": name, "password": cred.password}).encode())
    return cred


def remove_credential(state_dir: Path, name: str) -> bool:
    """Delete the stored credential of ``name``; True when one existed."""
    path = credential_path(state_dir, name)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
