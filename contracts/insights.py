"""Insight releases: ``insight-cell`` 1.2.0 and the ``insight-release`` manifest 1.0.0.

Insights are published as *releases*, not as a live feed (PRIVACY.md, invariant 8): a week
of a life experience is computed once it has closed (plus a stated grace for late events),
audited against every earlier release of that week, and published as one release; late
data produce a new version of the week (a correction), audited against all earlier ones.

On the compacted ``cx.insights.<life-experience>`` topic every cell of a release carries
its id (``release``), and an :class:`InsightRelease` manifest is written after the last
cell of the release (key ``<le>|<week>|release``, on the same single partition): a reader
takes, per week, the cells of the release its latest manifest names, and only when the
manifest's cell count is all there, so it never mixes two releases.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Final

from pydantic import Field, StringConstraints, model_validator

from contracts.catalog import LifeExperienceId
from contracts.events import ContractModel, UtcDatetime
from contracts.joined import PERIOD_PATTERN, InsightCellV1_1

__all__ = [
    "RELEASE_ID_PATTERN",
    "InsightCell",
    "InsightRelease",
    "Privacy",
    "SuppressionReason",
    "release_id",
]

#: ``<ISO week>.v<version>`` (suppression) or ``<ISO week>.dp<version>`` (DP).
RELEASE_ID_PATTERN: Final = r"^[0-9]{4}-W(?:0[1-9]|[1-4][0-9]|5[0-3])\.(?:v|dp)[1-9][0-9]{0,5}$"

ReleaseId = Annotated[str, StringConstraints(max_length=20, pattern=RELEASE_ID_PATTERN)]


class Privacy(StrEnum):
    """How a release protects people."""

    #: Small-cell suppression, complementary suppression, audited (federal practice).
    SUPPRESSION = "suppression"
    #: Differential privacy (zero-concentrated, discrete Gaussian noise) with a budget.
    DP = "dp"


class SuppressionReason(StrEnum):
    """Why a cell is suppressed: the rule, never the value.

    A suppressed count never says whether it is itself small or suppressed so that a small
    one cannot be derived: "small" would tell an attacker it is 1-10, "complementary" that
    it is 11 or more, which is exactly what suppression hides.
    """

    #: A count of 1-10, or one that would let a small count, change or mean be derived
    #: (CMS cell-size rule with complementary suppression; which of the two is not said).
    SMALL_CELL = "small-cell"
    #: A mean, rate or percentile whose count is suppressed, or that rests on too few
    #: answers or journeys.
    FEW_ANSWERS = "few-answers"
    #: A mean that changed by a few answers since the week's previous release.
    CORRECTION = "correction"


def release_id(week: str, version: int, privacy: Privacy = Privacy.SUPPRESSION) -> str:
    """The id of version ``version`` of ``week``'s release: ``2026-W14.v2``."""
    return f"{week}.{'dp' if privacy is Privacy.DP else 'v'}{version}"


class InsightCell(InsightCellV1_1):
    """One aggregate over journeys of a life experience, in one release of its week.

    ``agency``/``stage`` of None mean "all agencies"/"all stages". A suppressed cell
    shows neither value nor count, and says why in ``reason``; an unsuppressed one never
    shows a count of 1-10. A mean shows its answer count in ``count``. 1.2.0 adds
    ``release`` (the release id), ``reason`` and, for a differentially private release,
    ``error_95``: the half-width of a 95% interval of the noise in ``value``.
    """

    contract_name: ClassVar[str] = "insight-cell"
    contract_version: ClassVar[str] = "1.2.0"

    release: ReleaseId | None = None
    reason: SuppressionReason | None = None
    error_95: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _reasoned(self) -> InsightCell:
        if self.reason is not None and not self.suppressed:
            raise ValueError("only a suppressed cell has a suppression reason")
        return self


class InsightRelease(ContractModel):
    """The manifest of one release of one week: written after its last cell.

    A reader shows a week's cells only from the release its latest manifest names and only
    once all ``cells`` of it are there. ``final``: no journey of the week is still active
    (every active count is then 0, a public fact the audit models). ``supersedes``: the
    release this one corrects. For a DP release, ``rho`` is the privacy loss it spent
    (zero-concentrated DP) and ``rho_limit`` the budget of the week.
    """

    contract_name: ClassVar[str] = "insight-release"
    contract_version: ClassVar[str] = "1.0.0"

    life_experience: LifeExperienceId
    period: Annotated[str, StringConstraints(max_length=10, pattern=PERIOD_PATTERN)]
    release: ReleaseId
    version: int = Field(ge=1)
    cells: int = Field(ge=0)
    final: bool
    privacy: Privacy = Privacy.SUPPRESSION
    supersedes: ReleaseId | None = None
    published_at: UtcDatetime
    rho: Annotated[float, Field(gt=0)] | None = None
    rho_limit: Annotated[float, Field(gt=0)] | None = None

    def key(self) -> str:
        """The Kafka key: ``<le>|<week>|release``."""
        return f"{self.life_experience}|{self.period}|release"
