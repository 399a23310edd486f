"""The registry's indexes answer exactly what scanning its entries answers.

``versions``, ``majors``, ``latest`` and ``upcast`` read indexes built once; here each is
compared with a plain scan of the entries, on the real registry and on a synthetic one
with several names, majors and minors registered in shuffled order.
"""

from __future__ import annotations

import random
from typing import ClassVar

import pytest

from contracts.errors import UnknownEntry
from contracts.events import ContractModel
from contracts.registry import ContractEntry, ContractKind, Registry, load_registry


def _model(name: str, version: str) -> type[ContractModel]:
    class Model(ContractModel):
        contract_name: ClassVar[str] = name
        contract_version: ClassVar[str] = version
        a: int = 0

    Model.__name__ = f"{name}-{version}"
    return Model


_VERSIONS = {
    "alpha": ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.0.1", "3.1.0"],
    "beta": ["1.0.0"],
    "gamma-event": ["0.1.0", "1.0.0", "1.10.0", "1.9.0"],
}


def _synthetic() -> Registry:
    entries = [
        ContractEntry(_model(name, version), ContractKind.EVENT)
        for name, versions in _VERSIONS.items()
        for version in versions
    ]
    random.Random(3).shuffle(entries)
    return Registry(tuple(entries))


def _scan_latest(registry: Registry, name: str, major: int | None) -> ContractEntry | None:
    candidates = [
        e for e in registry.entries if e.name == name and (major is None or e.semver[0] == major)
    ]
    return max(candidates, key=lambda e: e.semver) if candidates else None


@pytest.mark.parametrize("registry", [load_registry(), _synthetic()], ids=["real", "synthetic"])
def test_indexes_agree_with_a_scan_of_the_entries(registry: Registry) -> None:
    names = [*registry.names(), "unknown", ""]
    for name in names:
        scanned = tuple(e for e in registry.entries if e.name == name)
        assert registry.versions(name) == scanned
        assert registry.majors(name) == frozenset(e.semver[0] for e in scanned)
        for major in [None, 0, 1, 2, 3, 4]:
            expected = _scan_latest(registry, name, major)
            if expected is None:
                with pytest.raises(UnknownEntry):
                    registry.latest(name, major)
            else:
                assert registry.latest(name, major) is expected


def test_upcast_goes_to_the_newest_minor_of_the_same_major() -> None:
    registry = _synthetic()
    for entry in registry.entries:
        instance = entry.model.model_validate({"a": 7})
        result = registry.upcast(instance)
        target = _scan_latest(registry, entry.name, entry.semver[0])
        assert target is not None
        assert type(result) is target.model
        assert result.model_dump() == {"a": 7}
        if target is entry:
            assert result is instance


def test_upcast_of_an_unregistered_contract_raises() -> None:
    with pytest.raises(UnknownEntry):
        _synthetic().upcast(_model("delta", "1.0.0")())
