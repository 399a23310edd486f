"""JSON Schema 2020-12 and AsyncAPI 3.0 documents generated from the registry.

``cxbroker contracts export DIR`` writes :func:`export_documents`: one closed JSON Schema
per contract version (``<name>-<version>.json``, ``$id`` = the contract URN) and
``asyncapi.json``. The released copies live in ``contracts/schemas/``
(:func:`load_released_schemas`), and ``cxbroker contracts check`` compares the registry
with them.

Why the AsyncAPI document is written here rather than by FastStream's generator:
FastStream documents the subscribers and publishers of one running application, while
this document describes the whole exchange - every agency topic, joined and insight
topic and the dead-letter topic from the catalog, with the CloudEvents headers, Kafka
keys and every registered contract version - independently of which process serves it.
It also keeps ``contracts`` free of any dependency beyond Pydantic.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

from contracts.catalog import DEADLETTER_TOPIC, Catalog, load_catalog
from contracts.envelope import CONTENT_TYPE, SPECVERSION, ce_type
from contracts.errors import DECODE_REASONS
from contracts.privacy import KEY_ID_PATTERN
from contracts.registry import ContractEntry, ContractKind, Registry, load_registry

__all__ = [
    "ASYNCAPI_DOCUMENT_VERSION",
    "ASYNCAPI_FILE",
    "JSON_SCHEMA_DIALECT",
    "SCHEMA_FILE_PATTERN",
    "asyncapi_document",
    "contract_schema",
    "current_schemas",
    "export_documents",
    "load_released_schemas",
    "schema_file_name",
    "schemas_from_documents",
]

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE: Final = "asyncapi.json"
SCHEMA_FILE_PATTERN: Final = re.compile(
    r"^([a-z][a-z0-9-]*[a-z0-9])-([0-9]+\.[0-9]+\.[0-9]+)\.json$"
)
_KAFKA_BINDING_VERSION: Final = "0.5.0"
#: Version of the exchange description itself; bump it when topics or messages change.
ASYNCAPI_DOCUMENT_VERSION: Final = "1.1.0"


def schema_file_name(name: str, version: str) -> str:
    """``<name>-<version>.json``."""
    return f"{name}-{version}.json"


def _close_objects(node: Any) -> None:
    # Pydantic closes models with extra="forbid"; this makes "closed everywhere" an
    # invariant of the export rather than of each model.
    if isinstance(node, dict):
        if node.get("type") == "object" and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for item in node:
            _close_objects(item)


def contract_schema(entry: ContractEntry) -> dict[str, Any]:
    """The closed JSON Schema 2020-12 of one contract version."""
    body = entry.model.model_json_schema(mode="validation")
    _close_objects(body)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": entry.urn,
        "x-cx-contract": {"name": entry.name, "version": entry.version, "kind": entry.kind.value},
        **body,
    }


def current_schemas(registry: Registry | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """``(name, version) -> schema`` for every registered contract version."""
    registry = registry or load_registry()
    return {(entry.name, entry.version): contract_schema(entry) for entry in registry.entries}


def schemas_from_documents(
    documents: Mapping[str, Any],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Pick the contract schemas out of ``file name -> parsed JSON`` (others are ignored)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for file_name, document in documents.items():
        match = SCHEMA_FILE_PATTERN.match(file_name)
        if match is None or file_name == ASYNCAPI_FILE:
            continue
        if not isinstance(document, dict):
            raise ValueError(f"{file_name} is not a JSON object")
        found[(match.group(1), match.group(2))] = document
    return found


def load_released_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """The released schemas packaged in ``contracts/schemas/``."""
    folder = resources.files("contracts").joinpath("schemas")
    documents = {
        item.name: json.loads(item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".json")
    }
    return schemas_from_documents(documents)


def _inline_refs(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with ``#/$defs`` references replaced by copies (AsyncAPI embeds schemas)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/"):
            target = walk(defs[node["$ref"].removeprefix("#/$defs/")])
            return {**target, **{k: walk(v) for k, v in node.items() if k != "$ref"}}
        return {k: walk(v) for k, v in node.items() if k not in ("$defs", "$schema", "$id")}

    result = walk(schema)
    assert isinstance(result, dict)
    return result


def _message_id(entry: ContractEntry) -> str:
    return f"{entry.name}-{entry.version.replace('.', '_')}"


def _channel_id(topic: str) -> str:
    return topic.replace(".", "-")


def _event_headers(entry: ContractEntry) -> dict[str, Any]:
    def const(value: str, description: str) -> dict[str, Any]:
        return {"type": "string", "const": value, "description": description}

    properties = {
        "ce_specversion": const(SPECVERSION, "CloudEvents spec version"),
        "ce_id": {"type": "string", "format": "uuid", "description": "= payload event_id"},
        "ce_source": {
            "type": "string",
            "pattern": r"^urn:cx:agency:[a-z][a-z0-9-]{0,30}[a-z0-9]$",
            "description": "urn:cx:agency:<payload agency>",
        },
        "ce_type": const(ce_type(entry.name, entry.semver[0]), "event type and major version"),
        "ce_time": {
            "type": "string",
            "format": "date-time",
            "description": "payload occurred_at, RFC 3339 UTC",
        },
        "ce_dataschema": const(entry.urn, "exact contract version of the payload"),
        "ce_cxlifeexp": {"type": "string", "description": "= payload life_experience"},
        "ce_cxkeyid": {
            "type": "string",
            "pattern": KEY_ID_PATTERN,
            "description": "id of the agency signing key",
        },
        "ce_cxsig": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9+/]{86}==$",
            "description": "base64 Ed25519 signature over the CX-SIG-V1 signing input",
        },
        "content-type": const(CONTENT_TYPE, "payload media type"),
    }
    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka binary-mode headers; signed as in SIGNING.md",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _plain_headers(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE}},
        "required": ["content-type"],
    }


_TOKEN_KEY: Final = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{43}$",
    "description": "journey token (ASCII)",
}


def asyncapi_document(
    catalog: Catalog | None = None, registry: Registry | None = None
) -> dict[str, Any]:
    """An AsyncAPI 3.0.0 document of every public topic of DESIGN.md and its messages."""
    catalog = catalog or load_catalog()
    registry = registry or load_registry()
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    by_kind: dict[ContractKind, list[str]] = {kind: [] for kind in ContractKind}

    for entry in registry.entries:
        message_id = _message_id(entry)
        schemas[message_id] = {**_inline_refs(contract_schema(entry)), "x-cx-dataschema": entry.urn}
        if entry.kind is ContractKind.EVENT:
            headers = _event_headers(entry)
            key = _TOKEN_KEY
        elif entry.kind is ContractKind.JOURNEY:
            headers = _plain_headers("set by the joiner")
            key = _TOKEN_KEY
        else:
            headers = _plain_headers("set by the joiner / insights")
            key = {
                "type": "string",
                "description": (
                    "InsightCell.key(): le|period|agency|stage|metric; "
                    "InsightRelease.key(): le|week|release"
                ),
            }
        messages[message_id] = {
            "name": entry.name,
            "title": f"{entry.name} {entry.version}",
            "summary": (entry.model.__doc__ or "").strip().splitlines()[0],
            "contentType": CONTENT_TYPE,
            "headers": copy.deepcopy(headers),
            "payload": {"$ref": f"#/components/schemas/{message_id}"},
            "bindings": {"kafka": {"key": key, "bindingVersion": _KAFKA_BINDING_VERSION}},
        }
        by_kind[entry.kind].append(message_id)

    messages["dead-letter"] = {
        "name": "dead-letter",
        "title": "dead letter",
        "summary": "A record the joiner could not accept, with its original bytes",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "description": "the original headers plus the reason and source coordinates",
            "x-cx-reason-codes": sorted(DECODE_REASONS),
        },
        "payload": {"type": "string", "format": "binary", "description": "original value"},
        "bindings": {
            "kafka": {"key": {"type": "string"}, "bindingVersion": _KAFKA_BINDING_VERSION}
        },
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def add_channel(topic: str, description: str, message_ids: list[str], writer: str) -> None:
        channel_id = _channel_id(topic)
        channel: dict[str, Any] = {
            "address": topic,
            "title": topic,
            "description": description,
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message_ids},
        }
        if topic.startswith(("cx.joined.", "cx.protected.")):
            channel["bindings"] = {
                "kafka": {
                    "topic": topic,
                    "topicConfiguration": {"cleanup.policy": ["compact"]},
                    "bindingVersion": _KAFKA_BINDING_VERSION,
                }
            }
        channels[channel_id] = channel
        operations[f"send-{channel_id}"] = {
            "action": "send",
            "title": f"{writer} writes {topic}",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in message_ids],
        }

    for agency in catalog.agencies:
        add_channel(
            agency.topic,
            f"Signed CX events of {agency.display_name}; key = journey token.",
            by_kind[ContractKind.EVENT],
            agency.id,
        )
    # journey-snapshot 1.x (fine) on the restricted joined topics, 2.x (k-protected) on
    # the default tier's protected topics.
    fine = [m for m in by_kind[ContractKind.JOURNEY] if m.rsplit("-", 1)[1].startswith("1_")]
    protected = [m for m in by_kind[ContractKind.JOURNEY] if m not in fine]
    for le in catalog.life_experiences:
        add_channel(
            le.joined_topic,
            f"Joined journeys of '{le.display_name}' at full precision (compacted, key = "
            "journey token); restricted tier only.",
            fine,
            "joiner",
        )
        add_channel(
            le.protected_topic,
            f"Joined journeys of '{le.display_name}', k-protected (compacted, key = journey "
            "token); the default data-team tier.",
            protected,
            "joiner",
        )
    for le in catalog.life_experiences:
        add_channel(
            le.insights_topic,
            f"Aggregates of '{le.display_name}' with small-cell suppression.",
            by_kind[ContractKind.INSIGHT],
            "insights",
        )
    add_channel(
        DEADLETTER_TOPIC,
        "Records that failed verification or validation; nothing is dropped silently.",
        ["dead-letter"],
        "joiner",
    )

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "cx-broker interagency CX exchange",
            "version": ASYNCAPI_DOCUMENT_VERSION,
            "description": (
                "De-identified customer-experience events shared between agencies over "
                "Apache Kafka, joined per life experience. Wire format: CloudEvents 1.0 "
                "Kafka binding, binary mode."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def export_documents(
    catalog: Catalog | None = None, registry: Registry | None = None
) -> dict[str, dict[str, Any]]:
    """``file name -> JSON document``: every contract schema and ``asyncapi.json``."""
    registry = registry or load_registry()
    documents: dict[str, dict[str, Any]] = {
        schema_file_name(name, version): schema
        for (name, version), schema in current_schemas(registry).items()
    }
    documents[ASYNCAPI_FILE] = asyncapi_document(catalog, registry)
    return documents
