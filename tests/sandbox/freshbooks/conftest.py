"""Fixtures for the FreshBooks sandbox's behaviour tests: a fresh sandbox per test on loopback, a
registered app, a connection (the code flow) and a raw accounting client for the user's first
business."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from freshbooks_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.freshbooks.server import FreshBooksConfig, FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksClient, FreshBooksControl, Tokens
from tests.sandbox.starting import sandbox_starter

SandboxFactory = Callable[..., FreshBooksSandbox]


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    yield from sandbox_starter(lambda **overrides: FreshBooksSandbox(config=FreshBooksConfig(**overrides)))


@pytest.fixture
def sandbox(start_sandbox: SandboxFactory) -> FreshBooksSandbox:
    return start_sandbox()


@pytest.fixture
def control(sandbox: FreshBooksSandbox) -> Iterator[FreshBooksControl]:
    with FreshBooksControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


@pytest.fixture
def tokens(control: FreshBooksControl) -> Tokens:
    return control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)


@pytest.fixture
def account_id(control: FreshBooksControl) -> str:
    return str(control.businesses()[0]["account_id"])


@pytest.fixture
def fb(sandbox: FreshBooksSandbox, tokens: Tokens, account_id: str) -> Iterator[FreshBooksClient]:
    client = FreshBooksClient(sandbox.url, tokens.access_token, account_id)
    yield client
    client.close()
