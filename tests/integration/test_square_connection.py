"""Square's OAuth client and API client against the Square sandbox: the consent URL, the code
exchange, refresh keeping the multi-use refresh token, revoke, and a connection's expired token
refreshed under the lease when Square refuses it (tables and KMS on moto server). In PKCE mode
(SQUARE_OAUTH_FLOW=pkce): connect through Integrations with the verifier from the state row, the
single-use refresh token replaced at every refresh (keep-alive included), a wrong verifier refused,
and a lost refresh answer ending in Needs Reconnection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
from booksync import wiring
from booksync.errors import (
    AccountTaken,
    ConfigurationError,
    InvalidRequest,
    NeedsReconnection,
    Rejected,
    RemoteNotFound,
    TransientError,
)
from booksync.integrations import Connected, Integrations
from booksync.providers.oauth_common import new_code_verifier
from booksync.providers.square.client import SquareClient
from booksync.providers.square.oauth import SquareOAuth
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.settings import SchedulerSettings
from booksync.store.connections import ConnectionRepository, TokenTimes, sealed_tokens, token_context
from booksync.store.documents import DocumentRepository
from booksync.store.models import AccountClaimModel, ConnectionModel, OAuthStateModel

from local.sandboxes.square.config import ClientApp, SquareConfig
from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import SquareControl
from tests.fakes.integrations import complete_connect, fake_integrations

APP_ID, SECRET = "sandbox-sq0idb-oauth-tests", "sandbox-sq0csb-oauth-secret"
REDIRECT = "https://api.example.com/oauth/square/callback"


@pytest.fixture
def square() -> Iterator[SimpleNamespace]:
    sandbox = SquareSandbox(
        config=SquareConfig(clients={APP_ID: ClientApp(secret=SECRET, redirect_uris=[REDIRECT])})
    )
    sandbox.start()
    try:
        with SquareControl(sandbox.url) as control:
            merchant = control.add_merchant("Harper Plumbing", ["Main", "Van 2"])
            oauth = SquareOAuth(application_id=APP_ID, application_secret=SECRET, base_url=sandbox.url)
            yield SimpleNamespace(url=sandbox.url, control=control, merchant=merchant, oauth=oauth)
    finally:
        sandbox.stop()


def consent(square: SimpleNamespace, state: str = "st-1") -> str:
    url = square.oauth.authorization_url(state=state, redirect_uri=REDIRECT)
    answer = httpx.get(url + f"&merchant_id={square.merchant['id']}", follow_redirects=False)
    assert answer.status_code == 302, answer.text
    params = dict(httpx.URL(answer.headers["location"]).params)
    assert params["state"] == state
    return params["code"]


def test_authorization_url_asks_for_the_scopes_without_a_browser_session(square: SimpleNamespace) -> None:
    url = httpx.URL(square.oauth.authorization_url(state="s", redirect_uri=REDIRECT))
    assert url.path == "/oauth2/authorize"
    assert url.params["scope"].split() == ["PAYMENTS_READ", "PAYOUTS_READ", "MERCHANT_PROFILE_READ"]
    assert (url.params["session"], url.params["client_id"]) == ("false", APP_ID)


def test_exchange_names_the_merchant_and_refresh_keeps_the_refresh_token(square: SimpleNamespace) -> None:
    tokens = square.oauth.exchange_code(code=consent(square), redirect_uri=REDIRECT)
    assert tokens.account_id == square.merchant["id"]
    assert tokens.refresh_token and tokens.access_token
    assert tokens.access_expires_at.timestamp() > time.time() + 29 * 86_400
    again = square.oauth.refresh(tokens.refresh_token)
    assert again.refresh_token == tokens.refresh_token  # the code flow's refresh token is static
    assert again.access_token != tokens.access_token
    locations = SquareClient(tokens=_Static(again.access_token), api_base_url=square.url).list_locations()
    assert sorted(loc.name or "" for loc in locations) == ["Main", "Van 2"]


def test_a_used_code_and_a_wrong_secret_are_refused_in_words(square: SimpleNamespace) -> None:
    code = consent(square)
    square.oauth.exchange_code(code=code, redirect_uri=REDIRECT)
    with pytest.raises(Rejected, match="already redeemed"):
        square.oauth.exchange_code(code=code, redirect_uri=REDIRECT)
    wrong = SquareOAuth(application_id=APP_ID, application_secret="not-the-secret", base_url=square.url)
    with pytest.raises(ConfigurationError, match="SQUARE_APPLICATION_SECRET"):
        wrong.refresh("whatever-refresh-token")


def test_revoke_ends_the_grant(square: SimpleNamespace) -> None:
    tokens = square.oauth.exchange_code(code=consent(square), redirect_uri=REDIRECT)
    square.oauth.revoke(tokens.access_token)
    answer = httpx.get(
        f"{square.url}/v2/locations", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert answer.status_code == 401
    square.oauth.revoke(tokens.access_token)  # revoking again is fine


def test_an_expired_token_is_refreshed_under_the_lease_when_square_refuses_it(
    square: SimpleNamespace, tables: SimpleNamespace, kms_key: str
) -> None:
    tokens = square.oauth.exchange_code(code=consent(square), redirect_uri=REDIRECT)
    repo, vault = ConnectionRepository(), KmsTokenVault(kms_key)
    connection_id = repo.new_connection_id()
    repo.store_connection(
        company_id="acme",
        provider="square",
        connection_id=connection_id,
        account_id=tokens.account_id,
        sealed=vault.seal(
            PlainTokens(tokens.access_token, tokens.refresh_token),
            TokenContext("acme", "square", connection_id),
        ),
        times=TokenTimes(access_expires_at=tokens.access_expires_at.timestamp(), refresh_expires_at=None),
        has_refresh_token=True,
        connected_by="u1",
        now=time.time(),
        refresh_every=86_400,
    )
    square.control.advance(31 * 86_400)  # Square now refuses the stored access token
    source = ConnectionTokenSource(
        company_id="acme", provider="square", repository=repo, cipher=vault, oauth=square.oauth
    )
    client = SquareClient(tokens=source, api_base_url=square.url)
    payment = square.control.pay(square.merchant["id"], 12345, tip=500, reference_id="inv-9")["payment"]
    got = client.get_payment(payment["id"])
    assert (got.amount.amount, got.tip and got.tip.amount, got.reference_id) == (
        Decimal("123.45"),
        Decimal("5.00"),
        "inv-9",
    )
    row = repo.get("acme", "square")
    assert row is not None and int(row.token_version) == 2
    with pytest.raises(RemoteNotFound):
        client.get_payout("po_does_not_exist")


# ---------------------------------------------------------------- the PKCE flow


def pkce_oauth(square: SimpleNamespace) -> SquareOAuth:
    return SquareOAuth(application_id=APP_ID, application_secret=SECRET, base_url=square.url, uses_pkce=True)


def integrations(oauth: SquareOAuth, kms_key: str) -> Integrations:
    return fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=oauth)


def approve(square: SimpleNamespace, url: str) -> dict[str, str]:
    """The seller consents on the authorization URL: Square's redirect's parameters."""
    answer = httpx.get(url + f"&merchant_id={square.merchant['id']}", follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return dict(httpx.URL(answer.headers["location"]).params)


def finish(
    service: Integrations,
    redirect: dict[str, str],
    company: str = "acme",
    user: str = "u1",
    *,
    account_id: str | None = None,
) -> Connected:
    """Square's redirect to the callback, confirmed by the user who started the connection
    (``account_id``: a realmId added to the callback's address on its way)."""
    return complete_connect(
        service,
        provider="square",
        state=redirect["state"],
        code=redirect["code"],
        account_id=account_id,
        company_id=company,
        user_id=user,
    )


def connect_with_pkce(square: SimpleNamespace, kms_key: str) -> SquareOAuth:
    oauth = pkce_oauth(square)
    service = integrations(oauth, kms_key)
    url = service.start_connect(company_id="acme", user_id="u1", provider="square")
    assert "code_challenge" in httpx.URL(url).params
    redirect = approve(square, url)
    connected = finish(service, redirect)
    assert connected.account_id == square.merchant["id"]
    return oauth


def stored_refresh_token(repo: ConnectionRepository, vault: KmsTokenVault) -> str | None:
    row = repo.get("acme", "square")
    assert row is not None
    sealed = sealed_tokens(row)
    assert sealed is not None
    return vault.open(sealed, token_context(row)).refresh_token


def test_pkce_connect_stores_the_grant_and_every_refresh_stores_the_new_single_use_token(
    square: SimpleNamespace, tables: SimpleNamespace, kms_key: str
) -> None:
    oauth = connect_with_pkce(square, kms_key)
    repo, vault = ConnectionRepository(), KmsTokenVault(kms_key)
    row = repo.get("acme", "square")
    assert row is not None and row.refresh_expires_at is not None
    assert 89 * 86_400 < float(row.refresh_expires_at) - time.time() <= 90 * 86_400
    first = stored_refresh_token(repo, vault)
    source = ConnectionTokenSource(
        company_id="acme", provider="square", repository=repo, cipher=vault, oauth=oauth
    )
    source.keep_alive()
    second = stored_refresh_token(repo, vault)
    assert second and second != first
    spent = httpx.post(
        f"{square.url}/oauth2/token",
        json={"client_id": APP_ID, "grant_type": "refresh_token", "refresh_token": first},
    )
    assert spent.status_code == 401  # Square took the first one back when it issued the second
    source.keep_alive()
    assert stored_refresh_token(repo, vault) not in (first, second)
    locations = SquareClient(tokens=source, api_base_url=square.url).list_locations()
    assert sorted(loc.name or "" for loc in locations) == ["Main", "Van 2"]


def test_a_verifier_that_does_not_match_the_challenge_is_refused_by_square(
    square: SimpleNamespace, tables: SimpleNamespace, kms_key: str
) -> None:
    service = integrations(pkce_oauth(square), kms_key)
    redirect = approve(square, service.start_connect(company_id="acme", user_id="u1", provider="square"))
    OAuthStateModel.get(redirect["state"]).update(
        actions=[OAuthStateModel.code_verifier.set(new_code_verifier())]
    )
    with pytest.raises(Rejected, match="code_verifier does not match"):
        finish(service, redirect)
    assert ConnectionRepository().get("acme", "square") is None


def test_a_lost_pkce_refresh_answer_ends_in_needs_reconnection(
    square: SimpleNamespace, tables: SimpleNamespace, kms_key: str
) -> None:
    oauth = connect_with_pkce(square, kms_key)
    repo = ConnectionRepository()
    source = ConnectionTokenSource(
        company_id="acme", provider="square", repository=repo, cipher=KmsTokenVault(kms_key), oauth=oauth
    )
    square.control.add_fault(action="commit_then_500", operation="token", times=1)
    with pytest.raises(TransientError):
        source.keep_alive()  # Square issued a successor, but its answer never arrived
    with pytest.raises(NeedsReconnection):
        source.keep_alive()
    row = repo.get("acme", "square")
    assert row is not None and row.status == "needs_reconnection" and row.has_refresh_token is False


@pytest.mark.parametrize(("flow", "refreshed"), [("code", 0), ("pkce", 1)])
def test_the_keepalive_refreshes_square_grants_in_pkce_mode(
    square: SimpleNamespace,
    tables: SimpleNamespace,
    kms_key: str,
    monkeypatch: pytest.MonkeyPatch,
    flow: str,
    refreshed: int,
) -> None:
    connect_with_pkce(square, kms_key)
    row = ConnectionModel.get("acme", "square")
    row.update(actions=[ConnectionModel.refresh_due_at.set(1)])  # a day has passed
    for name, value in {
        "SQUARE_APPLICATION_ID": APP_ID,
        "SQUARE_APPLICATION_SECRET": SECRET,
        "SQUARE_API_BASE_URL": square.url,
        "SQUARE_OAUTH_FLOW": flow,
    }.items():
        monkeypatch.setenv(name, value)
    settings = SchedulerSettings.from_env(
        {
            "CONNECTIONS_TABLE": tables.connections_table,
            "DOCUMENTS_TABLE": tables.documents_table,
            "SYNC_RUNS_TABLE": tables.sync_runs_table,
            "NOTIFICATIONS_TABLE": tables.notifications_table,
            "SYNC_INVOICE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sync",
            "TOKEN_KEY_ID": kms_key,
        }
    )
    report = wiring.keep_alive(settings).run()
    assert (report.refreshed, report.failed, report.errors) == (refreshed, 0, [])
    kept = ConnectionModel.get("acme", "square")
    assert int(kept.token_version) == 1 + refreshed


class _Static:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        return self.token


# ---------------------------------------------------------------- one Square seller, one company


@pytest.mark.parametrize("before_claims", [False, True], ids=["claimed", "connected-before-claims"])
def test_a_seller_one_company_connected_is_refused_to_a_second_company(
    square: SimpleNamespace, tables: SimpleNamespace, kms_key: str, before_claims: bool
) -> None:
    connect_with_pkce(square, kms_key)
    repo, merchant = ConnectionRepository(), square.merchant["id"]
    if before_claims:  # acme connected before booksync claimed accounts: no claim row
        AccountClaimModel(f"account#square#{merchant}").delete()
        assert repo.account_owner("square", merchant) is None
    service = integrations(pkce_oauth(square), kms_key)
    redirect = approve(square, service.start_connect(company_id="rival", user_id="r1", provider="square"))
    with pytest.raises(AccountTaken, match="already connected to another booksync company"):
        finish(service, redirect, "rival", "r1")
    assert repo.get("rival", "square") is None
    assert repo.account_owner("square", merchant) == "acme"
    assert [row.company_id for row in repo.owner_connections("square", merchant)] == ["acme"]


def test_a_callback_naming_another_seller_connects_nothing(
    square: SimpleNamespace, tables: SimpleNamespace, kms_key: str
) -> None:
    other = square.control.add_merchant("Someone Else", ["Shop"])["id"]
    service = integrations(pkce_oauth(square), kms_key)
    redirect = approve(square, service.start_connect(company_id="rival", user_id="r1", provider="square"))
    with pytest.raises(InvalidRequest, match=f"Square says .* the callback names \\({other}\\)"):
        finish(service, redirect, "rival", "r1", account_id=other)
    repo = ConnectionRepository()
    assert repo.get("rival", "square") is None
    assert repo.account_owner("square", other) is None
