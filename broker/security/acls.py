"""ACL bindings as plain values, and reading/creating/deleting them on a cluster.

An :class:`AclBinding` is one ALLOW (or DENY) rule: principal, resource pattern,
operation. The access plan expands to a set of bindings; applying it is a set
difference against what the cluster describes (:func:`diff_bindings`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from broker.errors import AclApplyError, SecurityDisabled
from broker.security.protocol import CreateAclsBatch, DeleteAclsBatch, DescribeAclsAll, send

__all__ = [
    "AclBinding",
    "Operation",
    "PatternType",
    "Permission",
    "ResourceType",
    "create_bindings",
    "delete_bindings",
    "describe_bindings",
    "diff_bindings",
    "raise_if_unauthorized",
]

CLUSTER_RESOURCE = "kafka-cluster"


class ResourceType(IntEnum):
    """Kafka's ACL resource types (wire codes)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class PatternType(IntEnum):
    """How a binding's resource name matches (wire codes)."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """ACL operations (wire codes)."""

    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


class Permission(IntEnum):
    """ALLOW or DENY (wire codes)."""

    DENY = 2
    ALLOW = 3


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ACL: ``principal`` may (or may not) do ``operation`` on a resource pattern."""

    principal: str  # "User:agency-ssa"
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    operation: Operation
    permission: Permission = Permission.ALLOW
    host: str = "*"

    @property
    def user(self) -> str:
        """The principal's name without the ``User:`` type."""
        return self.principal.split(":", 1)[1]

    def describe(self) -> str:
        """One readable line: ``ALLOW WRITE topic cx.events.ssa (literal)``."""
        pattern = "*" if self.pattern_type is PatternType.PREFIXED else ""
        return (
            f"{self.permission.name} {self.operation.name} "
            f"{self.resource_type.name.lower()} {self.resource_name}{pattern}"
        )

    def entry(self) -> tuple[int, str, int, str, str, int, int]:
        """The binding in the wire order of CreateAcls/DeleteAcls v1."""
        return (
            int(self.resource_type),
            self.resource_name,
            int(self.pattern_type),
            self.principal,
            self.host,
            int(self.operation),
            int(self.permission),
        )


def diff_bindings(
    want: Iterable[AclBinding], have: Iterable[AclBinding], managed: set[str]
) -> tuple[list[AclBinding], list[AclBinding]]:
    """``(to_create, to_delete)`` so that the cluster ends up with exactly ``want``.

    Only bindings of principals in ``managed`` are ever deleted: the super users'
    and anything outside the plan's authority stay untouched.
    """
    want_set, have_set = set(want), set(have)
    to_create = sorted(want_set - have_set)
    to_delete = sorted(b for b in have_set - want_set if b.principal in managed)
    return to_create, to_delete


# CLUSTER_AUTHORIZATION_FAILED: the caller is not allowed to manage ACLs or users.
CLUSTER_AUTHORIZATION_FAILED = 31
# SECURITY_DISABLED: the cluster has no authorizer (Kafka's error code 54).
SECURITY_DISABLED = 54


def raise_if_unauthorized(codes: Iterable[int]) -> None:
    """Raise aiokafka's ClusterAuthorizationFailedError when any code says the caller may not."""
    from aiokafka.errors import ClusterAuthorizationFailedError

    if CLUSTER_AUTHORIZATION_FAILED in set(codes):
        raise ClusterAuthorizationFailedError()


def _known(code: int, enum: type[IntEnum]) -> bool:
    return code in {m.value for m in enum}


async def describe_bindings(admin: Any) -> list[AclBinding]:
    """Every ACL on the cluster that this module can represent."""
    from aiokafka.errors import for_code

    response = await send(admin, DescribeAclsAll())
    raise_if_unauthorized([response.error_code])
    if response.error_code == SECURITY_DISABLED:
        raise SecurityDisabled(
            "this Kafka cluster runs without an authorizer, so no ACLs apply (every client "
            "may do everything); ACLs need a secured cluster, e.g. one started with "
            "`cxbroker kafka up --security sasl-tls`"
        )
    if response.error_code:
        raise for_code(response.error_code)(response.error_message)
    bindings = []
    for rtype, rname, ptype, acls in response.resources:
        for principal, host, operation, permission in acls:
            if not (
                _known(rtype, ResourceType)
                and _known(ptype, PatternType)
                and _known(operation, Operation)
                and _known(permission, Permission)
            ):
                continue
            bindings.append(
                AclBinding(
                    principal,
                    ResourceType(rtype),
                    rname,
                    PatternType(ptype),
                    Operation(operation),
                    Permission(permission),
                    host,
                )
            )
    return sorted(bindings)


async def create_bindings(admin: Any, bindings: list[AclBinding]) -> None:
    """Create ``bindings`` in one request; raise :class:`AclApplyError` on any refusal."""

    if not bindings:
        return
    response = await send(admin, CreateAclsBatch([b.entry() for b in bindings]))
    raise_if_unauthorized(code for code, _message in response.creation_responses)
    failures = [
        f"{b.principal} {b.describe()}: {message or code}"
        for b, (code, message) in zip(bindings, response.creation_responses, strict=True)
        if code
    ]
    if failures:
        raise AclApplyError("could not create ACLs: " + "; ".join(failures))


async def delete_bindings(admin: Any, bindings: list[AclBinding]) -> None:
    """Delete exactly ``bindings`` in one request; raise :class:`AclApplyError` on refusal."""

    if not bindings:
        return
    response = await send(admin, DeleteAclsBatch([b.entry() for b in bindings]))
    raise_if_unauthorized(code for code, _message, _matches in response.filter_responses)
    failures = [
        f"{b.principal} {b.describe()}: {message or code}"
        for b, (code, message, _matches) in zip(bindings, response.filter_responses, strict=True)
        if code
    ]
    if failures:
        raise AclApplyError("could not delete ACLs: " + "; ".join(failures))
