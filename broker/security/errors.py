"""Turn Kafka's authorization and authentication failures into :class:`AccessDenied`.

Publisher, joiner and CLI share one helper so every refusal reads the same:
who, what, on which resource, and what to do about it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from broker.errors import AccessDenied

__all__ = ["access_denied_from", "denied_as", "is_access_error"]

# aiokafka error class names (errno): authorization 29-32 and 53, authentication 58.
_AUTHORIZATION = {
    "TopicAuthorizationFailedError",
    "GroupAuthorizationFailedError",
    "ClusterAuthorizationFailedError",
    "TransactionalIdAuthorizationFailed",
}
_AUTHENTICATION = {
    "SaslAuthenticationFailed",
    "AuthenticationFailedError",
    "IllegalSaslStateError",
    "UnsupportedSaslMechanismError",
}


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def is_access_error(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) is Kafka refusing a principal or an operation."""
    seen: BaseException | None = exc
    while seen is not None:
        if _names(seen) & (_AUTHORIZATION | _AUTHENTICATION):
            return True
        seen = seen.__cause__
    return False


def access_denied_from(
    exc: BaseException, principal: str | None, action: str, resource: str
) -> AccessDenied:
    """An :class:`AccessDenied` saying who may not do what, for a Kafka refusal ``exc``.

    Use as ``raise access_denied_from(exc, "agency-ssa", "write to", "topic cx.events.irs")
    from exc``. Authentication failures (bad or missing credentials) get their own
    wording, since no grant can fix them. The message never contains a secret.
    """
    who = principal or "an unauthenticated client"
    kind = type(exc).__name__
    if _names(exc) & _AUTHENTICATION:
        return AccessDenied(
            f"Kafka did not accept the credentials of {who} ({kind}); check the profile "
            "(CX_PROFILE / --as) or CX_SASL_USERNAME/CX_SASL_PASSWORD"
        )
    return AccessDenied(
        f"{who} may not {action} {resource}: Kafka refused it ({kind}); if this is "
        "intended, grant it in broker/access.toml and run `cxbroker access apply`"
    )


@contextlib.contextmanager
def denied_as(principal: str | None, action: str, resource: str) -> Iterator[None]:
    """Inside this block, Kafka refusals become :class:`AccessDenied`; other errors pass.

    ``with denied_as("agency-ssa", "write to", "topic cx.events.ssa"):
    await producer.send_and_wait(...)``
    """
    try:
        yield
    except AccessDenied:
        raise
    except Exception as exc:
        if is_access_error(exc):
            raise access_denied_from(exc, principal, action, resource) from exc
        raise
