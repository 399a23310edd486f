"""Synthetic raw records and linkage keys shared by the producers tests (all values invented)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from broker.keyring import LinkageKey
from producers import RawRecord

T0 = datetime(2026, 4, 3, 14, 30, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def linkage_key(
    life_experience: str = "having-a-child", n: int = 1, secret: bytes = b""
) -> LinkageKey:
    """A deterministic linkage key; ``n`` distinguishes rotations."""
    return LinkageKey(
        key_id=f"lk-{life_experience}-20260101-{n}",
        life_experience=life_experience,
        secret=secret or bytes([n]) * 32,
        created_at=CREATED,
    )


def keys(*life_experiences: str, n: int = 1) -> dict[str, LinkageKey]:
    """Current linkage keys by life experience."""
    chosen = life_experiences or ("having-a-child",)
    return {le: linkage_key(le, n) for le in chosen}


def identity(**overrides: Any) -> dict[str, Any]:
    """Identity fields of one invented person."""
    fields: dict[str, Any] = {
        "first_name": "Zoë",
        "middle_name": "Marie",
        "last_name": "Quintanilla-Ortega",
        "ssn": "219-09-9999",
        "date_of_birth": "1990-07-14",
        "sex": "F",
        "street_address": "4821 Larkspur Crescent",
        "city": "Tallahassee",
        "state": "FL",
        "zip": "32301",
        "phone": "(850) 555-0172",
        "email": "zoe.quintanilla90@example.org",
        "account_number": "WIC-88213947",
    }
    fields.update(overrides)
    return fields


def raw(**overrides: Any) -> RawRecord:
    """A valid raw WIC service-interaction record; keyword overrides replace fields."""
    fields: dict[str, Any] = {
        **identity(),
        "agency": "usda-fns",
        "life_experience": "having-a-child",
        "kind": "service-interaction",
        "occurred_at": T0,
        "service_id": "usda-fns.wic",
        "stage": "apply",
        "channel": "web",
        "started_at": T0 - timedelta(minutes=20),
        "ended_at": T0,
        "outcome": "completed",
        "wait_seconds": 95.5,
        "attempt": 1,
    }
    fields.update(overrides)
    return RawRecord(**fields)


def feedback(**overrides: Any) -> RawRecord:
    """A valid raw feedback record with a comment that embeds the person's identifiers."""
    fields: dict[str, Any] = {
        "kind": "feedback",
        "stage": None,
        "started_at": None,
        "ended_at": None,
        "outcome": None,
        "wait_seconds": None,
        "attempt": None,
        "satisfaction": 2,
        "trust": 3,
        "free_text": (
            "This is Zoe Quintanilla. My SSN 219-09-9999 was typed wrong, call me at "
            "850-555-0172 or write to zoe.quintanilla90@example.org. I was born 07/14/1990 "
            "and live at 4821 Larkspur Crescent, Tallahassee 32301. Account WIC-88213947."
        ),
    }
    fields.update(overrides)
    return raw(**fields)
