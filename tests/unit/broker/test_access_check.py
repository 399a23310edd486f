"""The access check decides like Kafka's authorizer, and every command's defaults fit the plan."""

from __future__ import annotations

import pytest

from broker.kafka.config import super_users
from broker.security.acls import AclBinding, Operation, PatternType, Permission, ResourceType
from broker.security.check import Need, check_needs, grants
from broker.security.credentials import ADMIN
from broker.security.plan import expand_plan, load_plan
from broker.settings import Settings
from contracts.catalog import load_catalog
from cxbroker.defaults import JOINER_GROUP
from cxbroker.doctor import command_needs

AGENCIES = [a.id for a in load_catalog().agencies]
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP


def allow(name: str, op: Operation, pattern: PatternType = PatternType.PREFIXED) -> AclBinding:
    return AclBinding("User:joiner", TOPIC, name, pattern, op)


def test_prefixed_literal_and_implied_operations() -> None:
    bindings = [
        allow("cx.events.", Operation.READ),
        allow("cx.deadletter", Operation.WRITE, PatternType.LITERAL),
    ]
    assert grants(bindings, "User:joiner", Need(TOPIC, "cx.events.ssa", Operation.READ))
    # READ implies DESCRIBE; WRITE does not imply READ.
    assert grants(bindings, "User:joiner", Need(TOPIC, "cx.events.ssa", Operation.DESCRIBE))
    assert grants(bindings, "User:joiner", Need(TOPIC, "cx.deadletter", Operation.READ)) is None
    # A literal name matches only itself; another principal's grant never counts.
    assert grants(bindings, "User:joiner", Need(TOPIC, "cx.deadletter2", Operation.WRITE)) is None
    assert grants(bindings, "User:other", Need(TOPIC, "cx.events.ssa", Operation.READ)) is None


def test_a_deny_rule_wins_over_an_allow() -> None:
    deny = AclBinding(
        "User:joiner", TOPIC, "cx.events.irs", PatternType.LITERAL, Operation.ALL, Permission.DENY
    )
    bindings = [allow("cx.events.", Operation.READ), deny]
    need = Need(TOPIC, "cx.events.irs", Operation.READ, "agency events")
    assert grants(bindings, "User:joiner", need) is False
    verdict = check_needs(bindings, "joiner", "join", [need])
    assert not verdict.allowed and "DENY rule on READ topic cx.events.irs" in verdict.reason()


@pytest.mark.parametrize("prefix", ["", "env-a."])
def test_every_command_with_its_defaults_is_allowed_by_the_plan(prefix: str) -> None:
    settings = Settings(topic_prefix=prefix)
    plan = expand_plan(load_plan(), AGENCIES, prefix)
    bindings = sorted(b for bs in plan.values() for b in bs)
    checked = command_needs(settings)
    assert {c.principal for c in checked} == set(plan)
    for c in checked:
        verdict = check_needs(bindings, c.principal, c.command, c.needs, known_users=plan)
        assert verdict.allowed, (c.command, verdict.reason())


def test_the_old_hyphenated_joiner_group_would_be_refused_and_the_check_says_why() -> None:
    plan = expand_plan(load_plan(), AGENCIES)
    bindings = sorted(plan["joiner"])
    assert JOINER_GROUP == "cx.joiner"
    needs = [
        Need(GROUP, "cx-joiner", Operation.READ, "consumer group"),
        Need(ResourceType.TRANSACTIONAL_ID, "cx-joiner.0", Operation.WRITE, "transactions"),
    ]
    verdict = check_needs(bindings, "joiner", "join --group cx-joiner", needs)
    assert not verdict.allowed
    assert "no grant for READ group cx-joiner (consumer group)" in verdict.reason()
    assert "WRITE transactional_id cx-joiner.0" in verdict.reason()


def test_a_principal_without_a_user_and_the_super_user() -> None:
    need = [Need(TOPIC, "cx.deadletter", Operation.READ)]
    missing = check_needs([], "operator", "tail deadletter", need, known_users=["joiner"])
    assert not missing.allowed and "no SCRAM user" in missing.reason()
    admin = check_needs([], ADMIN, "anything", need, super_users=super_users(ADMIN))
    assert admin.allowed and admin.reason() == "ok"


def test_agencies_publish_only_their_own_topic() -> None:
    plan = expand_plan(load_plan(), AGENCIES)
    bindings = sorted(b for bs in plan.values() for b in bs)
    other = Need(TOPIC, "cx.events.irs", Operation.WRITE)
    assert not check_needs(bindings, "agency-ssa", "publish --agency irs", [other]).allowed
