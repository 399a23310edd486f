"""Where the checkout is, for tests that read the project's own files (README, compose)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["REPO"]

#: The root of the source checkout.
REPO = Path(__file__).resolve().parents[2]
