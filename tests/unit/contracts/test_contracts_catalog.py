"""The life-experience catalog and agency registry are data, cross-checked on load."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from typing import Any

import pytest

from contracts import load_catalog
from contracts.catalog import parse_catalog
from contracts.errors import CatalogError, UnknownEntry
from contracts.vocabulary import Stage

LIFE_EXPERIENCES = {
    "having-a-child",
    "facing-a-financial-shock",
    "recovering-from-a-disaster",
    "transitioning-to-civilian-life",
    "approaching-retirement",
}


def _raw() -> tuple[dict[str, Any], dict[str, Any]]:
    data = resources.files("contracts").joinpath("catalog")
    agencies = json.loads(data.joinpath("agencies.json").read_text(encoding="utf-8"))
    life = json.loads(data.joinpath("life-experiences.json").read_text(encoding="utf-8"))
    return agencies, life


def test_catalog_holds_the_five_life_experiences_of_design() -> None:
    catalog = load_catalog()
    assert {le.id for le in catalog.life_experiences} == LIFE_EXPERIENCES
    assert load_catalog() is catalog  # cached


def test_life_experiences_name_the_agencies_of_domain_facts_in_journey_order() -> None:
    catalog = load_catalog()
    assert catalog.life_experience("having-a-child").agencies[:3] == ("ssa", "cms", "usda-fns")
    assert set(catalog.life_experience("recovering-from-a-disaster").agencies) == {
        "fema",
        "sba",
        "hud",
    }
    assert set(catalog.life_experience("transitioning-to-civilian-life").agencies) == {
        "dod",
        "dol",
        "va",
    }
    retirement = catalog.life_experience("approaching-retirement")
    assert {"ssa", "cms", "opm"} <= set(retirement.agencies)
    assert "ssa.retirement-benefits" in retirement.services


def test_windows_are_between_30_and_120_days_and_stall_comes_first() -> None:
    for le in load_catalog().life_experiences:
        assert timedelta(days=30) <= le.window <= timedelta(days=120)
        assert le.stall_after < le.window
        assert le.completion


def test_agency_registry_gives_topics_and_services_with_stages() -> None:
    catalog = load_catalog()
    ssa = catalog.agency("ssa")
    assert ssa.display_name == "Social Security Administration"
    assert ssa.topic == "cx.events.ssa"
    wic = catalog.service("usda-fns.wic")
    assert wic.agency == "usda-fns" and Stage.APPLY in wic.stages
    assert catalog.service("ssa.enumeration-at-birth").agency == "ssa"


def test_topics_are_every_public_topic_of_design() -> None:
    catalog = load_catalog()
    topics = catalog.topics()
    assert len(topics) == len(set(topics))
    assert {f"cx.events.{a.id}" for a in catalog.agencies} <= set(topics)
    for le in LIFE_EXPERIENCES:
        assert f"cx.joined.{le}" in topics and f"cx.insights.{le}" in topics
    assert "cx.deadletter" in topics
    assert not any(t.startswith("cx.internal.") for t in topics)


def test_unknown_ids_raise_unknown_entry() -> None:
    catalog = load_catalog()
    for lookup, value in (
        (catalog.agency, "nasa"),
        (catalog.life_experience, "buying-a-boat"),
        (catalog.service, "ssa.nothing"),
    ):
        with pytest.raises(UnknownEntry):
            lookup(value)


def test_adding_an_agency_and_a_life_experience_is_a_data_change() -> None:
    agencies, life = _raw()
    agencies["agencies"].append(
        {
            "id": "ed",
            "display_name": "Department of Education",
            "reason_codes": ["NOT-ELIGIBLE"],
            "services": [
                {"id": "ed.student-aid", "display_name": "FAFSA", "stages": ["apply", "decision"]}
            ],
        }
    )
    life["life_experiences"].append(
        {
            "id": "going-to-college",
            "display_name": "Going to college",
            "window": "P45D",
            "stall_after": "P10D",
            "token_rule": "ssn-dob",
            "participants": [{"agency": "ed", "services": ["ed.student-aid"]}],
            "completion": [{"agency": "ed", "stage": "decision"}],
        }
    )
    catalog = parse_catalog(agencies, life)
    assert catalog.agency("ed").topic == "cx.events.ed"
    assert "cx.joined.going-to-college" in catalog.topics()
    assert catalog.life_experience("going-to-college").window == timedelta(days=45)


@pytest.mark.parametrize(
    "breakage",
    [
        "unknown-agency",
        "foreign-service",
        "duplicate-agency",
        "milestone-stage",
        "stall-after-window",
        "extra-field",
    ],
)
def test_inconsistent_catalog_data_is_rejected(breakage: str) -> None:
    agencies, life = _raw()
    having = life["life_experiences"][0]
    if breakage == "unknown-agency":
        having["participants"].append({"agency": "nasa", "services": ["nasa.launch"]})
    elif breakage == "foreign-service":
        having["participants"][0]["services"].append("usda-fns.wic")
    elif breakage == "duplicate-agency":
        agencies["agencies"].append(agencies["agencies"][0])
    elif breakage == "milestone-stage":
        having["completion"].append({"agency": "irs", "stage": "documents"})
    elif breakage == "stall-after-window":
        having["stall_after"] = "P200D"
    else:
        having["owner"] = "nobody"
    with pytest.raises(CatalogError):
        parse_catalog(agencies, life)
