"""No contract field may carry a direct identifier (HIPAA Safe Harbor's list, by name and shape).

The scan walks every registered contract's exported JSON Schema, nested models included:
* a field name that looks like a direct identifier fails;
* a string without a declared constraint (enum, const, pattern, format or maxLength)
  fails, and so does free text (only maxLength) that is not a ScrubbedText.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pytest
from pydantic import Field

from contracts import load_registry
from contracts.events import ContractModel
from contracts.export import contract_schema

FORBIDDEN_WORDS = frozenset(
    {
        "ssn", "social", "name", "names", "surname", "firstname", "lastname", "fullname",
        "maiden", "email", "mail_address", "phone", "telephone", "cell",
        "fax", "address", "street", "city", "county", "zip", "zipcode", "postal", "dob",
        "birth", "birthdate", "birthday", "born", "account", "iban", "routing", "card",
        "mrn", "medical", "beneficiary", "license", "licence", "certificate", "passport",
        "vin", "vehicle", "plate", "device", "imei", "ip", "url", "photo", "face",
        "biometric", "fingerprint", "tin", "ein", "itin", "case_number", "username", "login",
    }
)  # fmt: skip
FORBIDDEN_SUBSTRINGS = ("ssn", "email", "phone", "address", "birth", "surname", "firstname")
STRING_CONSTRAINTS = ("enum", "const", "pattern", "format")


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}}, root)
    return node


def scan(schema: dict[str, Any]) -> list[str]:
    """Problems of one contract schema: (path, reason) strings."""
    problems: list[str] = []

    def walk(node: Any, path: str) -> None:
        node = _resolve(node, schema)
        if isinstance(node, list):
            for item in node:
                walk(item, path)
            return
        if not isinstance(node, dict):
            return
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" in types:
            if not any(key in node for key in (*STRING_CONSTRAINTS, "maxLength")):
                problems.append(f"{path}: unconstrained string")
            elif not any(key in node for key in STRING_CONSTRAINTS) and not node.get(
                "x-cx-scrubbed"
            ):
                problems.append(f"{path}: free text that is not ScrubbedText")
        for name, child in node.get("properties", {}).items():
            words = set(re.split(r"[_\-]", name.lower()))
            flat = name.lower().replace("_", "")
            if words & FORBIDDEN_WORDS or any(bad in flat for bad in FORBIDDEN_SUBSTRINGS):
                problems.append(f"{path}.{name}: looks like a direct identifier")
            walk(child, f"{path}.{name}")
        for key in ("items", "anyOf", "oneOf", "allOf", "prefixItems", "additionalProperties"):
            if key in node:
                walk(node[key], f"{path}[]" if key == "items" else path)

    walk(schema, "$")
    return problems


@pytest.mark.parametrize("entry", load_registry().entries, ids=lambda e: f"{e.name}-{e.version}")
def test_no_contract_field_can_carry_a_direct_identifier(entry: Any) -> None:
    assert scan(contract_schema(entry)) == []


def test_every_contract_has_fields_the_scan_saw() -> None:
    for entry in load_registry().entries:
        assert len(contract_schema(entry)["properties"]) >= 5


class _Leaky(ContractModel):
    contract_name: ClassVar[str] = "leaky"
    contract_version: ClassVar[str] = "1.0.0"

    first_name: str = Field(max_length=20, pattern="^[A-Z]+$")
    home_address: str = Field(max_length=100, pattern=".*")
    notes: str = Field(max_length=500)
    free: str
    date_of_birth: str = Field(max_length=10, pattern="^[0-9-]+$")
    contact_email: str = Field(max_length=50, pattern=".*@.*")


def test_the_scan_catches_identifiers_and_unconstrained_text() -> None:
    problems = scan(_Leaky.model_json_schema())
    flagged = {problem.split(":")[0] for problem in problems}
    assert flagged == {
        "$.first_name",
        "$.home_address",
        "$.notes",
        "$.free",
        "$.date_of_birth",
        "$.contact_email",
    }
    assert "$.free: unconstrained string" in problems
    assert "$.notes: free text that is not ScrubbedText" in problems
