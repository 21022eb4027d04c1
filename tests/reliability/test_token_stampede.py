"""Fifty workers on an expired token: one token call at Intuit (the sandbox), no invalid_grant.

Each worker is its own ``ConnectionTokenSource`` (its own lease owner, as separate Lambda
instances are) over the real connection row in DynamoDB (moto server), the real KMS vault and the
real ``QuickBooksOAuth`` client against the sandbox's token endpoint, which rotates refresh tokens
exactly as Intuit does: a second refresh with the same refresh token is invalid_grant.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from booksync.providers.quickbooks.client import QuickBooksClient
from booksync.providers.quickbooks.oauth import QuickBooksOAuth
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault
from booksync.store.connections import ConnectionRepository, sealed_tokens, token_context
from booksync.store.models import ConnectionModel

from tests.reliability.conftest import CLIENT_ID, CLIENT_SECRET, COMPANY
from tests.threads import run_threads

pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("reliability")]

WORKERS = 50


def token_source(stack: SimpleNamespace) -> ConnectionTokenSource:
    return ConnectionTokenSource(
        company_id=COMPANY,
        provider="quickbooks",
        repository=ConnectionRepository(),
        cipher=KmsTokenVault(stack.env["TOKEN_KEY_ID"]),
        oauth=QuickBooksOAuth(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_url=stack.env["QBO_TOKEN_URL"]
        ),
    )


def stored_access_token(stack: SimpleNamespace) -> str:
    row = ConnectionModel.get(COMPANY, "quickbooks", consistent_read=True)
    sealed = sealed_tokens(row)
    assert sealed is not None
    return KmsTokenVault(stack.env["TOKEN_KEY_ID"]).open(sealed, token_context(row)).access_token


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


def test_fifty_workers_on_an_expired_token_make_one_token_call(stack: SimpleNamespace) -> None:
    old = stored_access_token(stack)
    before = stack.control.token_calls(stack.realm)
    # The access token has expired, at Intuit and in the connection row.
    stack.control.expire_tokens(stack.realm)
    ConnectionModel(COMPANY, "quickbooks").update(
        actions=[ConnectionModel.access_expires_at.set(time.time() - 1)]
    )

    results, errors = all_at_once(lambda: token_source(stack).access_token())

    after = stack.control.token_calls(stack.realm)
    assert errors == []
    assert after.get("refresh_token", 0) - before.get("refresh_token", 0) == 1
    assert after.get("invalid_grant", 0) == before.get("invalid_grant", 0) == 0
    assert len(results) == WORKERS and set(results) == {stored_access_token(stack)} and old not in results
    # The new token works: a query with it is answered.
    assert "QueryResponse" in _query_with(stack, results[0])


def test_fifty_workers_rejected_with_401_refresh_once_through_the_client(stack: SimpleNamespace) -> None:
    """The connection row still thinks the token is fresh; Intuit says 401 (it expired early)."""
    old = stored_access_token(stack)
    before = stack.control.token_calls(stack.realm)
    stack.control.expire_tokens(stack.realm)

    def query() -> str:
        client = QuickBooksClient(
            realm_id=stack.realm, tokens=token_source(stack), api_base_url=stack.env["QBO_API_BASE_URL"]
        )
        client.query("SELECT * FROM Account MAXRESULTS 1")
        return stored_access_token(stack)

    results, errors = all_at_once(query)

    after = stack.control.token_calls(stack.realm)
    assert errors == []
    assert after.get("refresh_token", 0) - before.get("refresh_token", 0) == 1
    assert after.get("invalid_grant", 0) == 0
    assert len(results) == WORKERS and old not in results
    queries = [r for r in stack.control.requests(stack.realm) if r["path"].endswith("/query")]
    refused = sum(1 for r in queries if r["status"] == 401)
    assert refused >= 1 and Counter(r["status"] for r in queries) == {200: WORKERS, 401: refused}
    # Each refusal was followed by exactly one retry, with the one new token, which was answered.
    assert len(queries) == WORKERS + refused


def _query_with(stack: SimpleNamespace, token: str) -> dict[str, object]:
    import httpx

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
