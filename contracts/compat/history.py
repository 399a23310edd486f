"""Checking whole version histories: one contract's versions in registration order, and
the current registry against the released schemas.

Versions are only compared within one major version: a new major is a new contract. A
released version is immutable: removing or changing it is a violation in every mode but
``NONE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contracts.compat.changes import BREAKS_BOTH, Change, ChangeKind, Violation
from contracts.compat.diff import breaking_changes, diff_schemas
from contracts.compat.modes import Mode
from contracts.compat.normalize import Schema

__all__ = ["check_history", "check_released"]


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
                change = Change(
                    "$", ChangeKind.VERSION_REMOVED, "no longer registered", BREAKS_BOTH
                )
                violations.append(Violation(name, version, version, change))
                continue
            for diff in diff_schemas(schema, now):
                change = Change(diff.path, ChangeKind.VERSION_MODIFIED, str(diff.kind), BREAKS_BOTH)
                violations.append(Violation(name, version, version, change))
        new_versions = [v for (other, v) in current if other == name and v not in versions]
        for version in new_versions:
            versions[version] = current[(name, version)]
        violations.extend(check_history(name, versions.items(), mode, only=new_versions))
    return violations
