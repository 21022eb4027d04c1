"""FreshBooks' OAuth client against the FreshBooks sandbox on loopback: the consent (a redirect URI
without a query string, the state in ``state``), the code exchange, the businesses of
``/users/me`` (one, then several; a business where the user is only a client left out), the
single-use refresh token (every refresh answers a new one; the spent one is refused as FreshBooks
refuses it: invalid_grant → Needs Reconnection), the grant ended in FreshBooks, and disconnect
revoking the grant at the sandbox (its refresh token and its access token refused after)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from booksync.errors import NeedsReconnection
from booksync.providers.freshbooks.oauth import FreshBooksOAuth
from booksync.providers.port import TokenSet
from booksync.settings import FreshBooksSettings

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl, redirect_params
from tests.lambda_env import freshbooks_environment

CLIENT_ID, CLIENT_SECRET = "booksync-freshbooks", "booksync-freshbooks-secret"
REDIRECT_URI = "https://app.test/oauth/freshbooks/callback"


@pytest.fixture
def sandbox() -> Iterator[FreshBooksSandbox]:
    with FreshBooksSandbox() as running:
        yield running


@pytest.fixture
def control(sandbox: FreshBooksSandbox) -> Iterator[FreshBooksControl]:
    with FreshBooksControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


@pytest.fixture
def oauth(sandbox: FreshBooksSandbox) -> FreshBooksOAuth:
    return FreshBooksOAuth.from_settings(
        FreshBooksSettings.from_env(freshbooks_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET))
    )


def connect(oauth: FreshBooksOAuth, control: FreshBooksControl, state: str = "s1") -> TokenSet:
    """As the user: open booksync's consent URL, allow, and booksync exchanges the code."""
    back = redirect_params(
        control.consent_at(oauth.authorization_url(state=state, redirect_uri=REDIRECT_URI))
    )
    assert back["state"] == state
    return oauth.exchange_code(code=back["code"], redirect_uri=REDIRECT_URI)


def test_one_business_is_listed_by_its_account_id_with_its_business_id(
    oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    tokens = connect(oauth, control)
    [studio] = control.businesses()
    [business] = oauth.list_organisations(tokens)
    assert (business.id, business.name) == (studio["account_id"], "Sandbox Studio")
    assert business.ids == {"account": studio["account_id"], "business": str(studio["business_id"])}
    assert oauth.owns_account(tokens, studio["account_id"]) and not oauth.owns_account(tokens, "XYZ321")
    assert tokens.refresh_expires_at is None  # FreshBooks' refresh tokens never expire


def test_several_businesses_are_listed_and_one_where_the_user_is_a_client_is_not(
    oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    rentals = control.add_business("Acme Rentals")
    control.add_business("The Landlord", role="client")
    tokens = connect(oauth, control)
    listed = oauth.list_organisations(tokens)
    assert [o.name for o in listed] == ["Sandbox Studio", "Acme Rentals"]
    assert listed[1].ids == {"account": rentals["account_id"], "business": str(rentals["business_id"])}


def test_every_refresh_answers_a_new_refresh_token_and_a_spent_one_is_refused(
    oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    first = connect(oauth, control)
    assert first.refresh_token is not None
    second = oauth.refresh(first.refresh_token)
    assert second.refresh_token not in (None, first.refresh_token)
    assert second.access_token != first.access_token
    # The spent token again (a second worker that refreshed without the lease): refused.
    with pytest.raises(NeedsReconnection) as refused:
        oauth.refresh(first.refresh_token)
    assert refused.value.provider_code == "invalid_grant"
    assert control.token_stats()["reused_refresh_tokens"] == 1
    assert second.refresh_token is not None and oauth.refresh(second.refresh_token).refresh_token


def test_a_grant_ended_in_freshbooks_is_needs_reconnection(
    oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    tokens = connect(oauth, control)
    control.disconnect()  # the user disconnects the app in FreshBooks
    assert tokens.refresh_token is not None
    with pytest.raises(NeedsReconnection, match="invalid_grant"):
        oauth.refresh(tokens.refresh_token)
    with pytest.raises(NeedsReconnection, match="unauthenticated"):
        oauth.list_organisations(tokens)


def test_disconnect_revokes_the_grant_at_freshbooks(
    oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    tokens = connect(oauth, control)
    [business] = oauth.list_organisations(tokens)
    oauth.disconnect(access_token=tokens.access_token, refresh_token=tokens.refresh_token, ids=business.ids)
    assert tokens.refresh_token is not None
    with pytest.raises(NeedsReconnection, match="invalid_grant"):
        oauth.refresh(tokens.refresh_token)
    with pytest.raises(NeedsReconnection):
        oauth.list_organisations(tokens)  # its access token ended with it
    # A grant already gone: disconnecting again is fine.
    oauth.disconnect(access_token=tokens.access_token, refresh_token=tokens.refresh_token, ids=business.ids)


def test_disconnect_without_a_refresh_token_revokes_by_the_access_token(
    oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    tokens = connect(oauth, control)
    oauth.disconnect(access_token=tokens.access_token, refresh_token=None, ids={})
    with pytest.raises(NeedsReconnection):
        oauth.list_organisations(tokens)
