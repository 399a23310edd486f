"""One organisation's key directory: its identity, its own private keys, start checks.

An agency's directory holds its signing and encryption keys and the linkage keys of the
life experiences it takes part in; a joiner or insights deployment's operator directory
holds only the deployment's own signing key and public material (the trust anchor and
the signed public keyring). :func:`check_org` is
run before any key is used: a directory that holds another organisation's private key,
a linkage key its owner must not hold, or a file others may read is refused in one line
(:class:`~broker.errors.KeyringRefused`).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from broker.errors import KeyringError, KeyringRefused
from broker.keyring.files import (
    ENCRYPTION_DIR,
    LINKAGE_DIR,
    LOCAL_DEMO_FILE,
    OWNER_FILE,
    SECRETS_DIR,
    SIGNING_DIR,
    OwnerFile,
    PrivateKeyFile,
)
from broker.keyring.owners import Owner
from broker.keyring.secretfiles import (
    check_tree,
    ensure_private_dir,
    read_secret,
    write_secret,
)
from contracts.catalog import load_catalog

__all__ = [
    "DEFAULT_VALIDITY",
    "check_org",
    "create_org",
    "read_owner",
    "read_private_files",
    "read_secret_file",
    "resolve_reader_dir",
    "write_json_secret",
    "write_secret_file",
]

#: How long a new signing or encryption key is valid (``not_after`` - ``not_before``).
DEFAULT_VALIDITY: Final = timedelta(days=730)
_PRIVATE_FIELDS: Final = ("private_key", "secret")


def read_owner(path: Path) -> Owner:
    """Whose directory ``path`` is (``owner.json``)."""
    file = path / OWNER_FILE
    try:
        parsed = OwnerFile.model_validate_json(read_secret(file))
    except FileNotFoundError:
        raise KeyringError(
            f"no keyring at {path}; run `cxbroker keys init --agency <id>` (or --operator <name>)"
        ) from None
    except PydanticValidationError:
        raise KeyringRefused(f"{file} is malformed; refusing the directory") from None
    return Owner.parse(parsed.owner)


def create_org(path: Path, owner: Owner) -> bool:
    """Make ``path`` the key directory of ``owner``; False when it already was.

    Refuses a directory that belongs to another organisation.
    """
    ensure_private_dir(path)
    if (path / OWNER_FILE).exists():
        existing = read_owner(path)
        if existing != owner:
            raise KeyringRefused(
                f"{path} is the key directory of {existing.urn}, not of {owner.urn}; "
                "every organisation needs its own directory"
            )
        return False
    document = OwnerFile(owner=owner.urn).model_dump(mode="json")
    write_secret(path / OWNER_FILE, (json.dumps(document, indent=2) + "\n").encode())
    return True


def write_json_secret(path: Path, document: dict[str, Any]) -> None:
    """A key file: pretty JSON, 0600, never overwriting."""
    write_secret(path, (json.dumps(document, indent=2) + "\n").encode())


def write_secret_file(org: Path, name: str, data: bytes, *, replace: bool = False) -> Path:
    """Keep a secret of the organisation (any kind: an HMAC key, ...) in ``secrets/``."""
    if "/" in name or name.startswith("."):
        raise KeyringError("a secret's name is one plain file name")
    target = org / SECRETS_DIR / name
    write_secret(target, data, replace=replace)
    return target


def read_secret_file(org: Path, name: str) -> bytes:
    """A secret kept with :func:`write_secret_file` (mode-checked)."""
    try:
        return read_secret(org / SECRETS_DIR / name)
    except FileNotFoundError:
        raise KeyringError(f"no secret {name} in {org}") from None


def read_private_files(org: Path, kind: str) -> list[PrivateKeyFile]:
    """The owner's private key files of ``kind`` (signing/encryption), oldest first."""
    directory = org / kind
    if not directory.is_dir():
        return []
    loaded = []
    for file in sorted(directory.glob("*.json")):
        try:
            loaded.append(PrivateKeyFile.model_validate_json(read_secret(file)))
        except PydanticValidationError:
            raise KeyringRefused(f"key file {file} is malformed") from None
    return sorted(loaded, key=lambda f: f.sequence)


def new_private_file(
    kind: str, owner: Owner, key_id: str, sequence: int, now: datetime, private: bytes
) -> dict[str, Any]:
    """The JSON document of a new private key file."""
    content = PrivateKeyFile(
        kind=kind,
        owner=owner.urn,
        key_id=key_id,
        sequence=sequence,
        created_at=now,
        not_after=now + DEFAULT_VALIDITY,
        private_key=SecretStr(base64.b64encode(private).decode("ascii")),
    )
    document = content.model_dump(mode="json")
    document["private_key"] = content.private_key.get_secret_value()
    return document


def check_org(path: Path) -> Owner:
    """The start check of an organisation's directory; its owner when it passes.

    Refused (one line): files or directories others may access; a private key of another
    owner anywhere in it; a linkage key in a directory whose owner is not an agency, or
    of a life experience the agency does not take part in; leftovers of the old
    all-agencies layout (``signing/<agency>/``).
    """
    if not path.is_dir():
        raise KeyringError(
            f"no keyring at {path}; run `cxbroker keys init --agency <id>` (or --operator <name>)"
        )
    check_tree(path)
    owner = read_owner(path)
    for file in sorted(path.rglob("*.json")):
        relative = file.relative_to(path)
        top = relative.parts[0]
        if top in (SIGNING_DIR, ENCRYPTION_DIR) and len(relative.parts) != 2:
            raise KeyringRefused(
                f"{path} holds {top}/{relative.parts[1]}/: private keys of several owners "
                "(the old all-agencies layout); give each organisation its own directory"
            )
        _check_file(path, file, owner)
    linkage = path / LINKAGE_DIR
    if linkage.is_dir():
        taking_part = {le.id for le in load_catalog().life_experiences_of(owner.id)}
        for le_dir in sorted(p for p in linkage.iterdir() if p.is_dir()):
            if not owner.holds_linkage_keys or le_dir.name not in taking_part:
                raise KeyringRefused(
                    f"{path} holds a linkage key of {le_dir.name}, in which {owner.urn} "
                    "takes no part; only that life experience's agencies may hold it"
                )
    return owner


def _check_file(root: Path, file: Path, owner: Owner) -> None:
    try:
        document = json.loads(file.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringRefused(f"{file} is not JSON; refusing the directory") from None
    if not isinstance(document, dict) or not any(f in document for f in _PRIVATE_FIELDS):
        return
    holder = document.get("owner", document.get("holder"))
    if holder != owner.urn:
        raise KeyringRefused(
            f"{root} holds a private key of another organisation ({file.relative_to(root)}); "
            f"the directory of {owner.urn} may hold only its own"
        )
    if document.get("kind") == "linkage" and not owner.holds_linkage_keys:
        raise KeyringRefused(f"{root} holds a linkage key; {owner.urn} must never hold one")


def resolve_reader_dir(path: Path) -> Path:
    """The directory whose ``public-keyring.json`` a reader at ``path`` uses.

    A local-demo root resolves to its joiner operator's directory; an organisation's
    directory is start-checked first.
    """
    marker = path / LOCAL_DEMO_FILE
    if marker.exists():
        operator = json.loads(marker.read_bytes())["operator"]
        path = path / "operators" / operator
    if (path / OWNER_FILE).exists():
        check_org(path)
    return path


def utc_now() -> datetime:
    """Now, in UTC (the one clock of the keyring's defaults)."""
    return datetime.now(UTC)
