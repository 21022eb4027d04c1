"""Intuit OAuth: authorization URL, code exchange, refresh, revoke, and how failures are typed."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from booksync.errors import ConfigurationError, NeedsReconnection, Rejected, TransientError
from booksync.providers.http import HttpClient
from booksync.providers.port import OAuthClient
from booksync.providers.quickbooks.oauth import ACCOUNTING_SCOPE, QuickBooksOAuth

from tests.unit.providers.qbo_fake import FakeIntuit, respond

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "client-secret-value"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"
TOKEN_URL = "https://oauth.test/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://oauth.test/v2/oauth2/tokens/revoke"


@pytest.fixture
def oauth(http: HttpClient) -> QuickBooksOAuth:
    return QuickBooksOAuth(
        client_id="client-id",
        client_secret=SECRET,
        http=http,
        auth_url="https://appcenter.test/connect/oauth2",
        token_url=TOKEN_URL,
        revoke_url=REVOKE_URL,
        now=lambda: NOW,
    )


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_implements_the_port(oauth: QuickBooksOAuth) -> None:
    assert isinstance(oauth, OAuthClient)
    assert oauth.name == "quickbooks"


def test_authorization_url(oauth: QuickBooksOAuth) -> None:
    url = urlsplit(oauth.authorization_url(state="st-1", redirect_uri=REDIRECT))
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://appcenter.test/connect/oauth2"
    assert params == {
        "client_id": "client-id",
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": REDIRECT,
        "state": "st-1",
    }


def test_authorization_url_with_pkce(oauth: QuickBooksOAuth) -> None:
    url = oauth.authorization_url(state="s", redirect_uri=REDIRECT, code_challenge="abc")
    params = parse_qs(urlsplit(url).query)
    assert params["code_challenge"] == ["abc"] and params["code_challenge_method"] == ["S256"]


def test_exchange_code(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    tokens = oauth.exchange_code(code="good-code", redirect_uri=REDIRECT, realm_id="9130357")
    request = intuit.last()
    assert request.method == "POST" and str(request.url) == TOKEN_URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    expected = base64.b64encode(f"client-id:{SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "good-code",
        "redirect_uri": REDIRECT,
    }
    assert tokens.access_token.endswith(".access")
    assert tokens.refresh_token and tokens.refresh_token.startswith("refresh-")
    assert tokens.access_expires_at == NOW + timedelta(seconds=3600)
    assert tokens.refresh_expires_at == NOW + timedelta(seconds=8726400)
    assert tokens.access_expires_at.tzinfo is not None
    assert tokens.account_id == "9130357"


def test_refresh_returns_the_rotated_refresh_token(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    tokens = oauth.refresh("refresh-1")
    assert form(intuit.last()) == {"grant_type": "refresh_token", "refresh_token": "refresh-1"}
    assert tokens.refresh_token != "refresh-1"
    assert tokens.account_id is None  # the caller keeps the realmId


def test_invalid_grant_needs_reconnection_and_is_not_retried(
    oauth: QuickBooksOAuth, intuit: FakeIntuit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NeedsReconnection) as caught:
        oauth.refresh("refresh-used-already-123")
    assert len(intuit.requests) == 1
    error = caught.value
    assert error.provider_code == "invalid_grant" and error.status == 400
    assert "Reconnect" in error.fix
    blob = "\n".join(
        [str(error), repr(error), error.fix, repr(oauth)]
        + [r.getMessage() for r in caplog.records]
        + [str(v) for r in caplog.records for v in r.__dict__.values()]
    )
    assert "refresh-used-already-123" not in blob
    assert SECRET not in blob
    assert base64.b64encode(f"client-id:{SECRET}".encode()).decode() not in blob


def test_invalid_client_names_the_settings(http: HttpClient, intuit: FakeIntuit) -> None:
    oauth = QuickBooksOAuth(
        client_id="client-id", client_secret="wrong-secret-value", http=http, token_url=TOKEN_URL
    )
    with pytest.raises(ConfigurationError) as caught:
        oauth.refresh("refresh-1")
    assert "QBO_CLIENT_ID" in caught.value.message and "QBO_CLIENT_SECRET" in caught.value.message
    assert "wrong-secret-value" not in str(caught.value)


def test_other_oauth_errors_are_rejected_with_the_description(
    oauth: QuickBooksOAuth, intuit: FakeIntuit
) -> None:
    intuit.then(respond(400, {"error": "invalid_request", "error_description": "redirect_uri mismatch"}))
    with pytest.raises(Rejected) as caught:
        oauth.exchange_code(code="good-code", redirect_uri="https://elsewhere")
    assert caught.value.provider_code == "invalid_request"
    assert "redirect_uri mismatch" in caught.value.message


def test_server_error_is_transient(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    intuit.then(respond(503, {}))
    with pytest.raises(TransientError):
        oauth.refresh("refresh-1")
    assert len(intuit.requests) == 1  # never repeated: the refresh token may have rotated


def test_timeout_on_refresh_is_uncertain_and_not_retried(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    intuit.then(httpx.ReadTimeout("timed out"))
    with pytest.raises(TransientError) as caught:
        oauth.refresh("refresh-1")
    assert caught.value.uncertain is True
    assert len(intuit.requests) == 1


def test_connect_error_on_refresh_is_retried(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    intuit.then(httpx.ConnectError("refused"))
    assert oauth.refresh("refresh-1").access_token
    assert len(intuit.requests) == 2


def test_revoke_posts_json_with_basic_auth(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    oauth.revoke("refresh-1")
    request = intuit.last()
    assert str(request.url) == REVOKE_URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"].startswith("Basic ")
    assert json.loads(request.content) == {"token": "refresh-1"}
    assert "refresh-1" not in intuit.refresh_tokens


def test_revoking_a_dead_token_is_done(oauth: QuickBooksOAuth, intuit: FakeIntuit) -> None:
    assert oauth.revoke("refresh-never-issued") is None  # Intuit answers 400: gone either way
    [asked] = intuit.requests  # asked once, not retried
    assert asked.url == REVOKE_URL and json.loads(asked.content) == {"token": "refresh-never-issued"}


def test_revoking_a_live_token_ends_it_and_another_refusal_is_raised(
    oauth: QuickBooksOAuth, intuit: FakeIntuit
) -> None:
    tokens = oauth.exchange_code(code="good-code", redirect_uri=REDIRECT)
    oauth.revoke(str(tokens.refresh_token))
    assert str(tokens.refresh_token) not in intuit.refresh_tokens
    intuit.oauth_clients["client-id"] = "rotated-secret"  # now Intuit refuses the client: 401
    with pytest.raises(ConfigurationError):
        oauth.revoke("refresh-never-issued")


def test_missing_credentials_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        QuickBooksOAuth(client_id="", client_secret="x")


def test_token_set_repr_hides_tokens(oauth: QuickBooksOAuth) -> None:
    tokens = oauth.exchange_code(code="good-code", redirect_uri=REDIRECT)
    assert tokens.access_token not in repr(tokens)
    assert str(tokens.refresh_token) not in repr(tokens)
