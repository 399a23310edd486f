"""Compatibility checker on hand-made JSON Schema pairs, in every mode."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.compat import (
    ChangeKind,
    Direction,
    Mode,
    breaking_changes,
    check_history,
    check_released,
    diff_schemas,
    normalize_schema,
)


def obj(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else [],
        "additionalProperties": False,
    }
    schema.update(extra)
    return schema


STR = {"type": "string", "maxLength": 10}
BASE = obj({"a": STR}, ["a"])

B, F = Direction.BACKWARD, Direction.FORWARD

# name: (old, new, kind, path, directions broken)
PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any], ChangeKind, str, set[Direction]]] = {
    "optional field added": (
        BASE,
        obj({"a": STR, "b": STR}, ["a"]),
        ChangeKind.FIELD_ADDED_OPTIONAL,
        "$.b",
        {F},
    ),
    "required field added": (
        BASE,
        obj({"a": STR, "b": STR}, ["a", "b"]),
        ChangeKind.FIELD_ADDED_REQUIRED,
        "$.b",
        {B, F},
    ),
    "optional field removed": (
        obj({"a": STR, "b": STR}, ["a"]),
        BASE,
        ChangeKind.FIELD_REMOVED,
        "$.b",
        {B},
    ),
    "required field removed": (
        obj({"a": STR, "b": STR}, ["a", "b"]),
        BASE,
        ChangeKind.FIELD_REMOVED,
        "$.b",
        {B, F},
    ),
    "optional made required": (
        obj({"a": STR}, []),
        BASE,
        ChangeKind.OPTIONAL_MADE_REQUIRED,
        "$.a",
        {B},
    ),
    "required made optional": (
        BASE,
        obj({"a": STR}, []),
        ChangeKind.REQUIRED_MADE_OPTIONAL,
        "$.a",
        {F},
    ),
    "integer widened to number": (
        obj({"n": {"type": "integer"}}, ["n"]),
        obj({"n": {"type": "number"}}, ["n"]),
        ChangeKind.TYPE_WIDENED,
        "$.n",
        {F},
    ),
    "number narrowed to integer": (
        obj({"n": {"type": "number"}}, ["n"]),
        obj({"n": {"type": "integer"}}, ["n"]),
        ChangeKind.TYPE_NARROWED,
        "$.n",
        {B},
    ),
    "string changed to integer": (
        obj({"n": {"type": "string"}}, ["n"]),
        obj({"n": {"type": "integer"}}, ["n"]),
        ChangeKind.TYPE_CHANGED,
        "$.n",
        {B, F},
    ),
    "nullable made non-null": (
        obj({"n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}),
        obj({"n": {"type": "integer"}}),
        ChangeKind.TYPE_NARROWED,
        "$.n",
        {B},
    ),
    "enum narrowed": (
        obj({"e": {"type": "string", "enum": ["x", "y"]}}, ["e"]),
        obj({"e": {"type": "string", "enum": ["x"]}}, ["e"]),
        ChangeKind.ENUM_NARROWED,
        "$.e",
        {B},
    ),
    "enum widened": (
        obj({"e": {"type": "string", "enum": ["x"]}}, ["e"]),
        obj({"e": {"type": "string", "enum": ["x", "y"]}}, ["e"]),
        ChangeKind.ENUM_WIDENED,
        "$.e",
        {F},
    ),
    "maxLength tightened": (
        BASE,
        obj({"a": {"type": "string", "maxLength": 5}}, ["a"]),
        ChangeKind.CONSTRAINT_TIGHTENED,
        "$.a",
        {B},
    ),
    "maxLength loosened": (
        BASE,
        obj({"a": {"type": "string", "maxLength": 50}}, ["a"]),
        ChangeKind.CONSTRAINT_LOOSENED,
        "$.a",
        {F},
    ),
    "minimum added": (
        obj({"n": {"type": "integer"}}, ["n"]),
        obj({"n": {"type": "integer", "minimum": 1}}, ["n"]),
        ChangeKind.CONSTRAINT_TIGHTENED,
        "$.n",
        {B},
    ),
    "maximum lowered": (
        obj({"n": {"type": "integer", "maximum": 5}}, ["n"]),
        obj({"n": {"type": "integer", "maximum": 4}}, ["n"]),
        ChangeKind.CONSTRAINT_TIGHTENED,
        "$.n",
        {B},
    ),
    "pattern added": (
        BASE,
        obj({"a": {**STR, "pattern": "^[a-z]+$"}}, ["a"]),
        ChangeKind.CONSTRAINT_TIGHTENED,
        "$.a",
        {B},
    ),
    "pattern changed": (
        obj({"a": {**STR, "pattern": "^[a-z]+$"}}, ["a"]),
        obj({"a": {**STR, "pattern": "^[a-z0-9]+$"}}, ["a"]),
        ChangeKind.PATTERN_CHANGED,
        "$.a",
        {B, F},
    ),
    "content model opened": (
        BASE,
        {**BASE, "additionalProperties": True},
        ChangeKind.CONTENT_MODEL_OPENED,
        "$",
        {F},
    ),
    "nested field removed": (
        obj({"inner": obj({"x": STR, "y": STR}, ["x"])}, ["inner"]),
        obj({"inner": obj({"x": STR}, ["x"])}, ["inner"]),
        ChangeKind.FIELD_REMOVED,
        "$.inner.y",
        {B},
    ),
    "array item enum narrowed": (
        obj({"l": {"type": "array", "items": {"type": "string", "enum": ["p", "q"]}}}),
        obj({"l": {"type": "array", "items": {"type": "string", "enum": ["p"]}}}),
        ChangeKind.ENUM_NARROWED,
        "$.l[]",
        {B},
    ),
    "enum narrowed behind a $ref": (
        {**obj({"s": {"$ref": "#/$defs/S"}}, ["s"]), "$defs": {"S": {"enum": ["a", "b"]}}},
        {**obj({"s": {"$ref": "#/$defs/S"}}, ["s"]), "$defs": {"S": {"enum": ["a"]}}},
        ChangeKind.ENUM_NARROWED,
        "$.s",
        {B},
    ),
}


@pytest.mark.parametrize("case", list(PAIRS))
def test_each_change_is_reported_by_path_kind_and_direction(case: str) -> None:
    old, new, kind, path, breaks = PAIRS[case]
    changes = diff_schemas(old, new)
    assert [(c.path, c.kind) for c in changes] == [(path, kind)]
    assert set(changes[0].breaks) == breaks


@pytest.mark.parametrize("case", list(PAIRS))
def test_modes_enforce_their_directions(case: str) -> None:
    old, new, _, _, breaks = PAIRS[case]
    for mode in Mode:
        expected = bool(breaks & set(mode.directions))
        assert bool(breaking_changes(old, new, mode)) == expected, mode
    assert breaking_changes(old, new, Mode.NONE) == []


def test_annotation_changes_are_not_changes() -> None:
    old = {**BASE, "title": "Old", "description": "x", "$id": "urn:a", "x-cx-contract": {}}
    new = {**BASE, "title": "New", "properties": {"a": {**STR, "description": "changed"}}}
    assert diff_schemas(old, new) == []
    assert normalize_schema({"$defs": {"A": STR}, "$ref": "#/$defs/A"}) == STR


def test_optional_field_with_closed_model_is_backward_not_forward() -> None:
    old, new, *_ = PAIRS["optional field added"]
    assert breaking_changes(old, new, Mode.BACKWARD) == []
    assert breaking_changes(old, new, Mode.FULL)
    # With an open old model, adding an optional field would be forward compatible.
    open_old = {**old, "additionalProperties": True}
    open_new = {**new, "additionalProperties": True}
    assert breaking_changes(open_old, open_new, Mode.FORWARD) == []


E_AB = obj({"e": {"type": "string", "enum": ["a", "b"]}}, ["e"])
E_A = obj({"e": {"type": "string", "enum": ["a"]}}, ["e"])
E_AC = obj({"e": {"type": "string", "enum": ["a", "c"]}}, ["e"])


def test_transitive_modes_compare_with_every_earlier_version() -> None:
    # 1.1.0 broke BACKWARD (released under NONE); 1.2.0 is fine against 1.1.0 only.
    released = {("e", "1.0.0"): E_AB, ("e", "1.1.0"): E_A}
    current = {**released, ("e", "1.2.0"): E_AC}
    assert check_released(released, current, Mode.BACKWARD) == []
    transitive = check_released(released, current, Mode.BACKWARD_TRANSITIVE)
    assert [(v.old_version, v.new_version, v.change.kind) for v in transitive] == [
        ("1.0.0", "1.2.0", ChangeKind.ENUM_NARROWED)
    ]
    assert {v.old_version for v in check_released(released, current, Mode.FORWARD)} == {"1.1.0"}
    forward_all = check_released(released, current, Mode.FORWARD_TRANSITIVE)
    assert {v.old_version for v in forward_all} == {"1.0.0", "1.1.0"}
    assert len(check_released(released, current, Mode.FULL_TRANSITIVE)) == 3
    assert check_released(released, current, Mode.NONE) == []


def test_versions_are_only_compared_within_a_major() -> None:
    history = [("2.0.0", E_A), ("1.0.0", E_AB), ("1.1.0", E_AC)]
    violations = check_history("e", history, Mode.BACKWARD_TRANSITIVE)
    assert [(v.old_version, v.new_version) for v in violations] == [("1.0.0", "1.1.0")]


def test_released_versions_are_immutable_and_cannot_disappear() -> None:
    released = {("e", "1.0.0"): E_AB, ("e", "1.1.0"): E_AB}
    current = {("e", "1.1.0"): E_AC}
    kinds = {(v.old_version, v.change.kind) for v in check_released(released, current)}
    assert ("1.0.0", ChangeKind.VERSION_REMOVED) in kinds
    assert ("1.1.0", ChangeKind.VERSION_MODIFIED) in kinds
    assert "enum-" in str(check_released(released, current)[-1])
