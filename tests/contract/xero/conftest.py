"""Fixtures for the Xero contract tests: Xero's OpenAPI documents from the repository's specs/xero."""

from __future__ import annotations

import pytest
from xero_spec import XeroSpec

from tests.specs import SPECS_DIR


@pytest.fixture(scope="session")
def accounting() -> XeroSpec:
    return XeroSpec(SPECS_DIR / "xero" / "xero_accounting.yaml")


@pytest.fixture(scope="session")
def identity() -> XeroSpec:
    return XeroSpec(SPECS_DIR / "xero" / "xero-identity.yaml")


@pytest.fixture(scope="session")
def webhooks() -> XeroSpec:
    return XeroSpec(SPECS_DIR / "xero" / "xero-webhooks.yaml")
