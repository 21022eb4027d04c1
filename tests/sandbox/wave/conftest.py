"""Fixtures for the Wave sandbox's behaviour tests: a fresh sandbox per test on loopback, a
registered app, a connection to its first USD business and a raw GraphQL client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from wave_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USD_BUSINESS

from local.sandboxes.wave.server import WaveConfig, WaveSandbox
from local.sandboxes.wave.testing import Tokens, WaveClient, WaveControl
from tests.sandbox.starting import sandbox_starter

SandboxFactory = Callable[..., WaveSandbox]


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    yield from sandbox_starter(lambda **overrides: WaveSandbox(config=WaveConfig(**overrides)))


@pytest.fixture
def sandbox(start_sandbox: SandboxFactory) -> WaveSandbox:
    return start_sandbox()


@pytest.fixture
def control(sandbox: WaveSandbox) -> Iterator[WaveControl]:
    with WaveControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


@pytest.fixture
def business_id(control: WaveControl) -> str:
    return control.business_id(USD_BUSINESS)


@pytest.fixture
def tokens(control: WaveControl, business_id: str) -> Tokens:
    return control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, business_id)


@pytest.fixture
def wave(sandbox: WaveSandbox, tokens: Tokens) -> Iterator[WaveClient]:
    client = WaveClient(sandbox.url, tokens.access_token)
    yield client
    client.close()
