"""cx-broker consumers: the cross-agency journey joiner and the data-team subscribe SDK.

* :class:`Joiner` — consume every ``cx.events.<agency>`` topic, verify, decode, dedup and
  fold events into journeys, publish :class:`~contracts.joined.JourneySnapshot` records to
  ``cx.joined.<life experience>`` and rejects to ``cx.deadletter``, exactly once.
* :func:`subscribe` — an async iterator of typed snapshots (``read_committed``).
* :func:`reference_fold` — the joiner's semantics in memory, for tests and checks.
* :class:`InsightsService` — suppressed insight cells from the joined journeys
  (:mod:`consumers.insights`); :func:`read_insights` reads them back.
"""

from consumers.errors import CoPartitionError, JoinerError, MissingTopics
from consumers.insights import InsightsService, read_insights, read_joined
from consumers.joiner import Joiner, JoinerStats
from consumers.journey.reference import reference_fold, reference_run
from consumers.subscribe import DeadLetter, subscribe, subscribe_deadletters

__all__ = [
    "CoPartitionError",
    "DeadLetter",
    "InsightsService",
    "Joiner",
    "JoinerError",
    "JoinerStats",
    "MissingTopics",
    "read_insights",
    "read_joined",
    "reference_fold",
    "reference_run",
    "subscribe",
    "subscribe_deadletters",
]
