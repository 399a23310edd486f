"""Owners of keys: organisations named by URNs, typed by kind.

Every key in the public keyring names its owner as ``urn:cx:<kind>:<id>``:

* ``agency`` - an agency of the catalog (signs ``cx.events.<agency>``, holds linkage keys);
* ``joiner`` / ``insights`` - a deployment of the joiner or of insights (issue #18 adds
  their signing keys); their operators hold no private key of anyone else;
* ``governance`` - the body that signs the assembled public keyring.

Kept apart so a new kind of owner is one line here, not a change to every file format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

from broker.errors import KeyringError
from contracts.catalog import AGENCY_ID_PATTERN

__all__ = ["OWNER_KINDS", "OWNER_URN_PATTERN", "Owner", "OwnerKind"]

OwnerKind = Literal["agency", "joiner", "insights", "governance"]
OWNER_KINDS: Final = frozenset(get_args(OwnerKind))
#: Owner ids of every kind follow the agency id rule (short lowercase slugs).
_ID: Final = AGENCY_ID_PATTERN.strip("^$")
OWNER_URN_PATTERN: Final = rf"^urn:cx:(agency|joiner|insights|governance):{_ID}$"
_URN: Final = re.compile(OWNER_URN_PATTERN)
_ID_RE: Final = re.compile(AGENCY_ID_PATTERN)


@dataclass(frozen=True, slots=True, order=True)
class Owner:
    """An organisation that holds keys: a kind and an id (``urn:cx:<kind>:<id>``)."""

    kind: OwnerKind
    id: str

    def __post_init__(self) -> None:
        if self.kind not in OWNER_KINDS:
            raise KeyringError(f"unknown owner kind {self.kind!r}")
        if not _ID_RE.match(self.id):
            raise KeyringError(f"not an owner id: {self.id!r}")

    @property
    def urn(self) -> str:
        """``urn:cx:<kind>:<id>``."""
        return f"urn:cx:{self.kind}:{self.id}"

    @classmethod
    def parse(cls, urn: str) -> Owner:
        """The owner a URN names; a one-line :class:`KeyringError` when it names none."""
        if not _URN.match(urn):
            raise KeyringError("not an owner URN (urn:cx:<kind>:<id>)")
        _, _, kind, ident = urn.split(":", 3)
        return cls(kind, ident)  # type: ignore[arg-type]

    @property
    def holds_linkage_keys(self) -> bool:
        """Only agencies hold linkage keys; every other kind must never hold one."""
        return self.kind == "agency"

    def __str__(self) -> str:
        return self.urn
