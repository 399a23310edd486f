"""Shared simulations and a keyring for the simulator tests (all data synthetic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.keyring import Keyring
from contracts.catalog import load_catalog
from producers.simulator import Delivery, Simulation

#: Large enough for every life experience, agency, outcome and status to occur.
JOURNEYS = 400
SEED = 11


@pytest.fixture(scope="session")
def deliveries() -> list[Delivery]:
    """Every delivery of one simulation, in delivery order."""
    return list(Simulation(JOURNEYS, SEED).deliveries())


@pytest.fixture(scope="session")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    """A keyring with a signing key per agency and a linkage key per life experience."""
    catalog = load_catalog()
    ring = Keyring(Path(tmp_path_factory.mktemp("simulator")) / "keyring")
    ring.init([a.id for a in catalog.agencies], [le.id for le in catalog.life_experiences])
    return ring
