"""Disclosure audit of released insight cells by integer programming, and the
complementary suppression it drives (pure: no Kafka).

:mod:`.model` holds what the attacker sees (:class:`Release`, :class:`Relation`,
:class:`MeanSpec`) and the :class:`ProtectionRule`; :mod:`.system` turns releases into the
attacker's constraints; :mod:`.solver` bounds expressions with HiGHS; :mod:`.run` is the
audit; :mod:`.complement` suppresses more cells until the audit passes.
"""

from consumers.insights.audit.complement import Protection, protect, suppress_cells
from consumers.insights.audit.model import (
    HIDDEN,
    SUPPRESSED,
    AuditReport,
    Finding,
    Interval,
    Marker,
    MeanSpec,
    ProtectionRule,
    Relation,
    Release,
    Sense,
    Target,
    TargetKind,
    VarKind,
)
from consumers.insights.audit.run import audit

__all__ = [
    "HIDDEN",
    "SUPPRESSED",
    "AuditReport",
    "Finding",
    "Interval",
    "Marker",
    "MeanSpec",
    "Protection",
    "ProtectionRule",
    "Relation",
    "Release",
    "Sense",
    "Target",
    "TargetKind",
    "VarKind",
    "audit",
    "protect",
    "suppress_cells",
]
