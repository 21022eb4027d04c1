"""Fifty workers on an expired Wave token: one token call at the Wave sandbox (whose refresh rotates
the refresh token, the spent one then refused), no invalid_grant, every worker with the one new
token; and fifty workers whose calls Wave refuses (UNAUTHENTICATED at HTTP 200, the row still
thinking the token fresh) refresh once between them through the adapter's client, each call
answered on its one retry.

Each worker is its own ``ConnectionTokenSource`` (its own lease owner, as separate Lambda
instances are) over the real connection row in DynamoDB (moto server), the real KMS vault and
booksync's WaveOAuth against the sandbox's token endpoint (tests/reliability/test_token_stampede.py
holds the same for QuickBooks and Xero)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from booksync.providers.wave.client import WaveClient
from booksync.providers.wave.oauth import WaveOAuth
from booksync.providers.wave.operations import BUSINESS
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.settings import WaveSettings
from booksync.store.connections import ConnectionRepository, TokenTimes

from local.sandboxes.wave.config import WaveConfig
from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import WaveClient as AppClient
from local.sandboxes.wave.testing import WaveControl, redirect_params
from tests.lambda_env import wave_environment
from tests.reliability import test_token_stampede as stampede
from tests.reliability.conftest import CLIENT_ID, CLIENT_SECRET, COMPANY
from tests.reliability.test_token_stampede import (
    WORKERS,
    World,
    all_at_once,
    stored_access_token,
    token_source,
)

pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("reliability")]

REDIRECT = "https://api.example.com/oauth/wave/callback"


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str) -> Iterator[World]:
    """A company connected to one Wave business through booksync's WaveOAuth (consent, code
    exchange, businesses), its tokens sealed on its connection row."""
    # Wave's two calls in flight are not what these tests are about (fifty workers would meet them).
    with (
        WaveSandbox(config=WaveConfig(concurrent_limit=1_000)) as sandbox,
        WaveControl(sandbox.url) as control,
    ):
        control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        settings = WaveSettings.from_env(wave_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET))

        def oauth() -> WaveOAuth:
            return WaveOAuth.from_settings(settings)

        url = oauth().authorization_url(state="s1", redirect_uri=REDIRECT)
        code = redirect_params(control.consent_at(url, control.business_id("Maple Design Studio")))["code"]
        tokens = oauth().exchange_code(code=code, redirect_uri=REDIRECT)
        [business] = oauth().list_organisations(tokens)
        repo = ConnectionRepository()
        connection_id = repo.new_connection_id()
        repo.store_connection(
            company_id=COMPANY,
            provider="wave",
            connection_id=connection_id,
            account_id=business.id,
            account_ids=business.ids,
            sealed=KmsTokenVault(kms_key).seal(
                PlainTokens(tokens.access_token, tokens.refresh_token),
                TokenContext(COMPANY, "wave", connection_id),
            ),
            times=TokenTimes(access_expires_at=tokens.access_expires_at.timestamp(), refresh_expires_at=None),
            has_refresh_token=True,
            connected_by="admin",
            now=time.time(),
            refresh_every=86_400,
        )
        calls = int(control.call("GET", "/tokens")["token_calls"])  # the code exchange's

        def answered(token: str) -> bool:
            client = AppClient(sandbox.url, token)
            try:
                return "errors" not in client.gql("query { user { id } }")
            finally:
                client.close()

        yield World(
            provider="wave",
            key_id=kms_key,
            oauth=oauth,
            refreshes=lambda: int(control.call("GET", "/tokens")["token_calls"]) - calls,
            refused=lambda: 0,  # a refused refresh raises in its worker: the errors show it
            expire=lambda: control.expire_tokens(business.id) and None,
            answered=answered,
            call_through_client=lambda source: WaveClient(
                api_url=settings.graphql_url, business_id=business.id, tokens=source
            ).business(BUSINESS),
            api_calls=lambda: control.requests(business.id),
        )


def test_fifty_workers_on_an_expired_wave_token_make_one_token_call(world: World) -> None:
    """QuickBooks' and Xero's stampede (test_token_stampede), with Wave's world."""
    stampede.test_fifty_workers_on_an_expired_token_make_one_token_call(world)


def test_fifty_workers_refused_by_wave_refresh_once_through_the_client(world: World) -> None:
    """The connection row still thinks the token is fresh; Wave says UNAUTHENTICATED (HTTP 200)."""
    old = stored_access_token(world)
    world.expire()

    def call() -> str:
        world.call_through_client(token_source(world))
        return stored_access_token(world)

    results, errors = all_at_once(call)

    assert errors == []
    assert world.refreshes() == 1
    assert len(results) == WORKERS and set(results) == {stored_access_token(world)} and old not in results
