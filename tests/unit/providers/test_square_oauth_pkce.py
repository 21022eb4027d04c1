"""PKCE (RFC 7636) for Square: the verifier and its S256 challenge, and what SquareOAuth sends in
the PKCE flow (no application secret in token calls, the verifier with the code) against what it
sends in the code flow; a PKCE refresh must bring back a new refresh token."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from booksync.errors import NeedsReconnection
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.oauth_common import code_challenge, new_code_verifier
from booksync.providers.port import OAuthClient
from booksync.providers.quickbooks.oauth import QuickBooksOAuth
from booksync.providers.square.oauth import SquareOAuth

from local.sandboxes.square.testing import RFC7636_CHALLENGE, RFC7636_VERIFIER

BASE = "https://square.test"
SECRET = "sq0csp-application-secret"
REDIRECT = "https://api.example.com/oauth/square/callback"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKENS = {
    "access_token": "EAAA-new-access",
    "token_type": "bearer",
    "expires_at": "2026-03-31T12:00:00Z",
    "merchant_id": "MLQW2MYBY81PZ",
    "refresh_token": "EQAA-next-refresh",
    "refresh_token_expires_at": "2026-05-30T12:00:00Z",
}


def square(*, uses_pkce: bool, answer: dict[str, object] = TOKENS) -> tuple[SquareOAuth, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    http = HttpClient(
        provider="square",
        label="Square sign-in",
        settings=HttpSettings(max_retries=0),
        transport=httpx.MockTransport(record),
        sleep=lambda _s: None,
    )
    oauth = SquareOAuth(
        application_id="sq0idp-app", application_secret=SECRET, http=http, base_url=BASE, uses_pkce=uses_pkce
    )
    return oauth, seen


def body(request: httpx.Request) -> dict[str, object]:
    sent: dict[str, object] = json.loads(request.content)
    return sent


def test_the_challenge_of_rfc_7636_appendix_b() -> None:
    assert code_challenge(RFC7636_VERIFIER) == RFC7636_CHALLENGE


def test_a_new_verifier_is_long_random_and_unreserved_and_its_challenge_unpadded() -> None:
    verifiers = {new_code_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    for verifier in verifiers:
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier), verifier
        assert re.fullmatch(r"[A-Za-z0-9\-_]{43}", code_challenge(verifier))


def test_quickbooks_does_not_use_pkce_and_square_does_as_configured() -> None:
    quickbooks = QuickBooksOAuth(client_id="id", client_secret="secret-value")
    assert isinstance(quickbooks, OAuthClient) and quickbooks.uses_pkce is False
    for uses_pkce in (False, True):
        oauth, _ = square(uses_pkce=uses_pkce)
        assert isinstance(oauth, OAuthClient) and oauth.uses_pkce is uses_pkce


def test_the_authorization_url_carries_the_challenge_and_no_method() -> None:
    oauth, _ = square(uses_pkce=True)
    url = oauth.authorization_url(state="st", redirect_uri=REDIRECT, code_challenge=RFC7636_CHALLENGE)
    params = parse_qs(urlsplit(url).query)
    assert params["code_challenge"] == [RFC7636_CHALLENGE]
    assert "code_challenge_method" not in params  # Square's Authorize documents no such parameter


def test_pkce_token_calls_send_the_verifier_and_never_the_secret() -> None:
    oauth, seen = square(uses_pkce=True)
    tokens = oauth.exchange_code(code="sq0cgb-code", redirect_uri=REDIRECT, code_verifier=RFC7636_VERIFIER)
    refreshed = oauth.refresh("EQAA-first-refresh")
    assert [body(request) for request in seen] == [
        {
            "client_id": "sq0idp-app",
            "grant_type": "authorization_code",
            "code": "sq0cgb-code",
            "redirect_uri": REDIRECT,
            "code_verifier": RFC7636_VERIFIER,
        },
        {"client_id": "sq0idp-app", "grant_type": "refresh_token", "refresh_token": "EQAA-first-refresh"},
    ]
    assert all(SECRET not in request.content.decode() for request in seen)
    assert tokens.refresh_expires_at == datetime(2026, 5, 30, 12, 0, tzinfo=UTC)
    assert refreshed.refresh_token == "EQAA-next-refresh"  # the single-use token's successor


def test_code_flow_token_calls_send_the_secret() -> None:
    oauth, seen = square(uses_pkce=False)
    oauth.exchange_code(code="sq0cgb-code", redirect_uri=REDIRECT)
    oauth.refresh("EQAA-static")
    assert [body(request).get("client_secret") for request in seen] == [SECRET, SECRET]
    assert all("code_verifier" not in body(request) for request in seen)


WITHOUT_REFRESH = {key: value for key, value in TOKENS.items() if key != "refresh_token"}


def test_a_code_flow_refresh_answered_without_a_refresh_token_keeps_the_old_one() -> None:
    oauth, _ = square(uses_pkce=False, answer=WITHOUT_REFRESH)
    assert oauth.refresh("EQAA-static").refresh_token == "EQAA-static"  # multi-use: still valid


def test_a_pkce_refresh_answered_without_a_refresh_token_needs_reconnection() -> None:
    oauth, _ = square(uses_pkce=True, answer=WITHOUT_REFRESH)
    # The token just sent was single-use: keeping it would only fail at the next refresh.
    with pytest.raises(NeedsReconnection, match="new refresh token") as raised:
        oauth.refresh("EQAA-spent")
    assert "EQAA-spent" not in raised.value.message
