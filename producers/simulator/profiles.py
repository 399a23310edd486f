"""The simulator's assumptions about agencies, services and life experiences, as data.

Numbers are plausible defaults, not measurements: channel mixes lean on what agencies say
about their channels (passports for minors need an in-person visit, Enumeration at Birth
happens at the hospital, unemployment insurance is mostly filed online), decision times on
published processing standards where there is one (SNAP 30 days, Medicaid 45 days, UI first
payment within 21 days), and A-11 score levels differ by agency and channel the way public
CX dashboards show (phone below web, in person above both). Agencies and services missing
here get the defaults, so adding one to the catalog never breaks the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Final

from contracts.vocabulary import Channel, Stage
from producers.simulator.people import IdentityStyle, NameCase

__all__ = [
    "DEFAULT_PARTICIPATION",
    "AgencyProfile",
    "LifeExperienceProfile",
    "ServiceProfile",
    "agency_profile",
    "birth_window",
    "life_experience_profile",
    "service_profile",
]

_I = Channel.IN_PERSON
_L = Channel.MAIL


@dataclass(frozen=True, slots=True)
class AgencyProfile:
    """How an agency's customers reach it, how it writes identities, how it is rated."""

    identity: IdentityStyle
    channels: MappingProxyType[Channel, float]
    #: Mean latent A-11 score (1-5) before channel and outcome effects.
    score_base: float = 3.6
    #: Prefix of the agency's application numbers, e.g. ``SSA-EAB``.
    application_prefix: str = "APP"
    #: Prefix of an account/case number the agency keeps, or None.
    account_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    """Decision time and outcome odds of one service."""

    decision_median: timedelta = timedelta(days=14)
    approval_rate: float = 0.8
    #: Chance the agency asks for more information after review starts.
    more_info_rate: float = 0.2
    denial_reasons: tuple[str, ...] = ("NOT-ELIGIBLE", "MISSING-DOCS")
    more_info_reasons: tuple[str, ...] = ("ID-VERIFICATION", "PROOF-OF-ADDRESS")
    #: Channel forced for a stage (e.g. the hospital visit for Enumeration at Birth).
    forced_channels: MappingProxyType[Stage, Channel] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True, slots=True)
class LifeExperienceProfile:
    """Who lives a life experience and how often they reach each agency."""

    #: Age range (inclusive) of the person whose journey it is.
    ages: tuple[int, int]
    #: Chance of using each participating agency (the first one reached is always used).
    participation: MappingProxyType[str, float]
    #: Chance the journey stalls at a hand-off between two agencies and never resumes.
    stall_at_handoff: float = 0.12
    #: Typical delay between an agency's application and the next agency's first contact.
    handoff_median: timedelta = timedelta(days=4)


def _channels(**weights: float) -> MappingProxyType[Channel, float]:
    return MappingProxyType({Channel(name.replace("_", "-")): w for name, w in weights.items()})


_STYLE_MODERN = IdentityStyle()
_STYLE_LEGACY = IdentityStyle(
    name_case=NameCase.UPPER_PLAIN,
    ssn_format="bare",
    dob_format="%Y%m%d",
    phone_format="bare",
    middle="initial",
    has_email=False,
)

_AGENCIES: Final[dict[str, AgencyProfile]] = {
    "ssa": AgencyProfile(
        identity=_STYLE_LEGACY,
        channels=_channels(web=30, mobile=5, phone=35, in_person=25, mail=5),
        score_base=3.6,
        application_prefix="SSA",
    ),
    "usda-fns": AgencyProfile(
        identity=IdentityStyle(
            ssn_format=None, dob_format="%m/%d/%Y", phone_format="dashed", middle="none"
        ),
        channels=_channels(web=30, mobile=10, phone=20, in_person=35, mail=5),
        score_base=3.8,
        application_prefix="FNS",
        account_prefix="EBT",
    ),
    "cms": AgencyProfile(
        identity=IdentityStyle(ssn_format="dashed", zip_plus4=True),
        channels=_channels(web=45, mobile=5, phone=35, in_person=5, mail=5, chat=5),
        score_base=3.5,
        application_prefix="CMS",
        account_prefix="MBI",
    ),
    "hhs": AgencyProfile(
        identity=IdentityStyle(ssn_format="spaced", dob_format="%m/%d/%Y"),
        channels=_channels(web=35, phone=25, in_person=30, mail=5, chat=5),
        score_base=3.9,
        application_prefix="HHS",
    ),
    "irs": AgencyProfile(
        identity=IdentityStyle(
            name_case=NameCase.UPPER_ASCII, ssn_format="bare", phone_format="bare"
        ),
        channels=_channels(web=55, mobile=5, phone=25, in_person=5, mail=10),
        score_base=3.3,
        application_prefix="IRS",
    ),
    "state": AgencyProfile(
        identity=IdentityStyle(ssn_format="dashed", phone_format="e164"),
        channels=_channels(web=20, in_person=60, mail=20),
        score_base=3.9,
        application_prefix="DS11",
    ),
    "dol": AgencyProfile(
        identity=IdentityStyle(ssn_format="dashed", dob_format="%m/%d/%Y", zip_plus4=True),
        channels=_channels(web=55, mobile=10, phone=30, in_person=5),
        score_base=3.0,
        application_prefix="UI",
    ),
    "fema": AgencyProfile(
        identity=IdentityStyle(ssn_format=None, phone_format="dashed", middle="initial"),
        channels=_channels(web=35, mobile=20, phone=30, in_person=15),
        score_base=3.3,
        application_prefix="FEMA",
    ),
    "sba": AgencyProfile(
        identity=IdentityStyle(ssn_format="dashed"),
        channels=_channels(web=60, phone=25, in_person=15),
        score_base=3.5,
        application_prefix="SBA",
    ),
    "hud": AgencyProfile(
        identity=IdentityStyle(name_case=NameCase.UPPER_ASCII, ssn_format="spaced"),
        channels=_channels(web=30, phone=40, in_person=30),
        score_base=3.2,
        application_prefix="HUD",
    ),
    "dod": AgencyProfile(
        identity=IdentityStyle(
            name_case=NameCase.UPPER_ASCII, ssn_format="bare", dob_format="%Y%m%d"
        ),
        channels=_channels(web=40, in_person=60),
        score_base=3.8,
        application_prefix="TAP",
    ),
    "va": AgencyProfile(
        identity=IdentityStyle(ssn_format="dashed", dob_format="%m/%d/%Y"),
        channels=_channels(web=40, mobile=10, phone=30, in_person=20),
        score_base=4.0,
        application_prefix="VA",
        account_prefix="VAFN",
    ),
    "opm": AgencyProfile(
        identity=IdentityStyle(
            name_case=NameCase.UPPER_ASCII, ssn_format="dashed", has_email=False
        ),
        channels=_channels(web=25, phone=35, mail=40),
        score_base=3.1,
        application_prefix="CSA",
    ),
}

_DEFAULT_AGENCY: Final = AgencyProfile(
    identity=_STYLE_MODERN, channels=_channels(web=40, phone=35, in_person=15, mail=10)
)


def _days(n: float) -> timedelta:
    return timedelta(days=n)


_SERVICES: Final[dict[str, ServiceProfile]] = {
    "ssa.enumeration-at-birth": ServiceProfile(
        decision_median=_days(6),
        approval_rate=0.99,
        more_info_rate=0.02,
        forced_channels=MappingProxyType({Stage.APPLY: _I, Stage.RECEIVE: _L}),
    ),
    "ssa.retirement-benefits": ServiceProfile(
        decision_median=_days(21), approval_rate=0.97, more_info_rate=0.25
    ),
    "ssa.medicare-enrollment": ServiceProfile(
        decision_median=_days(14), approval_rate=0.98, more_info_rate=0.05
    ),
    "usda-fns.wic": ServiceProfile(
        decision_median=_days(5),
        approval_rate=0.92,
        denial_reasons=("INCOME-LIMIT", "NOT-ELIGIBLE"),
        more_info_reasons=("PROOF-OF-INCOME", "PROOF-OF-ADDRESS"),
    ),
    "usda-fns.snap": ServiceProfile(
        decision_median=_days(20),
        approval_rate=0.8,
        more_info_rate=0.35,
        denial_reasons=("INCOME-LIMIT", "MISSING-DOCS", "NO-INTERVIEW"),
        more_info_reasons=("PROOF-OF-INCOME", "INTERVIEW-NEEDED"),
    ),
    "cms.medicaid-enrollment": ServiceProfile(
        decision_median=_days(25),
        approval_rate=0.75,
        more_info_rate=0.3,
        denial_reasons=("INCOME-LIMIT", "MISSING-DOCS"),
        more_info_reasons=("PROOF-OF-INCOME", "CITIZENSHIP-PROOF"),
    ),
    "hhs.tanf": ServiceProfile(
        decision_median=_days(25),
        approval_rate=0.6,
        more_info_rate=0.3,
        denial_reasons=("INCOME-LIMIT", "WORK-REQUIREMENT"),
    ),
    "irs.child-tax-credit": ServiceProfile(
        decision_median=_days(21), approval_rate=0.9, denial_reasons=("DEPENDENT-MISMATCH",)
    ),
    "state.passport-for-minor": ServiceProfile(
        decision_median=_days(35),
        approval_rate=0.97,
        more_info_rate=0.1,
        more_info_reasons=("PARENTAL-CONSENT",),
        forced_channels=MappingProxyType({Stage.APPLY: _I, Stage.RECEIVE: _L}),
    ),
    "dol.unemployment-insurance": ServiceProfile(
        decision_median=_days(18),
        approval_rate=0.7,
        more_info_rate=0.3,
        denial_reasons=("SEPARATION-ISSUE", "WAGE-REQUIREMENT"),
        more_info_reasons=("ID-VERIFICATION", "EMPLOYER-RESPONSE"),
    ),
    "fema.individual-assistance": ServiceProfile(
        decision_median=_days(10),
        approval_rate=0.6,
        more_info_rate=0.35,
        denial_reasons=("INSURANCE-COVERED", "OWNERSHIP-PROOF"),
        more_info_reasons=("OWNERSHIP-PROOF", "INSURANCE-DECISION"),
    ),
    "sba.disaster-loan": ServiceProfile(
        decision_median=_days(21),
        approval_rate=0.5,
        more_info_rate=0.4,
        denial_reasons=("CREDIT-HISTORY", "REPAYMENT-ABILITY"),
        more_info_reasons=("TAX-TRANSCRIPT",),
    ),
    "hud.disaster-housing": ServiceProfile(decision_median=_days(14), approval_rate=0.65),
    "dod.transition-assistance": ServiceProfile(approval_rate=0.99),
    "va.disability-compensation": ServiceProfile(
        decision_median=_days(60),
        approval_rate=0.72,
        more_info_rate=0.4,
        denial_reasons=("NO-SERVICE-CONNECTION",),
        more_info_reasons=("MEDICAL-EXAM", "SERVICE-RECORDS"),
    ),
    "va.health-care-enrollment": ServiceProfile(decision_median=_days(7), approval_rate=0.9),
    "va.education-benefits": ServiceProfile(decision_median=_days(28), approval_rate=0.93),
    "opm.federal-retirement": ServiceProfile(
        decision_median=_days(55),
        approval_rate=0.98,
        more_info_rate=0.3,
        more_info_reasons=("SERVICE-HISTORY", "BENEFICIARY-FORM"),
    ),
}


def _participation(**chances: float) -> MappingProxyType[str, float]:
    return MappingProxyType({name.replace("_", "-"): p for name, p in chances.items()})


_LIFE_EXPERIENCES: Final[dict[str, LifeExperienceProfile]] = {
    # The parent is the subject (a newborn's record would sit on its birth date).
    "having-a-child": LifeExperienceProfile(
        ages=(18, 42),
        participation=_participation(ssa=0.97, cms=0.7, usda_fns=0.7, hhs=0.3, irs=0.6, state=0.15),
        handoff_median=_days(6),
    ),
    "facing-a-financial-shock": LifeExperienceProfile(
        ages=(19, 63),
        participation=_participation(dol=0.9, usda_fns=0.8, cms=0.6, hhs=0.3),
        stall_at_handoff=0.15,
        handoff_median=_days(3),
    ),
    "recovering-from-a-disaster": LifeExperienceProfile(
        ages=(18, 85),
        participation=_participation(fema=0.98, sba=0.45, hud=0.35),
        stall_at_handoff=0.18,
        handoff_median=_days(5),
    ),
    "transitioning-to-civilian-life": LifeExperienceProfile(
        ages=(20, 45),
        participation=_participation(dod=0.98, dol=0.6, va=0.85),
        handoff_median=_days(10),
    ),
    "approaching-retirement": LifeExperienceProfile(
        ages=(61, 67),
        participation=_participation(ssa=0.95, cms=0.75, opm=0.2, hhs=0.2),
        stall_at_handoff=0.08,
        handoff_median=_days(7),
    ),
}

_DEFAULT_LIFE_EXPERIENCE: Final = LifeExperienceProfile(
    ages=(18, 80), participation=MappingProxyType({})
)

#: Chance of using an agency a life experience's profile does not mention.
DEFAULT_PARTICIPATION: Final = 0.5


def agency_profile(agency: str) -> AgencyProfile:
    """The profile of ``agency`` (defaults for agencies the simulator does not know)."""
    return _AGENCIES.get(agency, _DEFAULT_AGENCY)


def service_profile(service_id: str) -> ServiceProfile:
    """The profile of one service (defaults for services the simulator does not know)."""
    return _SERVICES.get(service_id, ServiceProfile())


def life_experience_profile(life_experience: str) -> LifeExperienceProfile:
    """The profile of one life experience (defaults when unknown)."""
    return _LIFE_EXPERIENCES.get(life_experience, _DEFAULT_LIFE_EXPERIENCE)


def birth_window(profile: LifeExperienceProfile, on: date) -> tuple[date, date]:
    """Birth dates giving an age within ``profile.ages`` on ``on`` (inclusive range)."""
    youngest, oldest = profile.ages
    latest = _years_before(on, youngest) - timedelta(days=1)
    earliest = _years_before(on, oldest + 1) + timedelta(days=1)
    return earliest, latest


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year - years, day=28)
