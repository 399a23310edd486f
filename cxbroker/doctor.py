"""What each long-running command needs from Kafka, run with its defaults, and who runs it.

``cxbroker access check`` (alias ``cxbroker doctor``) evaluates these needs against the
cluster's effective ACLs (:func:`broker.security.check.check_needs`), so an operator learns
before starting anything whether ``CX_PROFILE=joiner cxbroker join`` will be allowed, and
if not, which grant is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from broker.security.acls import CLUSTER_RESOURCE, Operation, ResourceType
from broker.security.check import Need
from broker.settings import Settings
from contracts.catalog import load_catalog
from cxbroker.defaults import JOINER_GROUP, JOINER_INSTANCE

__all__ = ["CommandNeeds", "command_needs"]

_READ, _WRITE = Operation.READ, Operation.WRITE
_TOPIC, _GROUP = ResourceType.TOPIC, ResourceType.GROUP


@dataclass(frozen=True)
class CommandNeeds:
    """A command line, the principal (SCRAM user) that runs it, and what it needs."""

    principal: str
    command: str
    needs: tuple[Need, ...]


def _idempotent() -> Need:
    return Need(ResourceType.CLUSTER, CLUSTER_RESOURCE, Operation.IDEMPOTENT_WRITE, "producer")


def _topics(names: Iterable[str], op: Operation, why: str) -> list[Need]:
    return [Need(_TOPIC, name, op, why) for name in names]


def command_needs(settings: Settings) -> list[CommandNeeds]:
    """Every long-running command with its defaults, per principal of the access plan."""
    catalog = load_catalog()
    t = settings.topics
    agencies = [a.id for a in catalog.agencies]
    les = [le.id for le in catalog.life_experiences]
    joined = [t.joined(le) for le in les]
    protected = [t.protected(le) for le in les]
    insights = [t.insights(le) for le in les]
    group = t.group(JOINER_GROUP)
    join = (
        *_topics([t.agency(a) for a in agencies], _READ, "agency events"),
        Need(_GROUP, group, _READ, "consumer group and offsets"),
        *_topics(joined, _WRITE, "snapshots"),
        *_topics(protected, _WRITE, "k-protected journeys"),
        Need(_TOPIC, t.deadletter, _WRITE, "dead letters"),
        Need(_TOPIC, t.changelog, _WRITE, "state changelog"),
        Need(_TOPIC, t.changelog, _READ, "state restore"),
        Need(
            ResourceType.TRANSACTIONAL_ID,
            f"{group}.{JOINER_INSTANCE}",
            _WRITE,
            "exactly-once transactions",
        ),
        _idempotent(),
    )
    result = [
        CommandNeeds("joiner", "join", join),
        CommandNeeds(
            "insights",
            "insights --serve",
            (
                *_topics(joined, _READ, "joined journeys"),
                *_topics(insights, _READ, "earlier releases"),
                *_topics(insights, _WRITE, "releases"),
                _idempotent(),
            ),
        ),
        # Data teams: the tier of the principal picks the journeys tail/subscribe read.
        CommandNeeds(
            "team-analytics", "insights", tuple(_topics(insights, _READ, "released cells"))
        ),
        CommandNeeds(
            "team-analytics",
            "tail joined",
            tuple(_topics(protected, _READ, "k-protected journeys (default tier)")),
        ),
        CommandNeeds(
            "team-research", "insights", tuple(_topics(insights, _READ, "released cells"))
        ),
        CommandNeeds(
            "team-research",
            "tail joined",
            tuple(_topics(joined, _READ, "fine journeys (restricted tier)")),
        ),
        CommandNeeds(
            "operator", "tail deadletter", (Need(_TOPIC, t.deadletter, _READ, "dead letters"),)
        ),
    ]
    for agency in agencies:
        writes = (Need(_TOPIC, t.agency(agency), _WRITE, "its events"), _idempotent())
        result.append(CommandNeeds(f"agency-{agency}", f"publish --agency {agency}", writes))
        result.append(CommandNeeds(f"agency-{agency}", f"simulate (as {agency})", writes))
    return result
