"""``journey-snapshot`` 2.0.0: the k-protected journey of the default data-team tier.

A 1.0.0 snapshot (:class:`contracts.joined.JourneySnapshot`) carries every agency step's
first and last event time to the microsecond, event counts, the latest outcome and
application status and the A-11 answers: on (life experience, agency path, stage, first
time per agency) nearly every journey is unique, so a reader who knows one visit of a
person can single out their journey (PRIVACY.md, invariant 9). 1.0.0 stays on the
restricted topics (``cx.joined.<le>``) for named data teams under an agreement.

2.0.0 (:class:`ProtectedSnapshot`, on ``cx.protected.<le>``) publishes what the data teams'
questions need (completion, days to complete, hand-offs) at a stated :class:`Precision`:

* ``start``: the ISO week the journey started (``2026-W14``), a month (``2026-04``) or a
  quarter (``2026-Q2``) at the coarser precisions, never a timestamp;
* ``steps``: agencies in the order the journey reached them, each with its furthest stage
  and ``day``, whole days from the journey's start to its first event there; days are
  capped at :data:`DAY_CAP` (the value means "that many or more");
* ``elapsed_days``: whole days from the first to the last event, capped likewise;
* ``status``: completed, stalled or expired (or completed while still open).

A-11 answers, outcomes, application statuses and event counts are not in it: they are in
the audited insights. Every 2.0.0 record is released by the joiner only when at least ``k``
journeys (``min_group_size`` of the life experience in the catalog, default 11) were
released with the same published fields (all of them but ``journey_token`` and
``snapshot_version``, which is :data:`PROTECTED_VERSION` in every record: the fine
version counts a journey's events), and at most once per journey, so a group never
shrinks.

:func:`protect` turns a 1.0.0 snapshot into 2.0.0 at a precision (the converter between
the two majors: a new major is a new contract, there is no implicit upcast).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.catalog import AgencyId, LifeExperienceId
from contracts.events import ContractModel
from contracts.joined import JourneySnapshot
from contracts.privacy import JourneyToken
from contracts.vocabulary import JourneyStatus, Stage

__all__ = [
    "DAY_CAP",
    "DEFAULT_MIN_GROUP_SIZE",
    "OTHER_AGENCIES",
    "PRECISIONS",
    "PROTECTED_VERSION",
    "START_PATTERN",
    "Precision",
    "ProtectedSnapshot",
    "ProtectedStep",
    "group_key",
    "protect",
]

#: Days (from the start, or elapsed) are capped here: 13 weeks, so a week-rounded value
#: stays a multiple of 7. Journeys of the catalog close after 60 to 120 idle days; longer
#: tails are rare and would single journeys out.
DAY_CAP: Final = 91
#: k when the catalog does not say (the CMS cell-size rule: groups of 11 or more).
DEFAULT_MIN_GROUP_SIZE: Final = 11
#: ``snapshot_version`` of every 2.0.0 record: the same for all, so it tells no journey
#: apart (the fine version counts a journey's events).
PROTECTED_VERSION: Final = 1
#: The agency name that stands for the agencies before the last one (``last`` precision).
OTHER_AGENCIES: Final = "other"

START_PATTERN: Final = r"^[0-9]{4}-(?:W(?:0[1-9]|[1-4][0-9]|5[0-3])|0[1-9]|1[0-2]|Q[1-4])$"


class Precision(StrEnum):
    """How coarse a 2.0.0 snapshot is: each level is coarser than the one before.

    The coarse end keeps what the data teams' questions need longest: the status
    (completion rate), the elapsed days (days to complete) and the last agency reached
    (the hand-off where a journey stalled).
    """

    #: Start week; agencies, stages and whole days since start per step; elapsed days.
    DAY = "day"
    #: As ``day`` with days rounded down to whole weeks (multiples of 7).
    WEEK = "week"
    #: Start week; agencies and stages in order; elapsed days in whole weeks; no step days.
    PATH = "path"
    #: Start month; agencies in order (stages merged); elapsed days in 4-week steps.
    AGENCIES = "agencies"
    #: Start quarter; the last agency reached (after ``other`` when there were earlier
    #: ones); elapsed days in 4-week steps.
    LAST = "last"
    #: Start quarter; elapsed days in 4-week steps; no agencies.
    ELAPSED = "elapsed"
    #: Start quarter and status only.
    STATUS = "status"


#: The precisions from finest to coarsest.
PRECISIONS: Final = tuple(Precision)


class ProtectedStep(BaseModel):
    """One agency of a protected journey (``None`` fields: not published at this precision)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: AgencyId | Literal["other"]
    stage: Stage | None = None
    #: Whole days from the journey's start to its first event here (capped at 91).
    day: int | None = Field(default=None, ge=0, le=DAY_CAP)


class ProtectedSnapshot(ContractModel):
    """A journey as the default data-team tier sees it: coarse, and shared with >= k others.

    Every field but ``journey_token`` and ``snapshot_version`` is the same for at least
    ``k`` journeys released on the same topic. Times are a start period and whole days
    (capped at 91), never timestamps; A-11 answers are only in the audited insights.
    """

    contract_name: ClassVar[str] = "journey-snapshot"
    contract_version: ClassVar[str] = "2.0.0"

    journey_token: JourneyToken
    life_experience: LifeExperienceId
    precision: Precision
    #: ISO week (``2026-W14``), month (``2026-04``) or quarter (``2026-Q2``) of the start.
    start: Annotated[str, StringConstraints(max_length=8, pattern=START_PATTERN)]
    #: Agencies in the order the journey first reached them (empty at ``elapsed``, ``status``).
    steps: tuple[ProtectedStep, ...] = Field(default=(), max_length=64)
    #: Whole days from the first to the last event (capped at 91; None: not published).
    elapsed_days: int | None = Field(default=None, ge=0, le=DAY_CAP)
    status: JourneyStatus
    #: The minimum group size this record was released under.
    k: int = Field(ge=2)
    #: Always :data:`PROTECTED_VERSION` (a journey is released once). It was the fine
    #: (1.0.0) version the record was made from, which counts the journey's events and
    #: closings: a quasi-identifier outside the k group (and recoverable from ``ce_id``).
    snapshot_version: int = Field(ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> ProtectedSnapshot:
        kind = "W" if "W" in self.start else "Q" if "Q" in self.start else "M"
        wanted = {
            Precision.DAY: "W",
            Precision.WEEK: "W",
            Precision.PATH: "W",
            Precision.AGENCIES: "M",
            Precision.LAST: "Q",
            Precision.ELAPSED: "Q",
            Precision.STATUS: "Q",
        }[self.precision]
        if kind != wanted:
            raise ValueError("start does not match precision")
        if (self.precision in (Precision.ELAPSED, Precision.STATUS)) != (not self.steps):
            raise ValueError("steps are empty exactly at elapsed and status precision")
        return self


def _days(seconds: float, unit: int) -> int:
    days = min(int(seconds // 86_400), DAY_CAP)
    return days // unit * unit


def protect(snapshot: JourneySnapshot, precision: Precision, *, k: int) -> ProtectedSnapshot:
    """``snapshot`` (1.0.0) published at ``precision`` (2.0.0); pure and deterministic."""
    start = snapshot.first_event_at
    year, week, _ = start.date().isocalendar()
    elapsed = snapshot.elapsed_seconds
    steps: tuple[ProtectedStep, ...]
    elapsed_days: int | None
    if precision in (Precision.DAY, Precision.WEEK, Precision.PATH):
        period = f"{year:04d}-W{week:02d}"
        unit = 1 if precision is Precision.DAY else 7
        steps = tuple(
            ProtectedStep(
                agency=step.agency,
                stage=step.stage,
                day=None
                if precision is Precision.PATH
                else _days((step.first_event_at - start).total_seconds(), unit),
            )
            for step in snapshot.agencies
        )
        elapsed_days = _days(elapsed, unit)
    elif precision is Precision.AGENCIES:
        period = f"{start.year:04d}-{start.month:02d}"
        steps = tuple(ProtectedStep(agency=step.agency) for step in snapshot.agencies)
        elapsed_days = _days(elapsed, 28)
    else:
        period = f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
        elapsed_days = None if precision is Precision.STATUS else _days(elapsed, 28)
        steps = ()
        if precision is Precision.LAST:
            last = ProtectedStep(agency=snapshot.agencies[-1].agency)
            more = len(snapshot.agencies) > 1
            steps = (ProtectedStep(agency=OTHER_AGENCIES), last) if more else (last,)
    return ProtectedSnapshot(
        journey_token=snapshot.journey_token,
        life_experience=snapshot.life_experience,
        precision=precision,
        start=period,
        steps=steps,
        elapsed_days=elapsed_days,
        status=snapshot.status,
        k=k,
        snapshot_version=PROTECTED_VERSION,
    )


def group_key(snapshot: ProtectedSnapshot) -> str:
    """What a record publishes about its journey: every field but token and version.

    Two records with equal keys are indistinguishable to a reader; the k guarantee is
    stated on these keys.
    """
    return snapshot.model_dump_json(exclude={"journey_token", "snapshot_version"})
