"""Fixtures for the contracts unit tests (synthetic data; no real person)."""

from __future__ import annotations

import pytest

from tests.support.contract_samples import Samples


@pytest.fixture
def samples() -> Samples:
    """Builders of valid sample events."""
    return Samples()
