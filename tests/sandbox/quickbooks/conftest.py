"""Fixtures for the QuickBooks sandbox's behaviour tests: a fresh sandbox per test on loopback,
a connected company, and raw HTTP clients (no booksync code: these tests pin Intuit's wire)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qbo_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SandboxFactory, make_config

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.quickbooks.testing import Connection, QBOClient, connect
from tests.sandbox.starting import sandbox_starter


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes with config overrides; every one is stopped after the test."""
    yield from sandbox_starter(
        lambda **overrides: QuickBooksSandbox(host="127.0.0.1", port=0, config=make_config(**overrides))
    )


@pytest.fixture
def sandbox(start_sandbox: SandboxFactory) -> QuickBooksSandbox:
    return start_sandbox()


@pytest.fixture
def control(sandbox: QuickBooksSandbox) -> Iterator[SandboxControl]:
    with SandboxControl(sandbox.url) as ctl:
        yield ctl


@pytest.fixture
def connection(sandbox: QuickBooksSandbox) -> Connection:
    return connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)


@pytest.fixture
def qbo(sandbox: QuickBooksSandbox, connection: Connection) -> Iterator[QBOClient]:
    client = QBOClient(sandbox.url, connection)
    yield client
    client.close()
