"""Journey assembly: the pure fold of agency events into one journey per life experience."""

from consumers.journey.processor import (
    DEFAULT_GRACE,
    Change,
    JourneyProcessor,
    Step,
)
from consumers.journey.reference import ReferenceResult, reference_fold, reference_run
from consumers.journey.rules import JoinRules, LifeExperienceRules, load_rules
from consumers.journey.state import JourneyState, journey_key

__all__ = [
    "DEFAULT_GRACE",
    "Change",
    "JoinRules",
    "JourneyProcessor",
    "JourneyState",
    "LifeExperienceRules",
    "ReferenceResult",
    "Step",
    "journey_key",
    "load_rules",
    "reference_fold",
    "reference_run",
]
