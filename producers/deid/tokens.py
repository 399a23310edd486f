"""Journey tokens: keyed HMAC-SHA256 pseudonyms that link one person's events across agencies.

The exact bytes are specified in ``producers/deid/TOKENS.md`` so that an agency system in
another language computes the same token. In short::

    token = base64url_nopad(HMAC-SHA256(linkage_key, UTF-8("<rule id>|" + fields joined by "|")))

with the fields normalized by :mod:`producers.deid.normalize`. The rule id prefix keeps
tokens of different rules (and application tokens) in separate domains.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from broker.keyring import LinkageKey
from contracts.privacy import TokenRule, journey_token_from_digest
from producers.deid.normalize import normalize_dob, normalize_name
from producers.deid.raw import RawRecord
from producers.errors import TokenInputMissing

__all__ = [
    "DEFAULT_TOKEN_RULES",
    "Linkage",
    "application_token",
    "choose_rule",
    "journey_token",
    "link",
    "token_input",
]

#: SSN rule when the record has an SSN, else the name rule (per agency: see ``DeidPolicy``).
DEFAULT_TOKEN_RULES: Final[tuple[TokenRule, ...]] = (TokenRule.SSN_DOB, TokenRule.NAME_DOB_ZIP3)

#: Raw fields each rule needs, for error messages.
_RULE_FIELDS: Final[dict[TokenRule, tuple[str, ...]]] = {
    TokenRule.SSN_DOB: ("ssn", "date_of_birth"),
    TokenRule.NAME_DOB_ZIP3: ("last_name", "first_name", "date_of_birth", "zip"),
}


def _rule_fields(raw: RawRecord, rule: TokenRule) -> tuple[str, ...] | None:
    """The normalized fields of ``rule``, or None when one of them is missing."""
    dob = normalize_dob(raw.date_of_birth)
    if rule is TokenRule.SSN_DOB:
        return (raw.ssn, dob) if raw.ssn else None
    if rule is TokenRule.NAME_DOB_ZIP3:
        last, first = normalize_name(raw.last_name), normalize_name(raw.first_name)
        # The raw ZIP3 (not the published one, where restricted areas are 000): the token
        # is a hash, so precision here discloses nothing and avoids merging people.
        return (last, first, dob, raw.zip[:3]) if last and first else None
    raise TokenInputMissing(f"token rule {rule} is not implemented")  # pragma: no cover


def token_input(raw: RawRecord, rule: TokenRule) -> bytes:
    """The exact bytes HMAC'ed for ``rule``: ``"<rule>|f1|f2|..."`` in UTF-8.

    Raises :class:`TokenInputMissing` (naming the fields, not their values) when the record
    lacks one of the rule's inputs.
    """
    fields = _rule_fields(raw, rule)
    if fields is None:
        needed = ", ".join(_RULE_FIELDS[rule])
        raise TokenInputMissing(f"token rule {rule} needs {needed}; the record lacks one")
    return "|".join((rule.value, *fields)).encode("utf-8")


def _hmac_token(secret: bytes, message: bytes) -> str:
    return journey_token_from_digest(hmac.new(secret, message, hashlib.sha256).digest())


def journey_token(raw: RawRecord, rule: TokenRule, linkage_key: LinkageKey) -> str:
    """The journey token of ``raw`` under ``rule`` and ``linkage_key`` (43 characters).

    The key id to record with it is ``linkage_key.key_id`` (see :func:`link`).
    """
    return _hmac_token(linkage_key.secret, token_input(raw, rule))


def choose_rule(raw: RawRecord, preference: Sequence[TokenRule] = DEFAULT_TOKEN_RULES) -> TokenRule:
    """The first rule in ``preference`` whose inputs the record has."""
    for rule in preference:
        if _rule_fields(raw, rule) is not None:
            return rule
    tried = ", ".join(str(rule) for rule in preference) or "none configured"
    raise TokenInputMissing(f"no token rule applies to the record (tried: {tried})")


@dataclass(frozen=True, slots=True)
class Linkage:
    """A journey token with the rule and the linkage key id that made it."""

    journey_token: str
    token_rule: TokenRule
    linkage_key_id: str


def link(
    raw: RawRecord,
    linkage_key: LinkageKey,
    preference: Sequence[TokenRule] = DEFAULT_TOKEN_RULES,
) -> Linkage:
    """Choose the rule for ``raw``, compute its token and record the key id."""
    # choose_rule then journey_token, with each rule's normalized fields computed once.
    for rule in preference:
        fields = _rule_fields(raw, rule)
        if fields is not None:
            message = "|".join((rule.value, *fields)).encode("utf-8")
            return Linkage(_hmac_token(linkage_key.secret, message), rule, linkage_key.key_id)
    choose_rule(raw, preference)  # raises TokenInputMissing naming the rules tried
    raise AssertionError("unreachable: choose_rule found no rule either")  # pragma: no cover


def application_token(agency: str, application_id: str, linkage_key: LinkageKey) -> str:
    """Pseudonym of an agency's application number, e.g. for ``ApplicationStatus``.

    Input ``"application|<agency>|<application id>"``: scoped by agency so two agencies'
    numbering schemes never collide.
    """
    message = "|".join(("application", agency, application_id.strip())).encode("utf-8")
    return _hmac_token(linkage_key.secret, message)
