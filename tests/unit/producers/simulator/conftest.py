"""Shared simulations and a keyring for the simulator tests (all data synthetic)."""

from __future__ import annotations

import pytest

from broker.keyring import Keyring
from producers.simulator import Delivery, Simulation
from tests.support.keyrings import keyring_for

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
    return keyring_for(tmp_path_factory.mktemp("simulator") / "keyring")
