"""Compatibility of contract versions, judged on their JSON Schemas (closed content models).

Terms follow the Confluent Schema Registry:

* ``BACKWARD``: the new schema can read data written with the old one (upgrade readers
  first); ``FORWARD``: the old schema can read data written with the new one (upgrade
  writers first); ``FULL``: both.
* The plain modes compare each version with the one before it; the ``_TRANSITIVE``
  modes with every earlier version. ``NONE`` checks nothing.
* Versions are only compared within one major version: a new major is a new contract.

:func:`diff_schemas` lists every difference between two schemas that can change which
documents they accept, each with a JSON path, a kind and the directions it breaks.
Because every contract model is closed (``additionalProperties: false``), adding an
optional field breaks FORWARD (old readers reject the unknown field) but not BACKWARD,
and removing a field breaks BACKWARD (new readers reject it in old data).

The checker is deliberately conservative: a change it cannot prove safe (a changed
pattern, a changed union) is reported as breaking in both directions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "Change",
    "ChangeKind",
    "Direction",
    "Mode",
    "Violation",
    "breaking_changes",
    "check_history",
    "check_released",
    "diff_schemas",
    "normalize_schema",
]

Schema = Mapping[str, Any]


class Direction(StrEnum):
    """Which way a change breaks: new reading old (BACKWARD) or old reading new (FORWARD)."""

    BACKWARD = "backward"
    FORWARD = "forward"


class Mode(StrEnum):
    """Compatibility modes (Confluent Schema Registry names)."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def directions(self) -> frozenset[Direction]:
        """Directions this mode enforces."""
        if self is Mode.NONE:
            return frozenset()
        if self.value.startswith("BACKWARD"):
            return frozenset({Direction.BACKWARD})
        if self.value.startswith("FORWARD"):
            return frozenset({Direction.FORWARD})
        return frozenset(Direction)

    @property
    def transitive(self) -> bool:
        """True when every earlier version is checked, not only the previous one."""
        return self.value.endswith("_TRANSITIVE")


class ChangeKind(StrEnum):
    """What changed between two schemas."""

    FIELD_REMOVED = "field-removed"
    FIELD_ADDED_REQUIRED = "field-added-required"
    FIELD_ADDED_OPTIONAL = "field-added-optional"
    OPTIONAL_MADE_REQUIRED = "optional-made-required"
    REQUIRED_MADE_OPTIONAL = "required-made-optional"
    TYPE_CHANGED = "type-changed"
    TYPE_NARROWED = "type-narrowed"
    TYPE_WIDENED = "type-widened"
    ENUM_NARROWED = "enum-narrowed"
    ENUM_WIDENED = "enum-widened"
    CONSTRAINT_TIGHTENED = "constraint-tightened"
    CONSTRAINT_LOOSENED = "constraint-loosened"
    PATTERN_CHANGED = "pattern-changed"
    FORMAT_CHANGED = "format-changed"
    CONTENT_MODEL_OPENED = "content-model-opened"
    CONTENT_MODEL_CLOSED = "content-model-closed"
    UNION_CHANGED = "union-changed"
    VERSION_REMOVED = "released-version-removed"
    VERSION_MODIFIED = "released-version-modified"


_BACKWARD: Final = frozenset({Direction.BACKWARD})
_FORWARD: Final = frozenset({Direction.FORWARD})
_BOTH: Final = frozenset(Direction)


@dataclass(frozen=True)
class Change:
    """One difference between an old and a new schema."""

    path: str
    kind: ChangeKind
    detail: str
    breaks: frozenset[Direction]

    def __str__(self) -> str:
        return f"{self.path}: {self.kind.value} ({self.detail})"


@dataclass(frozen=True)
class Violation:
    """A breaking change of contract ``name`` from ``old_version`` to ``new_version``."""

    name: str
    old_version: str
    new_version: str
    change: Change

    def __str__(self) -> str:
        return f"{self.name} {self.old_version} -> {self.new_version}: {self.change}"


# Keywords that document a schema without changing what it accepts.
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "$schema", "$id"}
)
_LOWER_BOUNDS: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
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


def _types_of(node: Mapping[str, Any]) -> frozenset[str]:
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
    types = _types_of(others[0])
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


def _accepts(reader: frozenset[str], json_type: str) -> bool:
    return json_type in reader or (json_type == "integer" and "number" in reader)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}"


class _Differ:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, path: str, kind: ChangeKind, detail: str, breaks: frozenset[Direction]) -> None:
        self.changes.append(Change(path, kind, detail, breaks))

    def node(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if "anyOf" in old or "anyOf" in new or "oneOf" in old or "oneOf" in new:
            if old != new:
                self.add(path, ChangeKind.UNION_CHANGED, "union branches differ", _BOTH)
            return
        old_types, new_types = _types_of(old), _types_of(new)
        self.types(path, old_types, new_types)
        self.enum(path, old, new)
        self.bounds(path, old, new)
        for keyword, kind in (
            ("pattern", ChangeKind.PATTERN_CHANGED),
            ("format", ChangeKind.FORMAT_CHANGED),
        ):
            self.exact_keyword(path, keyword, kind, old, new)
        if "object" in old_types and "object" in new_types:
            self.object(path, old, new)
        if "array" in old_types and "array" in new_types:
            self.array(path, old, new)

    def types(self, path: str, old: frozenset[str], new: frozenset[str]) -> None:
        lost = sorted(t for t in old if not _accepts(new, t))
        gained = sorted(t for t in new if not _accepts(old, t))
        if lost and gained:
            self.add(path, ChangeKind.TYPE_CHANGED, f"{sorted(old)} -> {sorted(new)}", _BOTH)
        elif lost:
            self.add(path, ChangeKind.TYPE_NARROWED, f"no longer {', '.join(lost)}", _BACKWARD)
        elif gained:
            self.add(path, ChangeKind.TYPE_WIDENED, f"now also {', '.join(gained)}", _FORWARD)

    def enum(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        def values(node: Mapping[str, Any]) -> list[Any] | None:
            if "const" in node:
                return [node["const"]]
            enum = node.get("enum")
            return list(enum) if isinstance(enum, list) else None

        old_values, new_values = values(old), values(new)
        if old_values is None and new_values is None:
            return
        if old_values is None:
            self.add(path, ChangeKind.ENUM_NARROWED, "now restricted to an enum", _BACKWARD)
            return
        if new_values is None:
            self.add(path, ChangeKind.ENUM_WIDENED, "enum restriction removed", _FORWARD)
            return
        removed = [v for v in old_values if v not in new_values]
        added = [v for v in new_values if v not in old_values]
        if removed:
            self.add(path, ChangeKind.ENUM_NARROWED, f"removed {removed}", _BACKWARD)
        if added:
            self.add(path, ChangeKind.ENUM_WIDENED, f"added {added}", _FORWARD)

    def bounds(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for keyword in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            lower = keyword in _LOWER_BOUNDS
            detail = f"{keyword} {before} -> {after}"
            if before is None or (
                after is not None and (after > before if lower else after < before)
            ):
                self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, detail, _BACKWARD)
            else:
                self.add(path, ChangeKind.CONSTRAINT_LOOSENED, detail, _FORWARD)
        before, after = old.get("multipleOf"), new.get("multipleOf")
        if before != after:
            self.add(
                path, ChangeKind.CONSTRAINT_TIGHTENED, f"multipleOf {before} -> {after}", _BOTH
            )

    def exact_keyword(
        self,
        path: str,
        keyword: str,
        kind: ChangeKind,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
    ) -> None:
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            return
        if before is None:
            self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, f"{keyword} added", _BACKWARD)
        elif after is None:
            self.add(path, ChangeKind.CONSTRAINT_LOOSENED, f"{keyword} removed", _FORWARD)
        else:
            # Whether one regex accepts a subset of another is undecidable in general.
            self.add(path, kind, f"{keyword} {before!r} -> {after!r}", _BOTH)

    def object(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        old_closed = old.get("additionalProperties", True) is False
        new_closed = new.get("additionalProperties", True) is False
        for name in old_props:
            if name in new_props:
                continue
            breaks = set()
            if new_closed:
                breaks.add(Direction.BACKWARD)  # old data may hold it; new rejects it
            if name in old_required:
                breaks.add(Direction.FORWARD)  # new data lacks it; old requires it
            required = "required" if name in old_required else "optional"
            self.add(
                _child(path, name), ChangeKind.FIELD_REMOVED, f"{required} field", frozenset(breaks)
            )
        for name in new_props:
            if name in old_props:
                continue
            if name in new_required:
                breaks = {Direction.BACKWARD} | ({Direction.FORWARD} if old_closed else set())
                kind, detail = ChangeKind.FIELD_ADDED_REQUIRED, "old data lacks it"
            else:
                breaks = {Direction.FORWARD} if old_closed else set()
                kind, detail = ChangeKind.FIELD_ADDED_OPTIONAL, "closed old schema rejects it"
            self.add(_child(path, name), kind, detail, frozenset(breaks))
        for name in old_props:
            if name not in new_props:
                continue
            child = _child(path, name)
            if name in new_required and name not in old_required:
                self.add(
                    child, ChangeKind.OPTIONAL_MADE_REQUIRED, "old data may lack it", _BACKWARD
                )
            if name in old_required and name not in new_required:
                self.add(child, ChangeKind.REQUIRED_MADE_OPTIONAL, "new data may lack it", _FORWARD)
            self.node(child, old_props[name], new_props[name])
        for name in sorted(new_required - set(new_props) - old_required):
            self.add(_child(path, name), ChangeKind.FIELD_ADDED_REQUIRED, "required", _BACKWARD)
        if old_closed and not new_closed:
            self.add(path, ChangeKind.CONTENT_MODEL_OPENED, "accepts unknown fields", _FORWARD)
        elif new_closed and not old_closed:
            self.add(path, ChangeKind.CONTENT_MODEL_CLOSED, "rejects unknown fields", _BACKWARD)
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.node(f"{path}.*", old_extra, new_extra)

    def array(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
            self.node(f"{path}[]", old_items, new_items)
        elif old_items != new_items:
            self.add(f"{path}[]", ChangeKind.TYPE_CHANGED, "items changed", _BOTH)
        old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
        for index, (before, after) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.node(f"{path}[{index}]", before, after)
        if len(old_prefix) != len(new_prefix):
            self.add(path, ChangeKind.TYPE_CHANGED, "tuple length changed", _BOTH)


def diff_schemas(old: Schema, new: Schema) -> list[Change]:
    """Every difference between ``old`` and ``new`` that changes what they accept."""
    differ = _Differ()
    differ.node("$", normalize_schema(old), normalize_schema(new))
    return differ.changes


def breaking_changes(old: Schema, new: Schema, mode: Mode) -> list[Change]:
    """Changes from ``old`` to ``new`` that break ``mode``'s directions."""
    directions = mode.directions
    return [change for change in diff_schemas(old, new) if change.breaks & directions]


def _semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def check_history(
    name: str,
    versions: Iterable[tuple[str, Schema]],
    mode: Mode,
    *,
    only: Iterable[str] | None = None,
) -> list[Violation]:
    """Check versions of contract ``name`` against ``mode``, as if registered in order.

    Each checked version (all, or those in ``only``) is compared with the version before
    it (plain modes) or with every earlier version (transitive modes) of the same major.
    """
    ordered = sorted(versions, key=lambda pair: _semver(pair[0]))
    checked = None if only is None else set(only)
    violations: list[Violation] = []
    for index, (new_version, new_schema) in enumerate(ordered):
        if checked is not None and new_version not in checked:
            continue
        major = _semver(new_version)[0]
        earlier = [pair for pair in ordered[:index] if _semver(pair[0])[0] == major]
        if not mode.transitive:
            earlier = earlier[-1:]
        for old_version, old_schema in earlier:
            for change in breaking_changes(old_schema, new_schema, mode):
                violations.append(Violation(name, old_version, new_version, change))
    return violations


def check_released(
    released: Mapping[tuple[str, str], Schema],
    current: Mapping[tuple[str, str], Schema],
    mode: Mode = Mode.BACKWARD_TRANSITIVE,
) -> list[Violation]:
    """Check the current contract versions against released ones.

    Released versions must all still exist, unchanged (a released version is immutable).
    Each version not released yet must be compatible under ``mode`` with the version
    before it (or, transitive, with every earlier version) in the same major; released
    versions were checked when they were released.
    """
    if mode is Mode.NONE:
        return []
    violations: list[Violation] = []
    names = sorted({name for name, _ in released} | {name for name, _ in current})
    for name in names:
        versions: dict[str, Schema] = {}
        for (other, version), schema in released.items():
            if other != name:
                continue
            versions[version] = schema
            now = current.get((name, version))
            if now is None:
                change = Change("$", ChangeKind.VERSION_REMOVED, "no longer registered", _BOTH)
                violations.append(Violation(name, version, version, change))
                continue
            for diff in diff_schemas(schema, now):
                change = Change(diff.path, ChangeKind.VERSION_MODIFIED, str(diff.kind), _BOTH)
                violations.append(Violation(name, version, version, change))
        new_versions = [v for (other, v) in current if other == name and v not in versions]
        for version in new_versions:
            versions[version] = current[(name, version)]
        violations.extend(check_history(name, versions.items(), mode, only=new_versions))
    return violations
