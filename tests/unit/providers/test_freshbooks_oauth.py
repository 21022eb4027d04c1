"""What FreshBooksOAuth sends and how it reads FreshBooks' answers (providers.md 3.1, 3.2, 7.2),
on the wire: the consent URL (state in ``state``, a redirect URI with a query string refused), the
form-encoded token calls naming the app in the form, the 12-hour access token and the refresh
token that never expires, the businesses of ``/users/me`` by account id (business clients left
out), invalid_grant → Needs Reconnection, a refresh answered without its new token, revoking on
disconnect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from booksync.errors import BooksyncError, ConfigurationError, NeedsReconnection
from booksync.providers.freshbooks.oauth import FreshBooksOAuth
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.port import OAuthClient, Organisation, TokenSet
from booksync.settings import FreshBooksSettings

API = "https://api.freshbooks.test"
SECRET = "freshbooks-app-secret"
REDIRECT = "https://api.example.com/oauth/freshbooks/callback"
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
TOKENS = {
    "access_token": "fb-access-2",
    "token_type": "Bearer",
    "expires_in": 43200,
    "refresh_token": "fb-refresh-2",
    "scope": "user:profile:read user:clients:read",
    "created_at": int(NOW.timestamp()),
}
IDENTITY = {
    "response": {
        "id": 2192788,
        "business_memberships": [
            {
                "id": 1,
                "role": "owner",
                "business": {"id": 77, "account_id": "zDmNq", "name": "Acme Plumbing"},
            },
            {
                "id": 2,
                "role": "manager",
                "business": {"id": 78, "account_id": "yBkPa", "name": "Acme Rentals"},
            },
            {"id": 3, "role": "owner", "business": {"id": 79, "name": "Timesheets only"}},  # no books
            # The user is a client of this business: none of its books.
            {"id": 4, "role": "client", "business": {"id": 81, "account_id": "wPqRs", "name": "Landlord"}},
        ],
        # A business where the user is only a client of the business: never booksync's books.
        "business_clients": [{"id": 9, "business": {"id": 80, "account_id": "xQzTu", "name": "Supplier"}}],
    }
}


def freshbooks(
    answer: httpx.Response | None = None, *, scopes: tuple[str, ...] = ("user:profile:read",)
) -> tuple[FreshBooksOAuth, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if answer is not None:
            return answer
        return httpx.Response(200, json=IDENTITY if request.method == "GET" else TOKENS)

    http = HttpClient(
        provider="freshbooks",
        label="FreshBooks sign-in",
        settings=HttpSettings(max_retries=0),
        transport=httpx.MockTransport(record),
        sleep=lambda _s: None,
    )
    oauth = FreshBooksOAuth(
        client_id="fb-app",
        client_secret=SECRET,
        http=http,
        auth_url="https://auth.freshbooks.test/oauth/authorize",
        token_url=f"{API}/auth/oauth/token",
        revoke_url=f"{API}/auth/oauth/revoke",
        api_base_url=API,
        scopes=scopes,
        now=lambda: NOW,
    )
    return oauth, seen


def form(request: httpx.Request) -> dict[str, str]:
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_it_is_an_oauth_client_built_from_its_settings() -> None:
    settings = FreshBooksSettings.from_env(
        {
            "FRESHBOOKS_CLIENT_ID": "fb-app",
            "FRESHBOOKS_CLIENT_SECRET": SECRET,
            "FRESHBOOKS_SCOPES": "a:b:read c:d:write",
        }
    )
    oauth = FreshBooksOAuth.from_settings(settings)
    assert isinstance(oauth, OAuthClient) and oauth.uses_pkce is False
    assert oauth.scopes == ("a:b:read", "c:d:write") and SECRET not in repr(oauth)
    assert oauth.identity_url == "https://api.freshbooks.com/auth/api/v1/users/me"
    with pytest.raises(ConfigurationError, match="FRESHBOOKS_CLIENT_SECRET"):
        FreshBooksOAuth.from_settings(FreshBooksSettings.from_env({"FRESHBOOKS_CLIENT_ID": "fb-app"}))


def test_the_consent_url_carries_the_state_and_a_redirect_uri_without_a_query() -> None:
    oauth, _ = freshbooks(scopes=("user:profile:read", "user:clients:write"))
    url = urlsplit(oauth.authorization_url(state="st-1", redirect_uri=REDIRECT))
    assert (url.netloc, url.path) == ("auth.freshbooks.test", "/oauth/authorize")
    assert parse_qs(url.query) == {
        "response_type": ["code"],
        "client_id": ["fb-app"],
        "redirect_uri": [REDIRECT],
        "scope": ["user:profile:read user:clients:write"],
        "state": ["st-1"],
    }
    with pytest.raises(ConfigurationError, match="query string"):
        oauth.authorization_url(state="st-1", redirect_uri=f"{REDIRECT}?company=acme")


def test_the_code_exchange_is_form_encoded_and_names_the_app_in_the_form() -> None:
    oauth, seen = freshbooks()
    tokens = oauth.exchange_code(code="code-1", redirect_uri=REDIRECT)
    [call] = seen
    assert (call.method, str(call.url)) == ("POST", f"{API}/auth/oauth/token")
    assert "Authorization" not in call.headers
    assert form(call) == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": REDIRECT,
        "client_id": "fb-app",
        "client_secret": SECRET,
    }
    assert (tokens.access_token, tokens.refresh_token) == ("fb-access-2", "fb-refresh-2")
    # 12 hours from before the call; the refresh token never expires.
    assert tokens.access_expires_at == NOW + timedelta(hours=12) and tokens.refresh_expires_at is None


def test_a_refresh_sends_the_single_use_token_and_must_get_its_successor() -> None:
    oauth, seen = freshbooks()
    assert oauth.refresh("fb-refresh-1").refresh_token == "fb-refresh-2"
    assert form(seen[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": "fb-refresh-1",
        "client_id": "fb-app",
        "client_secret": SECRET,
    }
    without = {k: v for k, v in TOKENS.items() if k != "refresh_token"}
    oauth, _ = freshbooks(httpx.Response(200, json=without))
    with pytest.raises(NeedsReconnection, match="spent"):
        oauth.refresh("fb-refresh-1")


def test_invalid_grant_is_needs_reconnection_and_names_no_secret() -> None:
    refused = {
        "error": "invalid_grant",
        "error_description": "The provided authorization grant is invalid, expired, revoked (fb-refresh-1)",
    }
    oauth, _ = freshbooks(httpx.Response(400, json=refused))
    with pytest.raises(NeedsReconnection) as caught:
        oauth.refresh("fb-refresh-1")
    assert caught.value.provider_code == "invalid_grant" and "fb-refresh-1" not in caught.value.message
    oauth, _ = freshbooks(httpx.Response(401, json={"error": "invalid_client", "error_description": "?"}))
    with pytest.raises(ConfigurationError, match="FRESHBOOKS_CLIENT_ID"):
        oauth.refresh("fb-refresh-1")


def test_the_businesses_are_the_users_memberships_by_account_id_with_their_business_id() -> None:
    oauth, seen = freshbooks()
    tokens = TokenSet(access_token="fb-access-2", refresh_token="r", access_expires_at=NOW)
    assert oauth.list_organisations(tokens) == [
        Organisation(id="zDmNq", name="Acme Plumbing", ids={"account": "zDmNq", "business": "77"}),
        Organisation(id="yBkPa", name="Acme Rentals", ids={"account": "yBkPa", "business": "78"}),
    ]
    assert str(seen[0].url) == f"{API}/auth/api/v1/users/me"
    assert seen[0].headers["Authorization"] == "Bearer fb-access-2"
    assert oauth.owns_account(tokens, "yBkPa") and not oauth.owns_account(tokens, "xQzTu")


def test_users_me_refusing_the_token_is_needs_reconnection() -> None:
    unauthenticated = {"error": "unauthenticated", "error_description": "This action requires authentication"}
    oauth, _ = freshbooks(httpx.Response(401, json=unauthenticated))
    tokens = TokenSet(access_token="fb-access-2", refresh_token="r", access_expires_at=NOW)
    with pytest.raises(NeedsReconnection, match="unauthenticated"):
        oauth.list_organisations(tokens)


@pytest.mark.parametrize(
    ("refresh", "revoked"),
    [("fb-refresh-2", "fb-refresh-2"), (None, "fb-access-2")],
    ids=["refresh", "access"],
)
def test_disconnect_revokes_the_grant_by_its_refresh_token_else_its_access_token(
    refresh: str | None, revoked: str
) -> None:
    oauth, seen = freshbooks(httpx.Response(200, json={}))
    oauth.disconnect(access_token="fb-access-2", refresh_token=refresh, ids={"account": "zDmNq"})
    [call] = seen
    assert str(call.url) == f"{API}/auth/oauth/revoke"
    assert form(call) == {"token": revoked, "client_id": "fb-app", "client_secret": SECRET}


def test_revoking_a_grant_freshbooks_already_dropped_is_success() -> None:
    oauth, _ = freshbooks(httpx.Response(400, json={"error": "invalid_grant"}))
    oauth.revoke("fb-refresh-2")
    oauth, _ = freshbooks(httpx.Response(500, json={"error": "server_error"}))
    with pytest.raises(BooksyncError):
        oauth.revoke("fb-refresh-2")
