"""Joined contracts: what the joiner publishes for data teams.

* :class:`JourneySnapshot` on ``cx.joined.<life-experience>`` (compacted, keyed by journey
  token): the latest state of one journey across agencies.
* :class:`InsightCell` on ``cx.insights.<life-experience>``: one aggregate with small-cell
  suppression; the contract itself refuses to show a count of 1-10 (DESIGN.md §5).
  1.1.0 (:class:`InsightCellV1_1`) adds metrics and ``to_agency``; 1.0.0
  (:class:`InsightCellV1_0`) and 1.1.0 are frozen and upcast on read to 1.2.0
  (:class:`contracts.insights.InsightCell`: release id, suppression reason, DP error bar).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.catalog import AgencyId, LifeExperienceId
from contracts.events import ContractModel, UtcDatetime
from contracts.privacy import JourneyToken
from contracts.vocabulary import ApplicationState, JourneyStatus, Outcome, Stage

__all__ = [
    "PERIOD_PATTERN",
    "SMALL_CELL_MAX",
    "AgencyStep",
    "DriverAverages",
    "EventCounts",
    "InsightCellV1_0",
    "InsightCellV1_1",
    "JourneySnapshot",
    "Metric",
    "MetricV1_0",
    "PeriodKind",
    "period_of",
]

#: Counts from 1 to this value are never shown (CMS cell-size rule; 0 is fine).
SMALL_CELL_MAX: Final = 10

_DAY: Final = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_WEEK: Final = r"[0-9]{4}-W(?:0[1-9]|[1-4][0-9]|5[0-3])"
PERIOD_PATTERN: Final = rf"^(?:{_DAY}|{_WEEK})$"

_Average = Annotated[float, Field(ge=1, le=5)]
_Count = Annotated[int, Field(ge=0)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyStep(_Closed):
    """One agency a journey touched, with the furthest stage reached there."""

    agency: AgencyId
    stage: Stage
    first_event_at: UtcDatetime
    last_event_at: UtcDatetime
    events: int = Field(ge=1)


class EventCounts(_Closed):
    """How many events of each contract the journey holds."""

    total: _Count
    service_interaction: _Count = 0
    application_status: _Count = 0
    feedback: _Count = 0

    @model_validator(mode="after")
    def _total_covers_parts(self) -> EventCounts:
        if self.total < self.service_interaction + self.application_status + self.feedback:
            raise ValueError("total is smaller than the sum of the per-contract counts")
        return self


class DriverAverages(_Closed):
    """Mean A-11 driver answers over the journey's feedback (None: nobody answered)."""

    responses: _Count = 0
    satisfaction: _Average | None = None
    trust: _Average | None = None
    effectiveness: _Average | None = None
    ease: _Average | None = None
    efficiency: _Average | None = None
    equity_transparency: _Average | None = None
    employee_helpfulness: _Average | None = None
    humanity: _Average | None = None


class JourneySnapshot(ContractModel):
    """The joined state of one journey (one journey token within one life experience)."""

    contract_name: ClassVar[str] = "journey-snapshot"
    contract_version: ClassVar[str] = "1.0.0"

    journey_token: JourneyToken
    life_experience: LifeExperienceId
    #: Agencies in the order the journey first reached them.
    agencies: tuple[AgencyStep, ...] = Field(min_length=1, max_length=64)
    first_event_at: UtcDatetime
    last_event_at: UtcDatetime
    elapsed_seconds: float = Field(ge=0)
    event_counts: EventCounts
    #: Outcome of the latest service interaction, if any.
    outcome: Outcome | None = None
    #: Latest application status, if any.
    application_status: ApplicationState | None = None
    drivers: DriverAverages = DriverAverages()
    status: JourneyStatus
    #: Increases by one with every snapshot of this journey.
    snapshot_version: int = Field(ge=1)
    #: Events that arrived after the journey had moved on past their event time.
    late_events: _Count = 0

    @model_validator(mode="after")
    def _consistent(self) -> JourneySnapshot:
        if self.last_event_at < self.first_event_at:
            raise ValueError("last_event_at is before first_event_at")
        agencies = [step.agency for step in self.agencies]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency appears twice in agencies")
        return self


class PeriodKind(StrEnum):
    """Granularity of an insight period."""

    DAY = "day"
    WEEK = "week"


class MetricV1_0(StrEnum):
    """What an insight cell measures."""

    # The metric vocabulary of insight-cell 1.0.0: frozen (its docstring is in the released
    # schema too). New metrics go into :class:`Metric` with a new minor version.
    JOURNEYS_STARTED = "journeys-started"
    JOURNEYS_COMPLETED = "journeys-completed"
    JOURNEYS_STALLED = "journeys-stalled"
    JOURNEYS_EXPIRED = "journeys-expired"
    EVENTS = "events"
    ABANDONMENT_RATE = "abandonment-rate"
    MEAN_WAIT_SECONDS = "mean-wait-seconds"
    MEAN_ELAPSED_DAYS = "mean-elapsed-days"
    SATISFACTION = "satisfaction"
    TRUST = "trust"
    EFFECTIVENESS = "effectiveness"
    EASE = "ease"
    EFFICIENCY = "efficiency"
    EQUITY_TRANSPARENCY = "equity-transparency"
    EMPLOYEE_HELPFULNESS = "employee-helpfulness"
    HUMANITY = "humanity"


# The released 1.0.0 schema names this enum "Metric"; keep its bytes identical on re-export.
MetricV1_0.__name__ = MetricV1_0.__qualname__ = "Metric"


class Metric(StrEnum):
    """What an insight cell measures (insight-cell 1.1.0)."""

    JOURNEYS_STARTED = "journeys-started"
    JOURNEYS_COMPLETED = "journeys-completed"
    JOURNEYS_STALLED = "journeys-stalled"
    JOURNEYS_EXPIRED = "journeys-expired"
    EVENTS = "events"
    ABANDONMENT_RATE = "abandonment-rate"
    MEAN_WAIT_SECONDS = "mean-wait-seconds"
    MEAN_ELAPSED_DAYS = "mean-elapsed-days"
    SATISFACTION = "satisfaction"
    TRUST = "trust"
    EFFECTIVENESS = "effectiveness"
    EASE = "ease"
    EFFICIENCY = "efficiency"
    EQUITY_TRANSPARENCY = "equity-transparency"
    EMPLOYEE_HELPFULNESS = "employee-helpfulness"
    HUMANITY = "humanity"
    # New in 1.1.0.
    #: completed / started, 0-1.
    COMPLETION_RATE = "completion-rate"
    #: Median days from first to last event over completed journeys.
    MEDIAN_DAYS_TO_COMPLETE = "median-days-to-complete"
    #: 90th percentile (nearest rank) of the same.
    P90_DAYS_TO_COMPLETE = "p90-days-to-complete"
    #: Stalled journeys at the hand-off from ``agency`` to ``to_agency`` (a count).
    STALLS_AT_HANDOFF = "stalls-at-handoff"


def period_of(moment: datetime | date, kind: PeriodKind) -> str:
    """The period label containing ``moment``: ``2026-04-03`` or ISO week ``2026-W14``."""
    day = moment.date() if isinstance(moment, datetime) else moment
    if kind is PeriodKind.DAY:
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


class _InsightCellFields(ContractModel):
    """The fields and rules every minor version of ``insight-cell`` 1.x shares."""

    life_experience: LifeExperienceId
    period_kind: PeriodKind
    period: Annotated[str, StringConstraints(max_length=10, pattern=PERIOD_PATTERN)]
    agency: AgencyId | None = None
    stage: Stage | None = None
    metric: StrEnum
    value: float | None = None
    count: _Count | None = None
    suppressed: bool

    @model_validator(mode="after")
    def _consistent(self) -> _InsightCellFields:
        is_week = "W" in self.period
        if is_week != (self.period_kind is PeriodKind.WEEK):
            raise ValueError("period does not match period_kind")
        try:
            if is_week:
                year, week = self.period.split("-W")
                date.fromisocalendar(int(year), int(week), 1)
            else:
                date.fromisoformat(self.period)
        except ValueError:
            raise ValueError("period is not a real calendar day or ISO week") from None
        if self.suppressed and (self.value is not None or self.count is not None):
            raise ValueError("a suppressed cell shows neither value nor count")
        if not self.suppressed and self.count is not None and 1 <= self.count <= SMALL_CELL_MAX:
            raise ValueError(f"a count of 1-{SMALL_CELL_MAX} must be suppressed")
        return self

    def _key_parts(self) -> tuple[str, ...]:
        return (
            self.life_experience,
            self.period,
            self.agency or "*",
            self.stage.value if self.stage else "*",
            self.metric.value,
        )


class InsightCellV1_0(_InsightCellFields):
    """One aggregate over journeys of a life experience; small cells are suppressed.

    ``agency``/``stage`` of None mean "all agencies"/"all stages". A suppressed cell
    shows neither value nor count; an unsuppressed one never shows a count of 1-10.
    """

    # insight-cell 1.0.0: frozen, read and upcast only (the docstring above is part of the
    # released schema, so it stays word for word).
    # Titled as released, so that a re-export reproduces the released file byte for byte.
    model_config = ConfigDict(title="InsightCell")
    contract_name: ClassVar[str] = "insight-cell"
    contract_version: ClassVar[str] = "1.0.0"

    metric: MetricV1_0

    def key(self) -> str:
        """The Kafka key of this cell: ``<le>|<period>|<agency or *>|<stage or *>|<metric>``."""
        return "|".join(self._key_parts())


class InsightCellV1_1(_InsightCellFields):
    """One aggregate over journeys of a life experience; small cells are suppressed.

    ``agency``/``stage`` of None mean "all agencies"/"all stages". A suppressed cell
    shows neither value nor count; an unsuppressed one never shows a count of 1-10.
    1.1.0 adds completion rate, median and p90 days to complete, and stalls at an agency
    hand-off: ``agency`` is the agency a stalled journey last reached, ``to_agency`` the
    one it was handed to (None: it had reached every participating agency).
    """

    # insight-cell 1.1.0: frozen, read and upcast only (the docstring above is part of the
    # released schema, so it stays word for word); 1.2.0 is ``contracts.insights.InsightCell``.
    model_config = ConfigDict(title="InsightCell")
    contract_name: ClassVar[str] = "insight-cell"
    contract_version: ClassVar[str] = "1.1.0"

    metric: Metric
    to_agency: AgencyId | None = None

    @model_validator(mode="after")
    def _handoff(self) -> InsightCellV1_1:
        if self.metric is Metric.STALLS_AT_HANDOFF:
            if self.agency is None:
                raise ValueError("a stalls-at-handoff cell names the agency it stalled at")
            if self.stage is not None:
                raise ValueError("a stalls-at-handoff cell is over all stages")
            if self.to_agency == self.agency:
                raise ValueError("a hand-off goes to another agency")
        elif self.to_agency is not None:
            raise ValueError("to_agency is only set on a stalls-at-handoff cell")
        return self

    def key(self) -> str:
        """The Kafka key of this cell: ``<le>|<period>|<agency or *>|<stage or *>|<metric>``,
        and for a hand-off with a second agency ``|<to_agency>`` after it (unique per
        hand-off; every 1.0.0 key is unchanged)."""
        parts = self._key_parts()
        return "|".join((*parts, self.to_agency) if self.to_agency else parts)
