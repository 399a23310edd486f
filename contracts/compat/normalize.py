"""Normalizing a JSON Schema before comparing: ``$ref``s inlined, annotations dropped,
nullable unions folded into plain types.

Two schemas that accept the same documents but are written differently (a ``$ref`` to a
``$defs`` entry, a description, pydantic's ``anyOf`` for ``X | None``) then compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["Schema", "normalize_schema", "types_of"]

Schema = Mapping[str, Any]

# Keywords that document a schema without changing what it accepts.
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "$schema", "$id"}
)
_ALL_TYPES: Final = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})


def _resolve(node: Any, root: Schema, seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_resolve(item, root, seen) for item in node]
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise ValueError("only local, non-recursive $refs are supported")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, root, (*seen, ref))
    return {
        key: _resolve(value, root, seen)
        for key, value in node.items()
        if key not in _ANNOTATIONS and key != "$defs" and not key.startswith("x-")
    }


def types_of(node: Mapping[str, Any]) -> frozenset[str]:
    """The JSON types ``node`` accepts (every type when it declares none)."""
    declared = node.get("type")
    if declared is None:
        if "enum" in node or "const" in node:
            values = node.get("enum", [node.get("const")])
            return frozenset(_json_type(value) for value in values)
        return _ALL_TYPES
    return frozenset([declared] if isinstance(declared, str) else declared)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _merge_nullable(node: dict[str, Any]) -> dict[str, Any]:
    # pydantic writes `X | None` as anyOf: [X, {type: null}]; fold that into X's types so a
    # field going from nullable to not nullable is a plain type narrowing.
    branches = node.get("anyOf")
    if not isinstance(branches, list):
        return node
    nulls = [
        b for b in branches if isinstance(b, Mapping) and b.get("type") == "null" and len(b) == 1
    ]
    others = [b for b in branches if b not in nulls]
    if not nulls or len(others) != 1:
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    merged = {**others[0], **rest}
    types = types_of(others[0])
    if "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    merged["type"] = sorted(types | {"null"})
    return merged


def normalize_schema(schema: Schema) -> dict[str, Any]:
    """``schema`` with local ``$ref``s inlined, annotations dropped and nullables folded."""

    def fold(node: Any) -> Any:
        if isinstance(node, list):
            return [fold(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        return _merge_nullable({key: fold(value) for key, value in node.items()})

    resolved = _resolve(schema, schema)
    assert isinstance(resolved, dict)
    folded = fold(resolved)
    assert isinstance(folded, dict)
    return folded
