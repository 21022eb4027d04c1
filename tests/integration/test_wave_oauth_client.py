"""Wave's OAuth client against the Wave sandbox on loopback: the consent URL the sandbox accepts
(its scopes are Wave's), a consent for one business listed as that business; a token that reaches
several (a developer's full access token) lists those Wave lets an app connect, the euro one left
out; the refresh token rotated, answered again or omitted (the one held kept, and still good);
invalid_grant once the user removed the app in Wave; a business refused at consent (no paid plan,
or not USD/CAD) comes back as Wave's access_denied with its words; disconnect sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from booksync.errors import NeedsReconnection
from booksync.providers.port import OAuthClient, TokenSet
from booksync.providers.wave.oauth import WaveOAuth
from booksync.settings import WaveSettings

from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import CURRENCY_UNSUPPORTED, PLAN_REQUIRED, WaveControl, redirect_params

CLIENT_ID, CLIENT_SECRET = "booksync-wave", "booksync-wave-secret"
REDIRECT_URI = "https://app.test/oauth/wave/callback"


@pytest.fixture
def sandbox() -> Iterator[WaveSandbox]:
    with WaveSandbox() as running:
        yield running


@pytest.fixture
def control(sandbox: WaveSandbox) -> Iterator[WaveControl]:
    with WaveControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


def wave_settings(url: str) -> WaveSettings:
    return WaveSettings.from_env(
        {
            "WAVE_CLIENT_ID": CLIENT_ID,
            "WAVE_CLIENT_SECRET": CLIENT_SECRET,
            "WAVE_AUTH_URL": f"{url}/oauth2/authorize/",
            "WAVE_TOKEN_URL": f"{url}/oauth2/token/",
            "WAVE_GRAPHQL_URL": f"{url}/graphql/public",
        }
    )


@pytest.fixture
def oauth(sandbox: WaveSandbox) -> WaveOAuth:
    return WaveOAuth.from_settings(wave_settings(sandbox.url))


def consent(oauth: WaveOAuth, control: WaveControl, business: str) -> dict[str, str]:
    """As the user: open booksync's consent URL, pick ``business`` and allow; the redirect's query."""
    url = oauth.authorization_url(state="s1", redirect_uri=REDIRECT_URI)
    assert urlsplit(url).path == "/oauth2/authorize/"
    return redirect_params(control.consent_at(url, business))


def connect(oauth: WaveOAuth, control: WaveControl, business: str) -> TokenSet:
    return oauth.exchange_code(code=consent(oauth, control, business)["code"], redirect_uri=REDIRECT_URI)


def test_a_consent_for_one_business_lists_that_business(oauth: WaveOAuth, control: WaveControl) -> None:
    assert isinstance(oauth, OAuthClient)
    maple = control.business_id("Maple Design Studio")
    tokens = connect(oauth, control, maple)
    assert tokens.refresh_token and tokens.refresh_expires_at is None
    listed = oauth.list_organisations(tokens)
    assert [(o.id, o.name, dict(o.ids)) for o in listed] == [
        (maple, "Maple Design Studio", {"business": maple})
    ]
    assert oauth.owns_account(tokens, maple)
    assert not oauth.owns_account(tokens, control.business_id("Northern Consulting"))


def test_a_token_that_reaches_several_businesses_lists_those_wave_lets_an_app_connect(
    oauth: WaveOAuth, control: WaveControl
) -> None:
    """A developer's full access token reaches every business of the user: the euro business is
    no choice (Wave serves apps in USD and CAD only), the others are offered."""
    token = control.full_access_token()
    reach = TokenSet(access_token=token, refresh_token=None, access_expires_at=datetime.now(UTC))
    names = {o.name for o in oauth.list_organisations(reach)}
    assert {"Maple Design Studio", "Northern Consulting"} <= names and "Paris Atelier" not in names


@pytest.mark.parametrize("mode", ["rotate", "same", "omit"])
def test_the_refresh_token_kept_is_the_one_wave_answers_or_the_one_held(
    oauth: WaveOAuth, control: WaveControl, mode: str
) -> None:
    tokens = connect(oauth, control, control.business_id("Maple Design Studio"))
    held = tokens.refresh_token
    assert held is not None
    control.call("POST", "/config", {"refresh_mode": mode})
    first = oauth.refresh(held)
    assert first.access_token != tokens.access_token
    if mode == "rotate":
        assert first.refresh_token not in (None, held)
        with pytest.raises(NeedsReconnection):  # the spent one is dead
            oauth.refresh(held)
    else:
        assert first.refresh_token == held  # answered again, or omitted and kept
    assert first.refresh_token is not None
    second = oauth.refresh(first.refresh_token)  # what was kept still refreshes
    assert second.access_token not in (tokens.access_token, first.access_token)


def test_a_grant_the_user_removed_in_wave_is_invalid_grant(oauth: WaveOAuth, control: WaveControl) -> None:
    maple = control.business_id("Maple Design Studio")
    tokens = connect(oauth, control, maple)
    control.disconnect(maple)
    assert tokens.refresh_token is not None
    with pytest.raises(NeedsReconnection) as refused:
        oauth.refresh(tokens.refresh_token)
    assert refused.value.provider_code == "invalid_grant"


@pytest.mark.parametrize(
    ("business", "code"), [("Side Project (Starter)", PLAN_REQUIRED), ("Paris Atelier", CURRENCY_UNSUPPORTED)]
)
def test_a_business_wave_refuses_comes_back_as_access_denied_with_its_reason(
    oauth: WaveOAuth, control: WaveControl, business: str, code: str
) -> None:
    redirect = consent(oauth, control, control.business_id(business))
    assert redirect["error"] == "access_denied" and redirect["state"] == "s1" and "code" not in redirect
    assert redirect["error_description"].startswith(f"{code}: ")


def test_disconnect_sends_nothing_and_says_nothing_was_revoked(
    oauth: WaveOAuth, control: WaveControl
) -> None:
    tokens = connect(oauth, control, control.business_id("Maple Design Studio"))
    control.clear_requests()
    assert (
        oauth.disconnect(access_token=tokens.access_token, refresh_token=tokens.refresh_token, ids={})
        is False
    )
    assert control.requests() == []
    assert oauth.refresh(tokens.refresh_token or "").access_token  # the grant lives on at Wave
