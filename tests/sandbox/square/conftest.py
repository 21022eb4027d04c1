"""Fixtures for the Square sandbox's behaviour tests: a fresh sandbox per test on loopback, a
registered app and seller, a connected client and a webhook receiver (no booksync code)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from square_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SIGNATURE_KEY, Receiver

from local.sandboxes.square.server import SquareConfig, SquareSandbox
from local.sandboxes.square.testing import Connection, SquareClient, SquareControl, connect
from tests.sandbox.starting import sandbox_starter

SandboxFactory = Callable[..., SquareSandbox]


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    yield from sandbox_starter(lambda **overrides: SquareSandbox(config=SquareConfig(**overrides)))


@pytest.fixture
def sandbox(start_sandbox: SandboxFactory) -> SquareSandbox:
    return start_sandbox()


@pytest.fixture
def control(sandbox: SquareSandbox) -> Iterator[SquareControl]:
    with SquareControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


@pytest.fixture
def merchant(control: SquareControl) -> dict[str, Any]:
    return control.add_merchant("Corner Shop", ["Main", "Annex"])


@pytest.fixture
def connection(sandbox: SquareSandbox, merchant: dict[str, Any]) -> Connection:
    return connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])


@pytest.fixture
def square(sandbox: SquareSandbox, connection: Connection) -> Iterator[SquareClient]:
    client = SquareClient(sandbox.url, connection.access_token)
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def subscribed(control: SquareControl, receiver: Receiver) -> Receiver:
    control.subscribe(receiver.url, SIGNATURE_KEY)
    return receiver
