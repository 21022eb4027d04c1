"""FreshBooks' OAuth client against the FreshBooks sandbox on loopback: the consent (a redirect URI
without a query string, the state in ``state``), the code exchange, the businesses of
``/users/me`` (one, then several; a business where the user is only a client left out), the
single-use refresh token (every refresh answers a new one; the spent one is refused as FreshBooks
refuses it: invalid_grant → Needs Reconnection), the grant ended in FreshBooks, and disconnect
revoking the grant at the sandbox (its refresh token and its access token refused after); and,
with the token source over moto, a worker overtaken while refreshing (FreshBooks refuses the
token another worker spent) leaving the connection and its newer tokens alone, and a refresh
whose answer was lost spending the grant (no grace: Needs Reconnection)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from booksync.errors import NeedsReconnection, TransientError
from booksync.providers.freshbooks.oauth import FreshBooksOAuth
from booksync.providers.port import TokenSet
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault, TokenContext
from booksync.settings import FreshBooksSettings
from booksync.store.connections import ConnectionRepository, sealed_tokens

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl, redirect_params
from tests.conftest import only_table
from tests.lambda_env import freshbooks_environment
from tests.stored_connection import store_tokens

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


# ---------------------------------------------------------------- single use, under the fenced lease


def due_connection(kms_key: str, tokens: TokenSet) -> TokenContext:
    """The company's FreshBooks connection with ``tokens``, its access token due for a refresh."""
    return store_tokens(
        kms_key, "freshbooks", "acc1", {"account": "acc1"}, tokens, access_expires_at=time.time() + 60
    )


def source(
    kms_key: str, oauth: object, *, owner: str | None = None, clock: list[float] | None = None
) -> ConnectionTokenSource:
    return ConnectionTokenSource(
        company_id="acme",
        provider="freshbooks",
        repository=ConnectionRepository(),
        cipher=KmsTokenVault(kms_key),
        oauth=oauth,  # type: ignore[arg-type]
        owner=owner,
        **({"clock": lambda: clock[0]} if clock is not None else {}),
    )


class Overtaken:
    """Worker A's FreshBooks client: A's refresh reaches FreshBooks only after its lease lapsed
    and worker B refreshed (spending the token A holds) and stored what FreshBooks answered."""

    def __init__(self, oauth: FreshBooksOAuth, overtake: Callable[[], None]) -> None:
        self.oauth, self.overtake = oauth, overtake
        self.name, self.uses_pkce = oauth.name, oauth.uses_pkce

    def refresh(self, refresh_token: str) -> TokenSet:
        self.overtake()
        return self.oauth.refresh(refresh_token)


def test_a_worker_overtaken_while_refreshing_never_marks_the_connection_nor_stores_over_newer_tokens(
    moto_url: str, kms_key: str, oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    """A spends nothing B has not already spent: FreshBooks refuses A's token (invalid_grant), and
    that refusal is no news about the connection, whose newer tokens B stored under the lease."""
    with only_table("connections_table"):
        context = due_connection(kms_key, connect(oauth, control))
        clock = [time.time()]

        def overtake() -> None:
            clock[0] += 120  # A stalls past its 90-second lease: B takes it and refreshes
            source(kms_key, oauth, owner="b", clock=clock).keep_alive()

        access = source(kms_key, Overtaken(oauth, overtake), owner="a", clock=clock).access_token()
        assert control.token_stats()["reused_refresh_tokens"] == 1  # A's spent token, refused
        row = ConnectionRepository().get("acme", "freshbooks")
        assert row is not None and row.status == "connected" and row.has_refresh_token is True
        sealed = sealed_tokens(row)
        assert sealed is not None
        stored = KmsTokenVault(kms_key).open(sealed, context)
        assert access == stored.access_token and int(row.token_version) == 2  # B's, once
        assert stored.refresh_token and oauth.refresh(stored.refresh_token).access_token  # alive


def test_a_refresh_whose_answer_was_lost_spent_the_token_and_needs_reconnection(
    moto_url: str, kms_key: str, oauth: FreshBooksOAuth, control: FreshBooksControl
) -> None:
    """FreshBooks keeps no grace on a spent refresh token (unlike Xero's 30 minutes): when its
    answer is lost after FreshBooks rotated, the connection cannot be refreshed again and says so."""
    with only_table("connections_table"):
        due_connection(kms_key, connect(oauth, control))
        control.add_fault("commit_then_reset", path="/auth/oauth/token", times=1)
        worker = source(kms_key, oauth)
        with pytest.raises(TransientError):
            worker.access_token()  # FreshBooks rotated; the answer never came back
        with pytest.raises(NeedsReconnection, match="invalid_grant"):
            worker.access_token()
        row = ConnectionRepository().get("acme", "freshbooks")
        assert row is not None and row.status == "needs_reconnection"
        assert control.token_stats()["reused_refresh_tokens"] == 1
