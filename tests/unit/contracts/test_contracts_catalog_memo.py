"""Catalog id checks answer from a memo: the same answer the catalog gives, every time."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.catalog import AgencyId, LifeExperienceId, ServiceId, load_catalog
from contracts.errors import UnknownEntry

CATALOG = load_catalog()
KNOWN = {
    "agency": (AgencyId, [a.id for a in CATALOG.agencies]),
    "life": (LifeExperienceId, [le.id for le in CATALOG.life_experiences]),
    "service": (ServiceId, [s.id for a in CATALOG.agencies for s in a.services]),
}

# Well-formed slugs the catalog does not hold.
_AGENCY = CATALOG.agencies[0].id
UNKNOWN = {
    "agency": ["zz-nowhere", "zz-elsewhere"],
    "life": ["zz-nowhere", "zz-elsewhere"],
    "service": [f"{_AGENCY}.zz-nowhere", "zz-nowhere.zz-nothing"],
}


@pytest.mark.parametrize("kind", sorted(KNOWN))
def test_known_ids_pass_and_unknown_ids_fail_on_every_call(kind: str) -> None:
    annotated, ids = KNOWN[kind]
    adapter: TypeAdapter[str] = TypeAdapter(annotated)
    for _ in range(2):  # the second round is answered from the memo
        for known in ids:
            assert adapter.validate_python(known) == known
        for unknown in UNKNOWN[kind]:
            with pytest.raises(ValidationError, match="not a known"):
                adapter.validate_python(unknown)


def test_lookup_indexes_leave_the_model_unchanged() -> None:
    fresh = load_catalog().model_validate(CATALOG.model_dump())
    before = fresh.model_dump_json()
    for agency in fresh.agencies:
        assert fresh.agency(agency.id) is agency
        for service in agency.services:
            assert fresh.service(service.id) is service
    for le in fresh.life_experiences:
        assert fresh.life_experience(le.id) is le
        assert le.services == frozenset(s for p in le.participants for s in p.services)
    assert fresh.model_dump_json() == before  # the indexes are not fields
    assert fresh == CATALOG
    with pytest.raises(UnknownEntry):
        fresh.service("zz-nowhere.zz-nothing")
