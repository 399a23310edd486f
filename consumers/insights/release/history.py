"""The releases a week has had: kept by the insights service, read back by every audit.

A correction is audited against *every* earlier release of its week, and an audit needs
each earlier release's published cells (what the attacker has) and true values (which of
its targets are small). The topic holds only the first; so each release is recorded here
**before** it is published (write-ahead, atomically, in the service's state directory):
a crash after the record and before the manifest re-sends the recorded cells on restart,
never a recomputed, unaudited variant. The records hold counts and sums of a week, never a
journey; the state directory is the service's own (mode 0600 files).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.files import write_atomic
from consumers.insights.aggregate.model import CellKey, InsightMetric
from consumers.insights.audit import HIDDEN, SUPPRESSED, Marker, Release
from consumers.insights.release.table import GroupKey, PartKey, week_shape
from contracts.catalog import LifeExperience
from contracts.insights import InsightCell, InsightRelease

__all__ = ["History", "PastRelease", "decode_key", "encode_key"]

_FORMAT = 1


def encode_key(key: object) -> str:
    """A cell key as a JSON string (stable across runs)."""
    if isinstance(key, CellKey):
        return json.dumps(["c", key.period, key.agency, key.stage, key.metric.value, key.to_agency])
    if isinstance(key, PartKey):
        return json.dumps(["p", key.part, json.loads(encode_key(key.cell))])
    if isinstance(key, GroupKey):
        return json.dumps(["g", *key])
    raise TypeError(f"not a release key: {key!r}")


def decode_key(text: str) -> object:
    """The inverse of :func:`encode_key`."""
    return _decode(json.loads(text))


def _decode(raw: list[Any]) -> object:
    if raw[0] == "c":
        return CellKey(raw[1], raw[2], raw[3], InsightMetric(raw[4]), raw[5])
    if raw[0] == "p":
        cell = _decode(raw[2])
        assert isinstance(cell, CellKey)
        return PartKey(raw[1], cell)
    return GroupKey(*raw[1:])


@dataclass(frozen=True)
class PastRelease:
    """One recorded release of a week: what was published and what was true."""

    manifest: InsightRelease
    cells: dict[object, float | Marker]
    truth: dict[object, float]
    published: list[InsightCell]

    def release(self, life_experience: LifeExperience) -> Release:
        """The release as the audit's attacker sees it (relations rebuilt from the week)."""
        shape = week_shape(self.manifest.period, life_experience, final=self.manifest.final)
        return Release(
            self.manifest.release,
            self.manifest.period,
            self.manifest.version,
            self.cells,
            shape.relations,
            dict(shape.kinds),
            frozenset(),
            dict(shape.means),
        )

    def to_json(self) -> dict[str, Any]:
        cells = {
            encode_key(k): ("S" if v is SUPPRESSED else "H" if v is HIDDEN else v)
            for k, v in self.cells.items()
        }
        return {
            "manifest": self.manifest.model_dump(mode="json"),
            "cells": cells,
            "truth": {encode_key(k): v for k, v in self.truth.items()},
            "published": [c.model_dump(mode="json") for c in self.published],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PastRelease:
        markers = {"S": SUPPRESSED, "H": HIDDEN}
        return cls(
            InsightRelease.model_validate(data["manifest"]),
            {
                decode_key(k): markers[v] if isinstance(v, str) else float(v)
                for k, v in data["cells"].items()
            },
            {decode_key(k): float(v) for k, v in data["truth"].items()},
            [InsightCell.model_validate(c) for c in data["published"]],
        )


class History:
    """Recorded releases per (life experience, week), one JSON file per week."""

    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, life_experience: str, week: str) -> Path:
        return self.directory / life_experience / f"{week}.json"

    def releases(self, life_experience: str, week: str) -> list[PastRelease]:
        """The week's releases, oldest first (none recorded: empty)."""
        path = self._path(life_experience, week)
        if not path.exists():
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            raise ValueError(f"{path} is not an insights history of format {_FORMAT}")
        return [PastRelease.from_json(item) for item in data["releases"]]

    def record(self, life_experience: str, week: str, release: PastRelease) -> None:
        """Append ``release`` to the week's record (atomically; before publishing)."""
        path = self._path(life_experience, week)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        releases = [r.to_json() for r in self.releases(life_experience, week)]
        releases.append(release.to_json())
        data = json.dumps({"format": _FORMAT, "releases": releases}, sort_keys=True)
        write_atomic(path, data.encode())
