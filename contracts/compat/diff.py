"""The schema-diff rules: every difference between two schemas that can change which
documents they accept, each with a JSON path, a kind and the directions it breaks.

Because every contract model is closed (``additionalProperties: false``), adding an
optional field breaks FORWARD (old readers reject the unknown field) but not BACKWARD,
and removing a field breaks BACKWARD (new readers reject it in old data).

The rules are deliberately conservative: a change they cannot prove safe (a changed
pattern, a changed union) is reported as breaking in both directions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from contracts.compat.changes import (
    BREAKS_BACKWARD,
    BREAKS_BOTH,
    BREAKS_FORWARD,
    Change,
    ChangeKind,
)
from contracts.compat.modes import Direction, Mode
from contracts.compat.normalize import Schema, normalize_schema, types_of

__all__ = ["breaking_changes", "diff_schemas"]

_LOWER_BOUNDS: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


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
                self.add(path, ChangeKind.UNION_CHANGED, "union branches differ", BREAKS_BOTH)
            return
        old_types, new_types = types_of(old), types_of(new)
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
            self.add(path, ChangeKind.TYPE_CHANGED, f"{sorted(old)} -> {sorted(new)}", BREAKS_BOTH)
        elif lost:
            self.add(
                path, ChangeKind.TYPE_NARROWED, f"no longer {', '.join(lost)}", BREAKS_BACKWARD
            )
        elif gained:
            self.add(path, ChangeKind.TYPE_WIDENED, f"now also {', '.join(gained)}", BREAKS_FORWARD)

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
            self.add(path, ChangeKind.ENUM_NARROWED, "now restricted to an enum", BREAKS_BACKWARD)
            return
        if new_values is None:
            self.add(path, ChangeKind.ENUM_WIDENED, "enum restriction removed", BREAKS_FORWARD)
            return
        removed = [v for v in old_values if v not in new_values]
        added = [v for v in new_values if v not in old_values]
        if removed:
            self.add(path, ChangeKind.ENUM_NARROWED, f"removed {removed}", BREAKS_BACKWARD)
        if added:
            self.add(path, ChangeKind.ENUM_WIDENED, f"added {added}", BREAKS_FORWARD)

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
                self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, detail, BREAKS_BACKWARD)
            else:
                self.add(path, ChangeKind.CONSTRAINT_LOOSENED, detail, BREAKS_FORWARD)
        before, after = old.get("multipleOf"), new.get("multipleOf")
        if before != after:
            self.add(
                path,
                ChangeKind.CONSTRAINT_TIGHTENED,
                f"multipleOf {before} -> {after}",
                BREAKS_BOTH,
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
            self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, f"{keyword} added", BREAKS_BACKWARD)
        elif after is None:
            self.add(path, ChangeKind.CONSTRAINT_LOOSENED, f"{keyword} removed", BREAKS_FORWARD)
        else:
            # Whether one regex accepts a subset of another is undecidable in general.
            self.add(path, kind, f"{keyword} {before!r} -> {after!r}", BREAKS_BOTH)

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
                    child,
                    ChangeKind.OPTIONAL_MADE_REQUIRED,
                    "old data may lack it",
                    BREAKS_BACKWARD,
                )
            if name in old_required and name not in new_required:
                self.add(
                    child, ChangeKind.REQUIRED_MADE_OPTIONAL, "new data may lack it", BREAKS_FORWARD
                )
            self.node(child, old_props[name], new_props[name])
        for name in sorted(new_required - set(new_props) - old_required):
            self.add(
                _child(path, name), ChangeKind.FIELD_ADDED_REQUIRED, "required", BREAKS_BACKWARD
            )
        if old_closed and not new_closed:
            self.add(
                path, ChangeKind.CONTENT_MODEL_OPENED, "accepts unknown fields", BREAKS_FORWARD
            )
        elif new_closed and not old_closed:
            self.add(
                path, ChangeKind.CONTENT_MODEL_CLOSED, "rejects unknown fields", BREAKS_BACKWARD
            )
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.node(f"{path}.*", old_extra, new_extra)

    def array(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
            self.node(f"{path}[]", old_items, new_items)
        elif old_items != new_items:
            self.add(f"{path}[]", ChangeKind.TYPE_CHANGED, "items changed", BREAKS_BOTH)
        old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
        for index, (before, after) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.node(f"{path}[{index}]", before, after)
        if len(old_prefix) != len(new_prefix):
            self.add(path, ChangeKind.TYPE_CHANGED, "tuple length changed", BREAKS_BOTH)


def diff_schemas(old: Schema, new: Schema) -> list[Change]:
    """Every difference between ``old`` and ``new`` that changes what they accept."""
    differ = _Differ()
    differ.node("$", normalize_schema(old), normalize_schema(new))
    return differ.changes


def breaking_changes(old: Schema, new: Schema, mode: Mode) -> list[Change]:
    """Changes from ``old`` to ``new`` that break ``mode``'s directions."""
    directions = mode.directions
    return [change for change in diff_schemas(old, new) if change.breaks & directions]
