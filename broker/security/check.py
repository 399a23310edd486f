"""Would Kafka let a principal do what a command needs? Decided from ACL bindings, purely.

A command's needs are a list of :class:`Need` (an operation on a resource, and what for).
:func:`check_needs` evaluates them the way KRaft's ``StandardAuthorizer`` does: a DENY
binding that matches wins, then an ALLOW that matches (a literal name equal to the
resource, or a prefix it starts with; operation ``ALL``, the operation itself, or one that
implies it: READ, WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS implies
DESCRIBE_CONFIGS). Super users may do everything. The verdict names what is missing,
never a credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from broker.security.acls import AclBinding, Operation, PatternType, Permission, ResourceType

__all__ = ["Need", "Verdict", "check_needs", "grants"]

_IMPLIED_BY: dict[Operation, set[Operation]] = {
    Operation.DESCRIBE: {Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER},
    Operation.DESCRIBE_CONFIGS: {Operation.ALTER_CONFIGS},
}


@dataclass(frozen=True, order=True)
class Need:
    """One operation on one resource a command performs, and ``why`` (for the verdict)."""

    resource_type: ResourceType
    name: str
    operation: Operation
    why: str = ""

    def describe(self) -> str:
        """``READ group cx.joiner`` (with ``(why)`` when known)."""
        text = f"{self.operation.name} {self.resource_type.name.lower()} {self.name}"
        return f"{text} ({self.why})" if self.why else text


@dataclass(frozen=True)
class Verdict:
    """Whether a principal may run a command: the needs it lacks (empty: allowed)."""

    principal: str
    command: str
    missing: list[Need] = field(default_factory=list)
    denied: list[Need] = field(default_factory=list)
    note: str = ""

    @property
    def allowed(self) -> bool:
        """True when every need is granted and nothing else stands in the way."""
        return not self.missing and not self.denied and not self.note

    def reason(self) -> str:
        """Why not, in one line (``ok`` when allowed)."""
        parts = [self.note] if self.note else []
        parts += [f"no grant for {n.describe()}" for n in self.missing]
        parts += [f"DENY rule on {n.describe()}" for n in self.denied]
        return "; ".join(parts) or "ok"


def _matches(binding: AclBinding, need: Need) -> bool:
    if binding.resource_type is not need.resource_type:
        return False
    if binding.pattern_type is PatternType.LITERAL:
        if binding.resource_name not in (need.name, "*"):
            return False
    elif not need.name.startswith(binding.resource_name):
        return False
    if binding.permission is Permission.DENY:
        return binding.operation in (Operation.ALL, need.operation)
    return binding.operation in (Operation.ALL, need.operation) or (
        binding.operation in _IMPLIED_BY.get(need.operation, set())
    )


def grants(bindings: Iterable[AclBinding], principal: str, need: Need) -> bool | None:
    """True if ``principal``'s bindings allow ``need``, False if a DENY forbids it, None if
    nothing grants it."""
    mine = [b for b in bindings if b.principal in (principal, "User:*") and _matches(b, need)]
    if any(b.permission is Permission.DENY for b in mine):
        return False
    return True if mine else None


def check_needs(
    bindings: Sequence[AclBinding],
    user: str,
    command: str,
    needs: Iterable[Need],
    *,
    super_users: Iterable[str] = (),
    known_users: Iterable[str] | None = None,
) -> Verdict:
    """The verdict for SCRAM user ``user`` running ``command``.

    ``known_users`` (the SCRAM users on the cluster) adds a note when ``user`` has none.
    """
    principal = f"User:{user}"
    if principal in set(super_users):
        return Verdict(user, command)
    note = ""
    if known_users is not None and user not in set(known_users):
        note = "no SCRAM user on the cluster (run `cxbroker access apply`)"
    missing: list[Need] = []
    denied: list[Need] = []
    for need in sorted(set(needs)):
        verdict = grants(bindings, principal, need)
        if verdict is None:
            missing.append(need)
        elif verdict is False:
            denied.append(need)
    return Verdict(user, command, missing, denied, note)
