"""Turn Kafka's authorization and authentication failures into :class:`AccessDenied`.

Publisher, joiner, SDK and CLI share one helper so every refusal reads the same: who,
what, on which resource, and which principal (``CX_PROFILE``) may do it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Literal

from broker.errors import AccessDenied, InvalidAccessPlan, ProfileRequired
from broker.security.plan import group_patterns

__all__ = [
    "access_denied_from",
    "denied_as",
    "group_advice",
    "is_access_error",
    "is_authentication_error",
]

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


def is_authentication_error(exc: BaseException) -> bool:
    """True when ``exc`` is Kafka refusing a login (credentials or SASL mechanism)."""
    return bool(_names(exc) & _AUTHENTICATION)


def access_denied_from(
    exc: BaseException,
    principal: str | None,
    action: str,
    resource: str,
    *,
    needed: str | None = None,
    advice: str | None = None,
    group: str | None = None,
    prefix: str = "",
) -> AccessDenied:
    """An :class:`AccessDenied` saying who may not do what, for a Kafka refusal ``exc``.

    Use as ``raise access_denied_from(exc, "agency-ssa", "write to", "topic cx.events.irs")
    from exc``. ``needed`` names the principal that may (the message then says how to
    select it); ``advice`` replaces the closing advice. Authentication failures (bad or
    missing credentials) get their own wording, since no grant can fix them. A refused
    consumer ``group`` is explained with the group names the plan grants ``principal``
    (under the deployment's ``prefix``). The message never contains a secret.
    """
    who = principal or "an unauthenticated client"
    kind = type(exc).__name__
    select = f"CX_PROFILE={needed}" if needed else "CX_PROFILE"
    if _names(exc) & _AUTHENTICATION:
        return AccessDenied(
            f"Kafka did not accept the credentials of {who} ({kind}); check the profile "
            f"({select}) or CX_SASL_USERNAME/CX_SASL_PASSWORD"
        )
    if group is not None and "GroupAuthorizationFailedError" in _names(exc):
        return AccessDenied(
            f"{who} may not use consumer group {group!r} ({kind}); "
            + group_advice(principal, prefix)
        )
    if advice is None:
        advice = (
            f"run it as {needed}: {select}"
            if needed and needed != principal
            else "if it should, an operator grants it in broker/access.toml and applies the "
            "plan as admin (`cxbroker access apply`)"
        )
    return AccessDenied(f"{who} may not {action} {resource} ({kind}); {advice}")


def group_advice(principal: str | None, prefix: str) -> str:
    """Which consumer group names the plan lets ``principal`` use, with an example."""
    try:
        patterns = group_patterns(principal, prefix) if principal else []
    except InvalidAccessPlan:
        patterns = []
    if not patterns:
        return "read without a consumer group, or ask for a group grant in broker/access.toml"
    starts = [p.removesuffix("*") for p in patterns if p.endswith("*")]
    exact = [p for p in patterns if not p.endswith("*")]
    rules = [f"start with {' or '.join(starts)}"] if starts else []
    rules += [f"be {' or '.join(exact)}"] if exact else []
    first = starts[0] + ("journeys" if starts[0].endswith(".") else "") if starts else exact[0]
    return (
        f"the consumer groups of {principal} must {' or '.join(rules)} (the access plan's "
        f"grant), e.g. {first}"
    )


class denied_as:
    """Inside this block, Kafka refusals become :class:`AccessDenied`; other errors pass.

    ``with denied_as("agency-ssa", "write to", "topic cx.events.ssa"):
    await producer.send_and_wait(...)``. With ``needed``, a missing principal
    (:class:`ProfileRequired` without one) is completed with it. One instance can guard
    several blocks.
    """

    def __init__(
        self,
        principal: str | None,
        action: str,
        resource: str,
        *,
        needed: str | None = None,
        advice: str | None = None,
        group: str | None = None,
        prefix: str = "",
    ) -> None:
        self.principal = principal
        self.action = action
        self.resource = resource
        self.needed = needed
        self.advice = advice
        self.group = group
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, Exception):
            return False
        if isinstance(exc, ProfileRequired):
            if exc.needed or not self.needed:
                return False
            raise ProfileRequired(
                exc.bootstrap, self.needed, f"{self.action} {self.resource}"
            ) from None
        if isinstance(exc, AccessDenied) or not is_access_error(exc):
            return False
        raise access_denied_from(
            exc,
            self.principal,
            self.action,
            self.resource,
            needed=self.needed,
            advice=self.advice,
            group=self.group,
            prefix=self.prefix,
        ) from exc
