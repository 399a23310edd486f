"""SCRAM-SHA-512 users on the cluster: list, create or replace, delete (over the Kafka protocol).

The client computes the salted password (RFC 5802 ``Hi()`` = PBKDF2-HMAC) and
sends it with its salt and iteration count; the password itself never crosses
the wire and the broker stores only derived keys.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from broker.errors import ScramError
from broker.security.acls import raise_if_unauthorized
from broker.security.credentials import Credential
from broker.security.protocol import AlterScramRequest, DescribeScramRequest, send

__all__ = [
    "ITERATIONS",
    "SCRAM_SHA_512",
    "delete_users",
    "list_users",
    "salted_password",
    "upsert_users",
]

SCRAM_SHA_512 = 2  # Kafka's ScramMechanism code
ITERATIONS = 8192  # Kafka accepts 4096..16384 for SHA-512


def salted_password(password: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    """SCRAM's ``SaltedPassword = Hi(password, salt, i)`` for SHA-512."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


async def list_users(admin: Any) -> dict[str, set[int]]:
    """Every SCRAM user on the cluster and the mechanisms it has credentials for."""

    response = await send(admin, DescribeScramRequest())
    raise_if_unauthorized([response.error_code, *(r[1] for r in response.results)])
    if response.error_code:
        raise ScramError(f"describing SCRAM users failed: {response.error_message}")
    users: dict[str, set[int]] = {}
    for user, code, message, infos, _tags in response.results:
        if code:
            raise ScramError(f"describing SCRAM user {user} failed: {message or code}")
        users[user] = {mechanism for mechanism, _iterations, _t in infos}
    return users


def _check(response: Any, action: str) -> None:
    raise_if_unauthorized(code for _user, code, _message, _tags in response.results)
    failures = [
        f"{user}: {message or code}" for user, code, message, _tags in response.results if code
    ]
    if failures:
        raise ScramError(f"{action} SCRAM users failed: " + "; ".join(failures))


async def upsert_users(admin: Any, credentials: Iterable[Credential]) -> None:
    """Create or replace the SCRAM-SHA-512 credential of each user."""

    upserts = []
    for cred in credentials:
        salt = secrets.token_bytes(32)
        upserts.append(
            (cred.username, SCRAM_SHA_512, ITERATIONS, salt, salted_password(cred.password, salt))
        )
    if upserts:
        _check(await send(admin, AlterScramRequest([], upserts)), "creating")


async def delete_users(admin: Any, names: Iterable[str]) -> None:
    """Delete the SCRAM-SHA-512 credential of each user."""

    deletions = [(name, SCRAM_SHA_512) for name in names]
    if deletions:
        _check(await send(admin, AlterScramRequest(deletions, [])), "deleting")
