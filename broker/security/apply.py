"""Make a cluster's SCRAM users and ACLs match the access plan, idempotently.

The plan is authoritative for every ``User:`` principal except the super users:
a principal or grant that is no longer in the plan loses its ACLs (and its
SCRAM user and stored credential) on the next apply. Applying twice changes
nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from broker.errors import PropagationTimeout
from broker.kafka.config import super_users
from broker.security.acls import (
    AclBinding,
    create_bindings,
    delete_bindings,
    describe_bindings,
    diff_bindings,
)
from broker.security.credentials import (
    ADMIN,
    credential_path,
    ensure_credential,
    remove_credential,
)
from broker.security.errors import access_denied_from, denied_as, is_access_error
from broker.security.plan import AccessPlan, expand_plan, principal_of
from broker.security.scram import SCRAM_SHA_512, delete_users, list_users, upsert_users
from broker.settings import Settings
from contracts.catalog import load_catalog

__all__ = [
    "AccessResult",
    "apply_access",
    "apply_with_admin",
    "effective_acls",
    "plan_for_settings",
]

# How long to wait for ACL changes to show up in the broker's view of the metadata.
PROPAGATION_TIMEOUT_S = 15.0


@dataclass
class AccessResult:
    """What one apply did; ``changed`` is False when the cluster already matched."""

    principals: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    users_deleted: list[str] = field(default_factory=list)
    acls_created: list[AclBinding] = field(default_factory=list)
    acls_deleted: list[AclBinding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when anything was created or deleted."""
        return bool(
            self.users_created or self.users_deleted or self.acls_created or self.acls_deleted
        )


def plan_for_settings(settings: Settings, plan: AccessPlan) -> dict[str, set[AclBinding]]:
    """The plan expanded for the catalog's agencies and this deployment's topic prefix."""

    agencies = [a.id for a in load_catalog().agencies]
    return expand_plan(plan, agencies, settings.topics.prefix)


def _unmanaged() -> set[str]:
    return set(super_users(ADMIN))


async def _wait_visible(admin: Any, want: set[AclBinding], gone: set[AclBinding]) -> None:
    # CreateAcls returns once the controller committed the change; brokers apply it
    # from the metadata log a moment later. Wait until this broker shows it.
    deadline = asyncio.get_running_loop().time() + PROPAGATION_TIMEOUT_S
    while True:
        have = set(await describe_bindings(admin))
        if want <= have and not (gone & have):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise PropagationTimeout(
                f"ACL changes not visible after {PROPAGATION_TIMEOUT_S:.0f}s; run apply again"
            )
        await asyncio.sleep(0.1)


async def apply_access(admin: Any, settings: Settings, plan: AccessPlan) -> AccessResult:
    """Create missing users and ACLs of ``plan``; revoke those no longer in it.

    ``admin`` is a started ``AIOKafkaAdminClient`` of a super user. Credentials of
    new principals are generated and stored 0600 in ``settings.state_dir``.
    """
    wanted = plan_for_settings(settings, plan)
    result = AccessResult(principals=sorted(wanted))
    unmanaged = _unmanaged()

    users = await list_users(admin)
    new_files = [n for n in wanted if not credential_path(settings.state_dir, n).exists()]
    creds = {name: ensure_credential(settings.state_dir, name) for name in sorted(wanted)}
    # A user is (re)written when the cluster lacks it or its stored password is new;
    # never otherwise, so a second apply changes nothing.
    to_upsert = sorted(
        n for n in wanted if SCRAM_SHA_512 not in users.get(n, set()) or n in new_files
    )
    await upsert_users(admin, [creds[n] for n in to_upsert])
    result.users_created = to_upsert

    want_all = set().union(*wanted.values()) if wanted else set()
    have = await describe_bindings(admin)
    managed = {b.principal for b in have} | {principal_of(u) for u in users}
    managed |= {principal_of(n) for n in wanted}
    managed -= unmanaged
    to_create, to_delete = diff_bindings(want_all, have, managed)
    await create_bindings(admin, to_create)
    await delete_bindings(admin, to_delete)
    result.acls_created, result.acls_deleted = to_create, to_delete
    if to_create or to_delete:
        await _wait_visible(admin, set(to_create), set(to_delete))

    stale = sorted(
        u for u in users if u not in wanted and principal_of(u) not in unmanaged and u != ADMIN
    )
    await delete_users(admin, stale)
    for name in stale:
        remove_credential(settings.state_dir, name)
    result.users_deleted = stale
    return result


async def apply_with_admin(admin: Any, settings: Settings, plan: AccessPlan) -> AccessResult:
    """:func:`apply_access`, turning Kafka's refusal into :class:`~broker.errors.AccessDenied`."""

    try:
        return await apply_access(admin, settings, plan)
    except Exception as exc:
        if is_access_error(exc):
            raise access_denied_from(
                exc, settings.sasl_username, "manage", "users and ACLs (needs a super user)"
            ) from exc
        raise


def group_by_principal(bindings: Iterable[AclBinding]) -> dict[str, list[AclBinding]]:
    """Bindings grouped by principal, each list sorted."""
    grouped: dict[str, list[AclBinding]] = defaultdict(list)
    for b in sorted(bindings):
        grouped[b.principal].append(b)
    return dict(grouped)


async def effective_acls(admin: Any, principal: str | None = None) -> dict[str, list[AclBinding]]:
    """The ACLs the cluster enforces now, per principal (``principal``: who asks, for the
    :class:`~broker.errors.AccessDenied` when Kafka refuses)."""
    with denied_as(principal, "describe", "the cluster's ACLs", needed=ADMIN):
        return group_by_principal(await describe_bindings(admin))
