"""JSON Schema 2020-12 export, AsyncAPI 3.0 document, and real records against them."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from contracts import encode_unsigned, load_catalog, load_registry, with_signature
from contracts.events import FeedbackV1_0
from contracts.export import (
    JSON_SCHEMA_DIALECT,
    asyncapi_document,
    contract_schema,
    current_schemas,
    export_documents,
    load_released_schemas,
)
from tests.support.contract_samples import Samples, cell, snapshot

VALIDATOR = jsonschema.Draft202012Validator


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_objects(item))
    return found


def _validator(schema: dict[str, Any]) -> jsonschema.Validator:
    return VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER)


def test_every_contract_version_exports_a_valid_closed_2020_12_schema() -> None:
    schemas = current_schemas()
    assert len(schemas) == len(load_registry().entries)
    for (name, version), schema in schemas.items():
        VALIDATOR.check_schema(schema)
        assert schema["$schema"] == JSON_SCHEMA_DIALECT
        assert schema["$id"] == f"urn:cx:contract:{name}:{version}"
        objects = _objects(schema)
        assert objects, name
        assert all(node.get("additionalProperties") is False for node in objects), name


def test_real_records_are_valid_under_their_exported_schema(samples: Samples) -> None:
    schemas = current_schemas()
    events = [
        *samples.all_events(),
        FeedbackV1_0(**samples.feedback().model_dump(exclude={"humanity"})),
    ]
    for event in events:
        record = encode_unsigned(event)
        schema = schemas[(type(event).contract_name, type(event).contract_version)]
        payload = json.loads(record.value)
        _validator(schema).validate(payload)
        with pytest.raises(jsonschema.ValidationError):
            _validator(schema).validate({**payload, "last_name": "x"})
    for document in (snapshot(), cell()):
        schema = schemas[(document.contract_name, document.contract_version)]
        _validator(schema).validate(json.loads(document.model_dump_json()))


def test_schema_rejects_what_the_model_rejects_on_shape(samples: Samples) -> None:
    schema = current_schemas()[("service-interaction", "1.0.0")]
    payload = json.loads(encode_unsigned(samples.interaction()).value)
    for field, bad in (
        ("attempt", 0),
        ("channel", "fax"),
        ("journey_token", "short"),
        ("zip3", "20500"),
    ):
        with pytest.raises(jsonschema.ValidationError):
            _validator(schema).validate({**payload, field: bad})


def test_released_schemas_are_packaged_and_valid() -> None:
    released = load_released_schemas()
    assert set(released) == set(current_schemas())
    for schema in released.values():
        VALIDATOR.check_schema(schema)


def _resolve_pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_asyncapi_document_names_every_topic_and_message() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(load_catalog().topics())
    messages = document["components"]["messages"]
    for entry in load_registry().entries:
        assert any(
            m["name"] == entry.name and m["title"].endswith(entry.version)
            for m in messages.values()
        )
    ssa = document["channels"]["cx-events-ssa"]
    assert {"service-interaction-1_0_0", "feedback-1_0_0", "feedback-1_1_0"} <= set(ssa["messages"])
    assert set(document["channels"]["cx-joined-having-a-child"]["messages"]) == {
        "journey-snapshot-1_0_0"
    }
    assert set(document["channels"]["cx-protected-having-a-child"]["messages"]) == {
        "journey-snapshot-2_0_0"
    }
    assert set(document["channels"]["cx-insights-approaching-retirement"]["messages"]) == {
        "insight-cell-1_0_0",
        "insight-cell-1_1_0",
        "insight-cell-1_2_0",
        "insight-release-1_0_0",
    }
    assert set(document["channels"]["cx-deadletter"]["messages"]) == {"dead-letter"}
    headers = messages["feedback-1_1_0"]["headers"]
    assert set(headers["required"]) == {
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_dataschema",
        "ce_cxlifeexp",
        "ce_cxkeyid",
        "ce_cxsig",
        "content-type",
    }
    assert headers["properties"]["ce_dataschema"]["const"] == "urn:cx:contract:feedback:1.1.0"


def test_asyncapi_references_resolve_and_ids_are_well_formed() -> None:
    document = asyncapi_document()
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        assert _resolve_pointer(document, ref) is not None
    for key in (*document["channels"], *document["operations"]):
        assert re.fullmatch(r"[A-Za-z0-9_\-]+", key)
    for operation in document["operations"].values():
        assert operation["action"] == "send"
    # Embedded payload schemas are self-contained (no $defs left to resolve elsewhere).
    for schema in document["components"]["schemas"].values():
        assert "$defs" not in json.dumps(schema)


def test_headers_of_a_real_record_match_the_asyncapi_header_schema(samples: Samples) -> None:

    record = with_signature(encode_unsigned(samples.feedback()), "usda-fns-1", bytes(64))
    headers = {name: value.decode() for name, value in record.headers}
    schema = asyncapi_document()["components"]["messages"]["feedback-1_1_0"]["headers"]
    _validator(schema).validate(headers)


def test_export_documents_has_one_file_per_version_plus_asyncapi() -> None:
    documents = export_documents()
    expected = {f"{e.name}-{e.version}.json" for e in load_registry().entries} | {"asyncapi.json"}
    assert set(documents) == expected
    entry = load_registry().latest("feedback")
    assert documents["feedback-1.1.0.json"] == contract_schema(entry)
