"""Tell a refused login from an outage: a short handshake probe with a client's settings.

aiokafka reports a failed SASL login (wrong password, unknown user, a mechanism the
listener does not offer) or a broker certificate the CA does not verify only in its log:
the client's bootstrap then raises ``KafkaConnectionError("Unable to bootstrap ...")``,
the same error as for a broker that is down. Waiting does not fix a refused login, so
callers that would otherwise retry or spool ask :func:`authentication_failure` first: it
opens one bare connection with the same settings and returns the
:class:`~broker.errors.AuthenticationFailed` the handshake shows, or None when Kafka is
really unreachable (or accepts the login).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from broker.errors import AuthenticationFailed, BrokerUnavailable, CxError
from broker.security.credentials import credential_path
from broker.security.errors import is_authentication_error
from broker.settings import SecurityProtocol, Settings

__all__ = ["authenticated", "authentication_failure", "looks_unreachable"]

#: How long the probe waits for one broker's handshake.
PROBE_TIMEOUT = 10.0

_UNREACHABLE = (
    KafkaConnectionError,
    KafkaTimeoutError,
    BrokerUnavailable,
    TimeoutError,
    asyncio.TimeoutError,
    OSError,
)


def looks_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or an error it was raised from) reads like "Kafka is down"."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, _UNREACHABLE):
            return True
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return False


def _whose(settings: Settings) -> str:
    """Where the refused credentials came from, for the advice (never the secret)."""
    if settings.profile:
        try:
            path = credential_path(settings.state_dir, settings.profile)
        except ValueError:
            return "check CX_PROFILE"
        return f"check CX_PROFILE={settings.profile} and its credentials file {path}"
    return "check CX_SASL_USERNAME/CX_SASL_PASSWORD (or select a principal with CX_PROFILE)"


def _refused(settings: Settings, bootstrap: str, exc: BaseException) -> AuthenticationFailed:
    who = settings.sasl_username or "(none)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or type(exc).__name__
        ca = settings.ca_file or "the system's CAs"
        return AuthenticationFailed(
            f"Kafka at {bootstrap} presented a certificate that {ca} does not verify "
            f"({reason}): check CX_CA_FILE (a local cluster's CA is <state dir>/kafka/tls/ca.pem)"
        )
    if "UnsupportedSaslMechanismError" in {c.__name__ for c in type(exc).__mro__}:
        return AuthenticationFailed(
            f"Kafka at {bootstrap} does not offer the SASL mechanism {settings.sasl_mechanism} "
            f"that principal {who} uses (UnsupportedSaslMechanismError): check CX_SASL_MECHANISM"
        )
    return AuthenticationFailed(
        f"Kafka at {bootstrap} refused the credentials of principal {who} "
        f"({type(exc).__name__}): {_whose(settings)}"
    )


async def authentication_failure(
    settings: Settings, seconds: float = PROBE_TIMEOUT
) -> AuthenticationFailed | None:
    """The login refusal a handshake with ``settings`` shows, or None.

    None also when nothing can be probed (plaintext, incomplete settings) or no broker
    answers within ``seconds``: then the failure is an outage after all. The first broker
    that completes a TCP connection decides.
    """
    if settings.security_protocol is SecurityProtocol.PLAINTEXT:
        return None
    try:
        kwargs = settings.kafka_client_kwargs()
    except CxError:
        return None
    bootstrap = kwargs.pop("bootstrap_servers")
    for host, port, _ in collect_hosts(bootstrap, randomize=False):
        try:
            async with asyncio.timeout(seconds):
                conn = await create_conn(
                    host, port, request_timeout_ms=int(seconds * 1000), **kwargs
                )
        except ssl.SSLCertVerificationError as exc:
            return _refused(settings, bootstrap, exc)
        except KafkaError as exc:
            if is_authentication_error(exc):
                return _refused(settings, bootstrap, exc)
            continue
        except (OSError, TimeoutError):
            continue
        conn.close()
        return None
    return None


@contextlib.asynccontextmanager
async def authenticated(settings: Settings) -> AsyncIterator[None]:
    """Inside this block, a failure that looks like an outage is probed: when the
    handshake shows a refused login, :class:`AuthenticationFailed` is raised instead."""
    try:
        yield
    except Exception as exc:
        if looks_unreachable(exc) and (failure := await authentication_failure(settings)):
            raise failure from exc
        raise
