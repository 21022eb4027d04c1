"""Fixtures for the Square contract tests: api.json from the repository's specs/square."""

from __future__ import annotations

import pytest
from square_spec import SquareSpec

from tests.specs import SPECS_DIR


@pytest.fixture(scope="session")
def spec() -> SquareSpec:
    return SquareSpec(SPECS_DIR / "square" / "api.json")
