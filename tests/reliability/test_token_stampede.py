"""Fifty workers on an expired token: one token call at the provider's sandbox, no invalid_grant,
for every provider whose refresh tokens rotate (QuickBooks, Xero and FreshBooks).

Each worker is its own ``ConnectionTokenSource`` (its own lease owner, as separate Lambda
instances are) over the real connection row in DynamoDB (moto server), the real KMS vault and the
provider's real OAuth client against its sandbox's token endpoint, which rotates refresh tokens as
the provider does: Intuit answers a second refresh with the same token invalid_grant; Xero answers
it, within its 30-minute grace, with the same new token, so only the count of token calls shows a
second refresh there. FreshBooks' refresh tokens are single use, with no grace: a second refresh
with the spent token is refused invalid_grant (the sandbox counts such reuses), which would end
the company's connection.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from booksync.providers.freshbooks.client import CLIENTS, FreshBooksClient
from booksync.providers.freshbooks.oauth import FreshBooksOAuth
from booksync.providers.port import OAuthClient
from booksync.providers.quickbooks.client import QuickBooksClient
from booksync.providers.quickbooks.oauth import QuickBooksOAuth
from booksync.providers.xero.client import XeroClient
from booksync.providers.xero.oauth import XeroOAuth
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault
from booksync.store.connections import ConnectionRepository, sealed_tokens, token_context
from booksync.store.models import ConnectionModel

from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import SCOPES, XeroControl, redirect_params
from tests.reliability.conftest import CLIENT_ID, CLIENT_SECRET, COMPANY
from tests.stored_connection import store_tokens
from tests.threads import run_threads

pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("reliability")]

WORKERS = 50
XERO_REDIRECT = "https://api.example.com/oauth/xero/callback"
FRESHBOOKS_REDIRECT = "https://api.example.com/oauth/freshbooks/callback"


@dataclass
class World:
    """One company connected to one provider, as the stampede sees it."""

    provider: str
    key_id: str  # the KMS key the tokens are sealed with
    oauth: Callable[[], OAuthClient]  # a worker's own client (its own Lambda instance)
    refreshes: Callable[[], int]  # refresh-token calls the sandbox answered so far
    refused: Callable[[], int]  # invalid_grant answers so far
    expire: Callable[[], None]  # the access tokens expire at the provider
    answered: Callable[[str], bool]  # the provider answers a call made with this access token
    # One API call through the provider's own client (a 401 gets one refreshed token, one retry).
    call_through_client: Callable[[ConnectionTokenSource], object]
    api_calls: Callable[[], list[dict[str, Any]]]  # those calls as the sandbox logged them


def token_source(world: World) -> ConnectionTokenSource:
    return ConnectionTokenSource(
        company_id=COMPANY,
        provider=world.provider,
        repository=ConnectionRepository(),
        cipher=KmsTokenVault(world.key_id),
        oauth=world.oauth(),
    )


def stored_access_token(world: World) -> str:
    row = ConnectionModel.get(COMPANY, world.provider, consistent_read=True)
    sealed = sealed_tokens(row)
    assert sealed is not None
    return KmsTokenVault(world.key_id).open(sealed, token_context(row)).access_token


def quickbooks_world(stack: SimpleNamespace) -> World:
    def refreshes() -> int:
        return stack.control.token_calls(stack.realm).get("refresh_token", 0)

    return World(
        provider="quickbooks",
        key_id=stack.env["TOKEN_KEY_ID"],
        oauth=lambda: QuickBooksOAuth(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_url=stack.env["QBO_TOKEN_URL"]
        ),
        refreshes=refreshes,
        refused=lambda: stack.control.token_calls(stack.realm).get("invalid_grant", 0),
        expire=lambda: stack.control.expire_tokens(stack.realm),
        answered=lambda token: "QueryResponse" in _query_with(stack, token),
        call_through_client=lambda tokens: QuickBooksClient(
            realm_id=stack.realm, tokens=tokens, api_base_url=stack.env["QBO_API_BASE_URL"]
        ).query("SELECT * FROM Account MAXRESULTS 1"),
        api_calls=lambda: [r for r in stack.control.requests(stack.realm) if r["path"].endswith("/query")],
    )


@pytest.fixture
def xero_world(tables: SimpleNamespace, kms_key: str) -> Iterator[World]:
    """A company connected to one organisation of the Xero sandbox (its consent, code exchange and
    /connections through booksync's XeroOAuth), its tokens sealed on its connection row."""
    # Xero's throttles are not what these tests are about (50 workers at once would meet them).
    config = XeroConfig(concurrent_limit=1_000, minute_limit=1_000_000)
    with XeroSandbox(config=config) as sandbox, XeroControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, CLIENT_SECRET, [XERO_REDIRECT])

        def oauth() -> XeroOAuth:
            return XeroOAuth(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                auth_url=f"{sandbox.url}/identity/connect/authorize",
                token_url=f"{sandbox.url}/connect/token",
                revoke_url=f"{sandbox.url}/connect/revocation",
                connections_url=f"{sandbox.url}/connections",
                scopes=SCOPES.split(),
            )

        url = oauth().authorization_url(state="s1", redirect_uri=XERO_REDIRECT)
        params = redirect_params(url)
        code = control.consent(params.pop("client_id"), params.pop("redirect_uri"), **params)["code"]
        tokens = oauth().exchange_code(code=code, redirect_uri=XERO_REDIRECT)
        [organisation] = oauth().list_organisations(tokens)[:1]
        store_tokens(kms_key, "xero", organisation.id, dict(organisation.ids), tokens)
        calls = control.call("GET", "/tokens")["token_calls"]  # the code exchange's

        def answered(token: str) -> bool:
            org = httpx.get(
                f"{sandbox.url}/api.xro/2.0/Organisation",
                headers={"Authorization": f"Bearer {token}", "xero-tenant-id": organisation.id},
            )
            return org.status_code == 200 and bool(org.json()["Organisations"])

        yield World(
            provider="xero",
            key_id=kms_key,
            oauth=oauth,
            refreshes=lambda: int(control.call("GET", "/tokens")["token_calls"]) - calls,
            refused=lambda: 0,  # the sandbox counts answered token calls only: errors show refusals
            expire=lambda: control.call("POST", "/tokens/expire", {"tenant_id": organisation.id}),
            answered=answered,
            call_through_client=lambda tokens: XeroClient(
                tenant_id=organisation.id, tokens=tokens, api_base_url=f"{sandbox.url}/api.xro/2.0"
            ).organisation(),
            api_calls=lambda: [
                r for r in control.requests(organisation.id) if r["path"].endswith("/Organisation")
            ],
        )


@pytest.fixture
def freshbooks_world(tables: SimpleNamespace, kms_key: str) -> Iterator[World]:
    """A company connected to the FreshBooks sandbox's business (its consent, code exchange and
    /users/me through booksync's FreshBooksOAuth), its tokens sealed on its connection row."""
    # FreshBooks' unpublished limit is not what these tests are about.
    with (
        FreshBooksSandbox(config=FreshBooksConfig(business_minute_limit=0)) as sandbox,
        FreshBooksControl(sandbox.url) as control,
    ):
        control.register_client(CLIENT_ID, CLIENT_SECRET, [FRESHBOOKS_REDIRECT])

        def oauth() -> FreshBooksOAuth:
            return FreshBooksOAuth(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                auth_url=f"{sandbox.url}/oauth/authorize",
                token_url=f"{sandbox.url}/auth/oauth/token",
                revoke_url=f"{sandbox.url}/auth/oauth/revoke",
                api_base_url=sandbox.url,
            )

        url = oauth().authorization_url(state="s1", redirect_uri=FRESHBOOKS_REDIRECT)
        code = redirect_params(control.consent_at(url))["code"]
        tokens = oauth().exchange_code(code=code, redirect_uri=FRESHBOOKS_REDIRECT)
        [business] = oauth().list_organisations(tokens)
        store_tokens(kms_key, "freshbooks", business.id, dict(business.ids), tokens)
        calls = control.token_stats()["token_calls"]  # the code exchange's

        yield World(
            provider="freshbooks",
            key_id=kms_key,
            oauth=oauth,
            refreshes=lambda: control.token_stats()["token_calls"] - calls,
            # A spent refresh token presented again: FreshBooks refuses it (invalid_grant).
            refused=lambda: control.token_stats()["reused_refresh_tokens"],
            expire=control.expire_tokens,
            answered=lambda token: control.me(token).status_code == 200,
            call_through_client=lambda source: FreshBooksClient(
                account_id=business.id, tokens=source, api_base_url=sandbox.url
            ).query(CLIENTS, {}),
            api_calls=lambda: [
                r for r in control.requests(business.id) if r["path"].endswith("/users/clients")
            ],
        )


@pytest.fixture(params=["quickbooks", "xero", "freshbooks"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "quickbooks":
        return quickbooks_world(request.getfixturevalue("stack"))
    world: World = request.getfixturevalue(f"{request.param}_world")
    return world


def all_at_once(work: Callable[[], str]) -> tuple[list[str], list[BaseException]]:
    """Run ``work`` on WORKERS threads released together; their results and errors."""
    barrier = threading.Barrier(WORKERS)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            value = work()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    run_threads(*[run] * WORKERS)
    return results, errors


def test_fifty_workers_on_an_expired_token_make_one_token_call(world: World) -> None:
    old = stored_access_token(world)
    before, refused = world.refreshes(), world.refused()
    # The access token has expired, at the provider and in the connection row.
    world.expire()
    ConnectionModel(COMPANY, world.provider).update(
        actions=[ConnectionModel.access_expires_at.set(time.time() - 1)]
    )

    results, errors = all_at_once(lambda: token_source(world).access_token())

    assert errors == []
    assert world.refreshes() - before == 1
    assert world.refused() == refused == 0
    assert len(results) == WORKERS and set(results) == {stored_access_token(world)} and old not in results
    assert world.answered(results[0])  # the new token works: a call with it is answered


def test_fifty_workers_rejected_with_401_refresh_once_through_the_client(world: World) -> None:
    """The connection row still thinks the token is fresh; the provider says 401 (it expired early)."""
    old = stored_access_token(world)
    before, refused_before = world.refreshes(), world.refused()
    world.expire()

    def call() -> str:
        world.call_through_client(token_source(world))
        return stored_access_token(world)

    results, errors = all_at_once(call)

    assert errors == []
    assert world.refreshes() - before == 1
    assert world.refused() == refused_before == 0
    assert len(results) == WORKERS and old not in results
    calls = world.api_calls()
    refused = sum(1 for r in calls if r["status"] == 401)
    assert refused >= 1 and Counter(r["status"] for r in calls) == {200: WORKERS, 401: refused}
    # Each refusal was followed by exactly one retry, with the one new token, which was answered.
    assert len(calls) == WORKERS + refused


def _query_with(stack: SimpleNamespace, token: str) -> dict[str, object]:
    answer = httpx.post(
        f"{stack.env['QBO_API_BASE_URL']}/v3/company/{stack.realm}/query",
        content="SELECT * FROM Account MAXRESULTS 1",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/text",
            "Accept": "application/json",
        },
    )
    assert answer.status_code == 200
    body: dict[str, object] = answer.json()
    return body
