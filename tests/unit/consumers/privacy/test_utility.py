"""What each stream answers: counted by hand on small populations; the report section."""

from __future__ import annotations

from consumers.privacy.html import risk_section
from consumers.privacy.scan import Scan
from consumers.privacy.utility import handoff, utility_of_fine, utility_of_protected
from contracts.joined import JourneySnapshot
from contracts.protected import Precision, protect
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.snapshots import journey

LE = "recovering-from-a-disaster"
ORDER = {LE: ("fema", "sba", "hud")}


def _population() -> list[JourneySnapshot]:
    out = []
    for n in range(6):
        out.append(journey(n, days=10.0 + n, status=JourneyStatus.COMPLETED))
    for n in range(6, 9):
        out.append(
            journey(
                n, steps=(("fema", Stage.APPLY), ("sba", Stage.APPLY)), status=JourneyStatus.STALLED
            )
        )
    out.append(journey(9, status=JourneyStatus.ACTIVE))
    return out


def test_fine_answers_match_a_hand_count() -> None:
    u = utility_of_fine(_population(), ORDER)
    assert u.journeys == 9  # the active journey is left out
    assert u.completed == 6 and u.completion_rate == 6 / 9
    assert u.median_days_to_complete == 12.5  # days 10..15
    assert u.stalls == {f"{LE}: sba -> hud": 3}
    assert u.handoffs == {"fema -> sba": 3} and u.paths_shown == 9


def test_protected_answers_lose_what_the_precision_hides() -> None:
    fine = [s for s in _population() if s.status is not JourneyStatus.ACTIVE]
    at_last = [protect(s, Precision.LAST, k=3) for s in fine]
    u = utility_of_protected(at_last, ORDER)
    assert u.completion_rate == 6 / 9
    assert u.median_days_to_complete == 0.0  # 10-15 days publish as the 0-27 step
    assert u.stalls == {f"{LE}: sba -> hud": 3}
    at_status = utility_of_protected([protect(s, Precision.STATUS, k=3) for s in fine], ORDER)
    assert at_status.median_days_to_complete is None and at_status.stalls_not_shown == 3
    assert u.paths_shown == 0 and at_status.handoffs == {}
    at_agencies = utility_of_protected([protect(s, Precision.AGENCIES, k=3) for s in fine], ORDER)
    assert at_agencies.handoffs == {"fema -> sba": 3} and at_agencies.paths_shown == 9


def test_handoff_names_the_next_agency_not_reached() -> None:
    assert handoff(["fema"], ("fema", "sba", "hud")) == ("fema", "sba")
    assert handoff(["fema", "hud"], ("fema", "sba", "hud")) == ("hud", "(end)")


def test_the_report_section_shows_both_streams_and_no_token() -> None:
    scan = Scan()
    for s in _population():
        scan.add(s.model_dump_json())
        if s.status is not JourneyStatus.ACTIVE:
            scan.add(protect(s, Precision.STATUS, k=3).model_dump_json())
    text = risk_section(scan, 3, ORDER)
    assert "fine, seconds" in text and "protected (as published)" in text
    assert "status: 9" in text
    assert all(s.journey_token not in text for s in _population())
