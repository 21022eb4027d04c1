"""Fixtures for the QuickBooks contract tests: Intuit's XSDs from the repository's specs/quickbooks."""

from __future__ import annotations

import pytest
from qbo_xsd import XsdModel

from tests.specs import SPECS_DIR


@pytest.fixture(scope="session")
def xsd() -> XsdModel:
    return XsdModel(SPECS_DIR / "quickbooks")
