"""The access plan expands to exactly the grants of issue 6, under any topic prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.errors import InvalidAccessPlan
from broker.security.acls import (
    AclBinding,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    diff_bindings,
)
from broker.security.plan import expand_plan, load_plan, tier_of
from broker.topics import TopicNames
from contracts.catalog import load_catalog

AGENCIES = [a.id for a in load_catalog().agencies]
LIFE_EXPERIENCES = [le.id for le in load_catalog().life_experiences]


def topic_ops(bindings: set[AclBinding]) -> dict[tuple[str, PatternType], set[Operation]]:
    out: dict[tuple[str, PatternType], set[Operation]] = {}
    for b in bindings:
        if b.resource_type is ResourceType.TOPIC:
            out.setdefault((b.resource_name, b.pattern_type), set()).add(b.operation)
    return out


def matches(binding: AclBinding, topic: str) -> bool:
    if binding.pattern_type is PatternType.PREFIXED:
        return topic.startswith(binding.resource_name)
    return topic == binding.resource_name


def allowed(bindings: set[AclBinding], topic: str, op: Operation) -> bool:
    return any(
        b.resource_type is ResourceType.TOPIC and b.operation is op and matches(b, topic)
        for b in bindings
    )


@pytest.mark.parametrize("prefix", ["", "staging."])
def test_every_agency_may_write_only_its_own_topic(prefix: str) -> None:
    names = TopicNames(prefix)
    plan = expand_plan(load_plan(), AGENCIES, prefix)
    for agency in AGENCIES:
        bindings = plan[f"agency-{agency}"]
        assert topic_ops(bindings) == {
            (names.agency(agency), PatternType.LITERAL): {Operation.WRITE, Operation.DESCRIBE}
        }
        for other in AGENCIES:
            assert allowed(bindings, names.agency(other), Operation.WRITE) is (other == agency)
        cluster = {b.operation for b in bindings if b.resource_type is ResourceType.CLUSTER}
        assert cluster == {Operation.IDEMPOTENT_WRITE}


@pytest.mark.parametrize("prefix", ["", "t1."])
def test_joiner_reads_agencies_and_writes_only_its_outputs(prefix: str) -> None:
    names = TopicNames(prefix)
    joiner = expand_plan(load_plan(), AGENCIES, prefix)["joiner"]
    for agency in AGENCIES:
        assert allowed(joiner, names.agency(agency), Operation.READ)
        assert not allowed(joiner, names.agency(agency), Operation.WRITE)
    outputs = [names.deadletter, names.changelog]
    outputs += [names.joined(le) for le in LIFE_EXPERIENCES]
    outputs += [names.protected(le) for le in LIFE_EXPERIENCES]
    outputs += [names.insights(le) for le in LIFE_EXPERIENCES]
    for topic in outputs:
        assert allowed(joiner, topic, Operation.WRITE), topic
    assert allowed(joiner, names.changelog, Operation.READ)
    kinds = {b.resource_type for b in joiner}
    assert ResourceType.TRANSACTIONAL_ID in kinds and ResourceType.GROUP in kinds


def test_default_tier_team_reads_protected_journeys_and_insights_and_nothing_else() -> None:
    names = TopicNames("")
    team = expand_plan(load_plan(), AGENCIES)["team-analytics"]
    assert all(b.operation in (Operation.READ, Operation.DESCRIBE) for b in team)
    for le in LIFE_EXPERIENCES:
        assert allowed(team, names.protected(le), Operation.READ)
        assert allowed(team, names.insights(le), Operation.READ)
        assert not allowed(team, names.joined(le), Operation.READ)
        assert not allowed(team, names.joined(le), Operation.DESCRIBE)
    for agency in AGENCIES:
        assert not allowed(team, names.agency(agency), Operation.READ)
        assert not allowed(team, names.agency(agency), Operation.DESCRIBE)
    assert not allowed(team, names.deadletter, Operation.READ)
    assert not allowed(team, names.changelog, Operation.READ)
    groups = {b.resource_name for b in team if b.resource_type is ResourceType.GROUP}
    assert groups == {"cx.team-analytics."}


def test_insights_service_reads_joined_and_writes_insights() -> None:
    names = TopicNames("")
    insights = expand_plan(load_plan(), AGENCIES)["insights"]
    le = LIFE_EXPERIENCES[0]
    assert allowed(insights, names.joined(le), Operation.READ)
    assert allowed(insights, names.insights(le), Operation.WRITE)
    # It reads its previous cells back to tombstone those that vanished: a second run on
    # a cluster that already holds insights failed without this.
    assert allowed(insights, names.insights(le), Operation.READ)
    assert not allowed(insights, names.joined(le), Operation.WRITE)
    assert not allowed(insights, names.agency(AGENCIES[0]), Operation.READ)


def test_plan_never_grants_all_or_deny_or_wildcards() -> None:
    for bindings in expand_plan(load_plan(), AGENCIES).values():
        for b in bindings:
            assert b.operation is not Operation.ALL
            assert b.permission is Permission.ALLOW
            assert b.resource_name not in ("*", "")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[principals.x]\ngrants = [{ topic = "a", group = "b", ops = ["read"] }]', "exactly one"),
        ('[principals.x]\ngrants = [{ topic = "*", ops = ["read"] }]', "only end in"),
        ('[principals.x]\ngrants = [{ topic = "a", ops = ["all"] }]', "ops"),
        ("[principals.admin]\ngrants = []", "super user"),
        ('[principals."Bad Name"]\ngrants = []', "invalid principal name"),
        ("[principals.x]\nsurprise = 1\ngrants = []", "surprise"),
    ],
)
def test_invalid_plans_are_refused(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    with pytest.raises(InvalidAccessPlan, match=error):
        load_plan(path)


def binding(principal: str, topic: str, op: Operation = Operation.READ) -> AclBinding:
    return AclBinding(principal, ResourceType.TOPIC, topic, PatternType.LITERAL, op)


def test_diff_creates_missing_and_revokes_only_managed_principals() -> None:
    keep = binding("User:joiner", "a")
    new = binding("User:joiner", "b")
    stale = binding("User:joiner", "c")
    foreign = binding("User:admin", "d")
    create, delete = diff_bindings({keep, new}, {keep, stale, foreign}, {"User:joiner"})
    assert create == [new]
    assert delete == [stale]


def test_diff_of_a_matching_cluster_is_empty() -> None:
    want = set(expand_plan(load_plan(), AGENCIES)["joiner"])
    assert diff_bindings(want, want, {"User:joiner"}) == ([], [])


def test_restricted_tier_team_reads_fine_journeys_under_an_agreement() -> None:
    names = TopicNames("")
    plan = load_plan()
    research = expand_plan(plan, AGENCIES)["team-research"]
    assert plan.principals["team-research"].agreement
    for le in LIFE_EXPERIENCES:
        assert allowed(research, names.joined(le), Operation.READ)
        assert allowed(research, names.protected(le), Operation.READ)
    assert not allowed(research, names.agency(AGENCIES[0]), Operation.READ)
    assert tier_of("team-research", plan) == "restricted"
    assert tier_of("team-analytics", plan) == "default"
    assert tier_of("someone-new", plan) == "default"
    assert tier_of(None, plan) == "default"
    assert tier_of("admin", plan) == "restricted"


@pytest.mark.parametrize("topic", ["cx.joined.*", "cx.*", "cx.joined.having-a-child"])
def test_a_default_tier_grant_on_fine_journeys_is_refused(tmp_path: Path, topic: str) -> None:
    path = tmp_path / "access.toml"
    path.write_text(
        '[principals.team-x]\ntier = "default"\n'
        f'grants = [{{ topic = "{topic}", ops = ["read"] }}]\n'
    )
    with pytest.raises(InvalidAccessPlan, match="default tier may not read"):
        load_plan(path)


def test_a_restricted_tier_without_an_agreement_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "access.toml"
    path.write_text(
        '[principals.team-x]\ntier = "restricted"\n'
        'grants = [{ topic = "cx.joined.*", ops = ["read"] }]\n'
    )
    with pytest.raises(InvalidAccessPlan, match="agreement"):
        load_plan(path)
