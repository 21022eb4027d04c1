"""Wave's OAuth client against Wave's documented wire shapes (providers.md 4, 7.3), answered by an
in-test transport: the consent URL (trailing slash, resource:operation scopes), the code exchange
and refresh (client id and secret in the form; a refresh token rotated is kept, one omitted leaves
the one sent), invalid_grant, the businesses read page by page (a business in another currency is
no choice; none usable says which and why), a token Wave refuses, and a disconnect that revokes
nothing (Wave publishes no revocation)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from booksync.errors import ConfigurationError, ConnectionDown, NeedsReconnection, NotConnectable
from booksync.providers.http import HttpClient
from booksync.providers.port import OAuthClient
from booksync.providers.wave.oauth import REQUIREMENTS, WaveOAuth
from booksync.settings import WaveSettings

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TOKEN_URL = "https://api.waveapps.com/oauth2/token/"
GRAPHQL_URL = "https://gql.waveapps.com/graphql/public"


def business(bid: str, currency: str = "USD", **more: Any) -> dict[str, Any]:
    return {"id": bid, "name": f"Business {bid}", "isArchived": False, "currency": {"code": currency}, **more}


class FakeWave:
    """Wave's token endpoint and its GraphQL ``businesses``, as seen on the wire."""

    def __init__(self, businesses: list[dict[str, Any]], *, page_size_cap: int = 2) -> None:
        self.businesses = businesses
        self.cap = page_size_cap
        self.token_forms: list[dict[str, str]] = []
        self.graphql: list[dict[str, Any]] = []
        self.token_answer: Callable[[dict[str, str]], httpx.Response] = lambda _f: httpx.Response(
            200,
            json={
                "access_token": "at-1",
                "token_type": "Bearer",
                "expires_in": 7200,
                "refresh_token": "rt-2",
            },
        )
        self.graphql_errors: list[Mapping[str, Any]] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == TOKEN_URL:
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.token_forms.append(form)
            return self.token_answer(form)
        assert url == GRAPHQL_URL, url
        body = json.loads(request.content)
        self.graphql.append(body)
        if self.graphql_errors is not None:
            return httpx.Response(200, json={"data": None, "errors": self.graphql_errors})
        page, size = body["variables"]["page"], min(body["variables"]["pageSize"], self.cap)
        rows = self.businesses[(page - 1) * size : page * size]
        total = max(1, -(-len(self.businesses) // size))
        return httpx.Response(
            200,
            json={
                "data": {
                    "businesses": {
                        "pageInfo": {"currentPage": page, "totalPages": total},
                        "edges": [{"node": row} for row in rows],
                    }
                }
            },
        )


def oauth_for(wave: FakeWave) -> WaveOAuth:
    settings = WaveSettings.from_env({"WAVE_CLIENT_ID": "wave-app", "WAVE_CLIENT_SECRET": "wave-app-secret"})
    http = HttpClient(
        provider="wave", label="Wave sign-in", transport=httpx.MockTransport(wave), sleep=lambda _s: None
    )
    client = WaveOAuth.from_settings(settings, http=http)
    client._now = lambda: NOW
    return client


def tokens(oauth: WaveOAuth) -> Any:
    return oauth.exchange_code(code="code-1", redirect_uri="https://app.test/oauth/wave/callback")


def test_the_consent_url_asks_waves_authorize_endpoint_for_resource_operation_scopes() -> None:
    oauth = oauth_for(FakeWave([]))
    assert isinstance(oauth, OAuthClient) and oauth.uses_pkce is False
    url = oauth.authorization_url(state="s1", redirect_uri="https://app.test/cb")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://api.waveapps.com/oauth2/authorize/"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code" and query["state"] == "s1" and query["client_id"] == "wave-app"
    scopes = query["scope"].split(" ")
    assert {"business:read", "customer:write", "invoice:write", "account:read"} <= set(scopes)


def test_the_code_exchange_posts_the_app_keys_in_the_form_and_times_the_token() -> None:
    wave = FakeWave([])
    got = tokens(oauth_for(wave))
    assert wave.token_forms == [
        {
            "grant_type": "authorization_code",
            "code": "code-1",
            "redirect_uri": "https://app.test/oauth/wave/callback",
            "client_id": "wave-app",
            "client_secret": "wave-app-secret",
        }
    ]
    assert (got.access_token, got.refresh_token) == ("at-1", "rt-2")
    assert got.access_expires_at == NOW + timedelta(hours=2) and got.refresh_expires_at is None


def test_a_rotated_refresh_token_is_the_one_kept() -> None:
    wave = FakeWave([])
    got = oauth_for(wave).refresh("rt-1")
    assert (
        wave.token_forms[-1]["grant_type"] == "refresh_token"
        and wave.token_forms[-1]["refresh_token"] == "rt-1"
    )
    assert (got.access_token, got.refresh_token) == ("at-1", "rt-2")


def test_an_answer_without_a_refresh_token_keeps_the_one_sent() -> None:
    wave = FakeWave([])
    wave.token_answer = lambda _f: httpx.Response(200, json={"access_token": "at-9", "expires_in": 3600})
    got = oauth_for(wave).refresh("rt-1")
    assert (got.access_token, got.refresh_token) == ("at-9", "rt-1")
    assert got.access_expires_at == NOW + timedelta(hours=1)


def test_invalid_grant_is_needs_reconnection_and_a_wrong_secret_names_the_settings() -> None:
    wave = FakeWave([])
    wave.token_answer = lambda _f: httpx.Response(
        400, json={"error": "invalid_grant", "error_description": "Refresh token rt-old-123 is invalid"}
    )
    with pytest.raises(NeedsReconnection) as refused:
        oauth_for(wave).refresh("rt-old-123")
    assert refused.value.provider_code == "invalid_grant" and "rt-old-123" not in refused.value.message
    wave.token_answer = lambda _f: httpx.Response(401, json={"error": "invalid_client"})
    with pytest.raises(ConfigurationError, match="WAVE_CLIENT_ID"):
        tokens(oauth_for(wave))


def test_the_businesses_are_read_page_by_page_and_those_wave_cannot_connect_are_no_choice() -> None:
    wave = FakeWave(
        [business("b-1"), business("b-2", "EUR"), business("b-3", "CAD"), business("b-4", isArchived=True)]
    )
    oauth = oauth_for(wave)
    listed = oauth.list_organisations(tokens(oauth))
    assert [(o.id, o.name, dict(o.ids)) for o in listed] == [
        ("b-1", "Business b-1", {"business": "b-1"}),
        ("b-3", "Business b-3", {"business": "b-3"}),
    ]
    assert [g["variables"]["page"] for g in wave.graphql] == [1, 2]  # two pages of two
    assert oauth.owns_account(tokens(oauth), "b-3") and not oauth.owns_account(tokens(oauth), "b-2")


def test_a_user_whose_businesses_none_can_be_connected_is_told_which_and_why() -> None:
    wave = FakeWave([business("b-1", "EUR"), business("b-2", "GBP")])
    oauth = oauth_for(wave)
    with pytest.raises(NotConnectable) as refused:
        oauth.list_organisations(tokens(oauth))
    said = refused.value.message
    assert "Business b-1 (its currency is EUR" in said and "Business b-2 (its currency is GBP" in said
    assert REQUIREMENTS in said and "Wave Pro" in refused.value.fix and "USD or CAD" in refused.value.fix


def test_a_token_wave_refuses_when_listing_is_connection_down() -> None:
    wave = FakeWave([business("b-1")])
    wave.graphql_errors = [{"message": "Not authenticated", "extensions": {"code": "UNAUTHENTICATED"}}]
    oauth = oauth_for(wave)
    with pytest.raises(ConnectionDown, match="UNAUTHENTICATED"):
        oauth.list_organisations(tokens(oauth))


def test_disconnect_revokes_nothing_and_says_so() -> None:
    wave = FakeWave([])
    oauth = oauth_for(wave)
    assert oauth.disconnect(access_token="at-1", refresh_token="rt-1", ids={"business": "b-1"}) is False
    assert wave.token_forms == [] and wave.graphql == []


def test_scopes_that_are_not_resource_operation_are_refused_at_cold_start() -> None:
    with pytest.raises(ConfigurationError, match="resource:operation"):
        WaveSettings.from_env({"WAVE_SCOPES": "business:read accounting.invoices"})
    assert WaveSettings.from_env({"WAVE_SCOPES": "business:* invoice:send offline_access"}).scope_list == (
        "business:*",
        "invoice:send",
        "offline_access",
    )
