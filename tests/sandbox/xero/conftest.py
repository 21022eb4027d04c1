"""Fixtures for the Xero sandbox's behaviour tests: a fresh sandbox per test on loopback, a
registered app, a connection to its first organisation and a raw Accounting client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from xero_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.xero.server import XeroConfig, XeroSandbox
from local.sandboxes.xero.testing import Tokens, XeroClient, XeroControl
from tests.sandbox.starting import sandbox_starter

SandboxFactory = Callable[..., XeroSandbox]


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    yield from sandbox_starter(lambda **overrides: XeroSandbox(config=XeroConfig(**overrides)))


@pytest.fixture
def sandbox(start_sandbox: SandboxFactory) -> XeroSandbox:
    return start_sandbox()


@pytest.fixture
def control(sandbox: XeroSandbox) -> Iterator[XeroControl]:
    with XeroControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


@pytest.fixture
def tokens(control: XeroControl) -> Tokens:
    return control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)


@pytest.fixture
def xero(sandbox: XeroSandbox, tokens: Tokens) -> Iterator[XeroClient]:
    client = XeroClient(sandbox.url, tokens.access_token, tokens.tenant_ids[0])
    yield client
    client.close()
