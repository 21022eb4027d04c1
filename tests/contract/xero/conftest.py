"""Fixtures for the Xero contract tests: Xero's OpenAPI documents from the repository's specs/xero
(read once per process, as the sandbox's own check reads them)."""

from __future__ import annotations

import pytest

from local.sandboxes.xero.spec import SPECS_DIR, XeroSpec, accounting_spec, identity_spec, webhooks_spec
from tests.specs import SPECS_DIR as REPOSITORY_SPECS


@pytest.fixture(scope="session")
def accounting() -> XeroSpec:
    assert SPECS_DIR == REPOSITORY_SPECS / "xero"
    return accounting_spec()


@pytest.fixture(scope="session")
def identity() -> XeroSpec:
    return identity_spec()


@pytest.fixture(scope="session")
def webhooks() -> XeroSpec:
    return webhooks_spec()
