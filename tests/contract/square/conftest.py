"""Fixtures for the Square contract tests: api.json, or a skip that says where it goes."""

from __future__ import annotations

import pytest
from square_spec import SquareSpec, specs_dir


@pytest.fixture(scope="session")
def spec() -> SquareSpec:
    path = specs_dir() / "square" / "api.json"
    if not path.is_file():
        pytest.skip(
            f"Square's OpenAPI document is not at {path}; set BOOKSYNC_SPECS_DIR to the folder that holds square/"
        )
    return SquareSpec(path)
