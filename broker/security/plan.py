"""The access plan (``broker/access.toml``) as data, and its expansion into ACL bindings.

Pure: :func:`load_plan` reads and validates the file; :func:`expand_plan` turns
it into the exact set of bindings per principal for a list of agencies and a
deployment prefix. Nothing here talks to Kafka.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from broker.errors import InvalidAccessPlan
from broker.security.acls import (
    CLUSTER_RESOURCE,
    AclBinding,
    Operation,
    PatternType,
    ResourceType,
)
from broker.security.credentials import ADMIN, validate_principal_name

__all__ = [
    "RESTRICTED_TOPICS",
    "AccessPlan",
    "GrantSpec",
    "PrincipalSpec",
    "default_plan_path",
    "expand_plan",
    "group_patterns",
    "load_plan",
    "principal_of",
    "tier_of",
]

#: Topic name prefixes only the restricted tier (and the services) may read: the fine
#: journeys (journey-snapshot 1.0.0).
RESTRICTED_TOPICS: tuple[str, ...] = ("cx.joined.",)

#: Which record-level journeys a data team reads (PRIVACY.md, invariant 9).
Tier = Literal["default", "restricted"]

OpName = Literal[
    "read",
    "write",
    "describe",
    "create",
    "delete",
    "alter",
    "describe_configs",
    "alter_configs",
    "idempotent_write",
]


class GrantSpec(BaseModel):
    """One grant: operations on exactly one resource (topic, group, transactional id, cluster)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str | None = None
    group: str | None = None
    transactional_id: str | None = None
    cluster: bool = False
    ops: list[OpName] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_resource(self) -> GrantSpec:
        named = [n for n in (self.topic, self.group, self.transactional_id) if n is not None]
        if len(named) + int(self.cluster) != 1:
            raise ValueError("a grant names exactly one of topic, group, transactional_id, cluster")
        for name in named:
            if not name.rstrip("*") or "*" in name.rstrip("*"):
                raise ValueError(f"{name!r}: a name may only end in '*', and not be only '*'")
        return self

    def resource(self) -> tuple[ResourceType, str]:
        """The resource type and the (unprefixed, possibly ``*``-ended) name."""
        if self.topic is not None:
            return ResourceType.TOPIC, self.topic
        if self.group is not None:
            return ResourceType.GROUP, self.group
        if self.transactional_id is not None:
            return ResourceType.TRANSACTIONAL_ID, self.transactional_id
        return ResourceType.CLUSTER, CLUSTER_RESOURCE


class PrincipalSpec(BaseModel):
    """A principal and its grants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    grants: list[GrantSpec] = Field(default_factory=list)
    #: The data-team tier (None: a service or agency principal, not a data team).
    tier: Tier | None = None
    #: The data-use agreement a restricted team reads under (required for it).
    agreement: str = ""

    @model_validator(mode="after")
    def _tier_fits_grants(self) -> PrincipalSpec:
        if self.tier == "restricted" and not self.agreement.strip():
            raise ValueError("a restricted-tier principal names its data-use agreement")
        if self.tier == "default":
            for grant in self.grants:
                name = (grant.topic or "").rstrip("*")
                # A grant reaches a restricted topic when one name is a prefix of the other
                # ("cx.*" covers "cx.joined.", "cx.joined.x" is inside it).
                reaches = any(name.startswith(r) or r.startswith(name) for r in RESTRICTED_TOPICS)
                if grant.topic is not None and "read" in grant.ops and reaches:
                    raise ValueError(
                        f"the default tier may not read {grant.topic!r} (fine journeys are "
                        "for the restricted tier)"
                    )
        return self


class PerAgencySpec(PrincipalSpec):
    """The principal template expanded once per catalog agency."""

    principal: str = "agency-{agency}"


class AccessPlan(BaseModel):
    """The whole plan: the per-agency template and the named principals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    per_agency: PerAgencySpec | None = None
    principals: dict[str, PrincipalSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid_names(self) -> AccessPlan:
        for name in self.principals:
            validate_principal_name(name)
            if name == ADMIN:
                raise ValueError("'admin' is the super user; it is not part of the plan")
        return self


def default_plan_path() -> Path:
    """``broker/access.toml``, shipped with the package."""
    return Path(str(files("broker").joinpath("access.toml")))


def load_plan(path: Path | None = None) -> AccessPlan:
    """Read and validate an access plan (default: ``broker/access.toml``)."""
    path = path or default_plan_path()
    try:
        return AccessPlan.model_validate(tomllib.loads(path.read_text()))
    except (tomllib.TOMLDecodeError, ValidationError, ValueError) as exc:
        raise InvalidAccessPlan(f"{path}: {exc}") from exc


def principal_of(user: str) -> str:
    """The ACL principal of a SCRAM user name."""
    return f"User:{user}"


def tier_of(user: str | None, plan: AccessPlan | None = None) -> Tier:
    """The data-team tier a reader runs in: its principal's ``tier`` in the plan; the
    ``admin`` super user reads everything (restricted); anyone else, or no principal (an
    unsecured local cluster), the default tier."""
    if user == ADMIN:
        return "restricted"
    if user is None:
        return "default"
    spec = (plan or load_plan()).principals.get(user)
    return "restricted" if spec is not None and spec.tier == "restricted" else "default"


def _bindings(
    principal: str, grants: Iterable[GrantSpec], prefix: str, agency: str | None
) -> list[AclBinding]:
    out = []
    for grant in grants:
        rtype, name = grant.resource()
        if agency is not None:
            name = name.replace("{agency}", agency)
        if "{" in name:
            raise InvalidAccessPlan(f"{principal}: unexpanded placeholder in {name!r}")
        pattern = PatternType.PREFIXED if name.endswith("*") else PatternType.LITERAL
        if rtype is not ResourceType.CLUSTER:
            name = prefix + name.rstrip("*")
        for op in grant.ops:
            out.append(
                AclBinding(principal_of(principal), rtype, name, pattern, Operation[op.upper()])
            )
    return out


def expand_plan(
    plan: AccessPlan, agencies: Iterable[str], prefix: str = ""
) -> dict[str, set[AclBinding]]:
    """Every principal of the plan (SCRAM user name) and its exact set of ACL bindings.

    ``prefix`` is the deployment's ``CX_TOPIC_PREFIX``; it goes in front of every
    topic, group and transactional id name.
    """
    result: dict[str, set[AclBinding]] = {}
    if plan.per_agency is not None:
        for agency in sorted(agencies):
            name = validate_principal_name(plan.per_agency.principal.replace("{agency}", agency))
            result[name] = set(_bindings(name, plan.per_agency.grants, prefix, agency))
    for name, spec in plan.principals.items():
        if name in result:
            raise InvalidAccessPlan(f"principal {name!r} is declared twice")
        result[name] = set(_bindings(name, spec.grants, prefix, None))
    return result


def group_patterns(principal: str, prefix: str = "", plan: AccessPlan | None = None) -> list[str]:
    """The consumer group names ``principal`` may use, as ``name`` or ``prefix*`` patterns.

    From ``plan`` (default: ``broker/access.toml``) under the deployment's ``prefix``.
    """
    expanded = expand_plan(plan or load_plan(), [], prefix)
    bindings = expanded.get(principal, set())
    return sorted(
        b.resource_name + ("*" if b.pattern_type is PatternType.PREFIXED else "")
        for b in bindings
        if b.resource_type is ResourceType.GROUP and b.operation is Operation.READ
    )
