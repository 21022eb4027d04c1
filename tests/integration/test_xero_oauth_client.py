"""Xero's OAuth client against the Xero sandbox on loopback: the consent URL with granular scopes
(the sandbox refuses broad ones), two organisations consented → both listed with their tenant and
connection ids, PKCE without a secret, refresh tokens rotating with Xero's 30-minute grace on the
spent one, invalid_grant → Needs Reconnection, disconnect deleting the tenant's connection before revoking
the grant, and (with the token source over moto) a refresh whose answer was lost after Xero
rotated redone with the spent token in the grace, its successor stored under the fenced lease."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from booksync.errors import ConfigurationError, NeedsReconnection, TransientError
from booksync.providers.http import HttpClient
from booksync.providers.oauth_common import code_challenge, new_code_verifier
from booksync.providers.port import OAuthClient, TokenSet
from booksync.providers.xero.oauth import XeroOAuth, auth_event_id
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.settings import XeroSettings
from booksync.store.connections import ConnectionRepository, TokenTimes, sealed_tokens

from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import XeroControl, redirect_params
from tests.conftest import only_table

CLIENT_ID, CLIENT_SECRET = "booksync-xero", "booksync-xero-secret"
REDIRECT_URI = "https://app.test/oauth/xero/callback"


@pytest.fixture
def sandbox() -> Iterator[XeroSandbox]:
    with XeroSandbox() as running:
        yield running


@pytest.fixture
def control(sandbox: XeroSandbox) -> Iterator[XeroControl]:
    with XeroControl(sandbox.url) as ctl:
        ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield ctl


def _settings(sandbox: XeroSandbox, *, secret: str | None = CLIENT_SECRET, **env: str) -> XeroSettings:
    return XeroSettings.from_env(
        {
            "XERO_CLIENT_ID": CLIENT_ID,
            **({"XERO_CLIENT_SECRET": secret} if secret is not None else {}),
            "XERO_AUTH_URL": f"{sandbox.url}/identity/connect/authorize",
            "XERO_TOKEN_URL": f"{sandbox.url}/connect/token",
            "XERO_REVOKE_URL": f"{sandbox.url}/connect/revocation",
            "XERO_CONNECTIONS_URL": f"{sandbox.url}/connections",
            **env,
        }
    )


@pytest.fixture
def oauth(sandbox: XeroSandbox) -> XeroOAuth:
    return XeroOAuth.from_settings(_settings(sandbox))


def _consent(control: XeroControl, url: str, tenants: list[str] | None = None) -> dict[str, str]:
    """As the user: open booksync's authorize URL, tick ``tenants`` (default all) and allow."""
    assert urlsplit(url).path == "/identity/connect/authorize"
    params = redirect_params(url)
    client_id, redirect_uri = params.pop("client_id"), params.pop("redirect_uri")
    return control.consent(client_id, redirect_uri, tenants, **params)


def _connect(oauth: XeroOAuth, control: XeroControl, tenants: list[str] | None = None) -> TokenSet:
    code = _consent(control, oauth.authorization_url(state="s1", redirect_uri=REDIRECT_URI), tenants)["code"]
    return oauth.exchange_code(code=code, redirect_uri=REDIRECT_URI)


def test_consent_to_two_organisations_lists_both_with_tenant_and_connection_ids(
    oauth: XeroOAuth, control: XeroControl
) -> None:
    assert isinstance(oauth, OAuthClient)
    url = oauth.authorization_url(state="s1", redirect_uri=REDIRECT_URI)
    assert "offline_access" in url and "accounting.invoices" in url
    before = datetime.now(UTC)
    tokens = _connect(oauth, control)
    assert tokens.refresh_token and tokens.account_id is None  # Xero's answer names no tenant
    assert (
        before + timedelta(minutes=29) < tokens.access_expires_at <= datetime.now(UTC) + timedelta(minutes=30)
    )
    assert tokens.refresh_expires_at is not None
    assert tokens.refresh_expires_at - tokens.access_expires_at > timedelta(days=59)

    listed = oauth.list_organisations(tokens)
    sandbox_orgs = {o["tenant_id"]: o["name"] for o in control.organisations()}
    assert {o.id: o.name for o in listed} == sandbox_orgs and len(listed) == 2
    for org in listed:
        assert org.ids["tenant"] == org.id and org.ids["connection"] and org.ids["connection"] != org.id
        assert oauth.owns_account(tokens, org.id)
    assert not oauth.owns_account(tokens, "00000000-0000-0000-0000-000000000000")

    one = _connect(oauth, control, tenants=[listed[1].id])
    assert [o.name for o in oauth.list_organisations(one)] == [listed[1].name]


def test_a_later_consent_lists_only_the_organisations_it_granted(
    oauth: XeroOAuth, control: XeroControl
) -> None:
    """Xero's /connections lists every organisation the user ever connected the app to: a consent
    for one, after one for both, must offer that one only (its access token's authEventId)."""
    both = _connect(oauth, control)
    first, second = oauth.list_organisations(both)
    later = _connect(oauth, control, tenants=[second.id])
    event = auth_event_id(later.access_token)
    assert event and event != auth_event_id(both.access_token)
    assert [o.id for o in oauth.list_organisations(later)] == [second.id]
    assert oauth.owns_account(later, second.id) and not oauth.owns_account(later, first.id)


class _Recording(HttpClient):
    """The OAuth client's HTTP, every request's method and path noted."""

    def __init__(self) -> None:
        super().__init__(provider="xero", label="Xero sign-in")
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.sent.append((method, urlsplit(url).path))
        return super().request(method, url, **kwargs)


def test_disconnect_without_a_refresh_token_deletes_the_connection_and_revokes_nothing(
    sandbox: XeroSandbox, control: XeroControl
) -> None:
    http = _Recording()
    oauth = XeroOAuth.from_settings(_settings(sandbox), http=http)
    tokens = _connect(oauth, control)
    chosen, other = oauth.list_organisations(tokens)
    http.sent.clear()
    oauth.disconnect(access_token=tokens.access_token, refresh_token=None, ids=chosen.ids)
    assert http.sent == [("DELETE", f"/connections/{chosen.ids['connection']}")]
    assert [o.id for o in oauth.list_organisations(tokens)] == [other.id]
    assert tokens.refresh_token and oauth.refresh(tokens.refresh_token).access_token  # the grant lives


def test_a_broad_scope_setting_is_refused_by_xero_at_consent(
    sandbox: XeroSandbox, control: XeroControl
) -> None:
    broad = XeroOAuth.from_settings(_settings(sandbox, XERO_SCOPES="offline_access accounting.transactions"))
    refused = _consent(control, broad.authorization_url(state="s1", redirect_uri=REDIRECT_URI))
    assert refused.get("error") == "invalid_scope"
    with pytest.raises(ConfigurationError, match="offline_access"):
        XeroOAuth.from_settings(_settings(sandbox, XERO_SCOPES="accounting.invoices"))


def test_pkce_connects_and_refreshes_without_a_secret(sandbox: XeroSandbox, control: XeroControl) -> None:
    oauth = XeroOAuth.from_settings(_settings(sandbox, secret=None, XERO_OAUTH_FLOW="pkce"))
    assert oauth.uses_pkce
    with pytest.raises(ConfigurationError, match="XERO_CLIENT_SECRET"):  # the code flow needs it
        XeroOAuth.from_settings(_settings(sandbox, secret=None))
    verifier = new_code_verifier()
    url = oauth.authorization_url(
        state="s1", redirect_uri=REDIRECT_URI, code_challenge=code_challenge(verifier)
    )
    code = _consent(control, url)["code"]
    tokens = oauth.exchange_code(code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier)
    assert len(oauth.list_organisations(tokens)) == 2
    assert oauth.refresh(tokens.refresh_token or "").refresh_token not in (None, tokens.refresh_token)


def test_refresh_rotates_and_the_spent_token_has_thirty_minutes_grace(
    oauth: XeroOAuth, control: XeroControl
) -> None:
    first = _connect(oauth, control)
    assert first.refresh_token
    rotated = oauth.refresh(first.refresh_token)
    assert rotated.refresh_token and rotated.refresh_token != first.refresh_token
    # The answer was lost (say the fenced write lost its lease): the spent token, inside the
    # grace, gives the same new refresh token, so nothing is lost by redoing the refresh.
    control.advance(29 * 60)
    again = oauth.refresh(first.refresh_token)
    assert again.refresh_token == rotated.refresh_token
    control.advance(2 * 60)
    with pytest.raises(NeedsReconnection) as late:
        oauth.refresh(first.refresh_token)
    assert late.value.provider_code == "invalid_grant"
    assert oauth.refresh(rotated.refresh_token).access_token


def test_invalid_grant_is_needs_reconnection(oauth: XeroOAuth, control: XeroControl) -> None:
    tokens = _connect(oauth, control)
    assert tokens.refresh_token
    with pytest.raises(NeedsReconnection) as unknown:
        oauth.refresh("not-a-refresh-token")
    assert (unknown.value.provider_code, unknown.value.status) == ("invalid_grant", 400)
    assert "Reconnect Xero" in (unknown.value.fix or "")
    control.advance(60 * 86400 + 1)  # unused for 60 days: lapsed
    with pytest.raises(NeedsReconnection):
        oauth.refresh(tokens.refresh_token)


def test_a_wrong_secret_is_a_configuration_error_naming_the_settings(sandbox: XeroSandbox) -> None:
    wrong = XeroOAuth.from_settings(_settings(sandbox, secret="not-the-real-one"))
    with pytest.raises(ConfigurationError, match="XERO_CLIENT_ID and XERO_CLIENT_SECRET"):
        wrong.refresh("anything")


def test_disconnect_deletes_the_tenants_connection_then_revokes(
    oauth: XeroOAuth, control: XeroControl
) -> None:
    tokens = _connect(oauth, control)
    chosen, other = oauth.list_organisations(tokens)
    assert tokens.refresh_token
    # The connection alone first (no refresh token: the access token cannot revoke a Xero grant).
    oauth.disconnect(access_token=tokens.access_token, refresh_token=None, ids=chosen.ids)
    assert [o.id for o in oauth.list_organisations(tokens)] == [other.id]
    # Again: the connection already gone is success; with the refresh token the grant ends.
    oauth.disconnect(access_token=tokens.access_token, refresh_token=tokens.refresh_token, ids=chosen.ids)
    with pytest.raises(NeedsReconnection):
        oauth.refresh(tokens.refresh_token)
    oauth.revoke(tokens.refresh_token)  # a grant already gone is success


class _LostAnswer:
    """Xero's client whose first refresh answer is lost after Xero rotated the token (a timeout
    on the way back, or a worker killed before its fenced write)."""

    def __init__(self, oauth: XeroOAuth) -> None:
        self.oauth, self.lost = oauth, 0
        self.name, self.uses_pkce = oauth.name, oauth.uses_pkce

    def refresh(self, refresh_token: str) -> TokenSet:
        answer = self.oauth.refresh(refresh_token)
        if not self.lost:
            self.lost += 1
            raise TransientError("the answer was lost", provider="xero", uncertain=True)
        return answer


def test_a_rotation_whose_answer_was_lost_is_redone_in_the_grace_and_stored_under_the_lease(
    moto_url: str, kms_key: str, oauth: XeroOAuth, control: XeroControl
) -> None:
    with only_table("connections_table"):
        repo, vault = ConnectionRepository(), KmsTokenVault(kms_key)
        tokens = _connect(oauth, control)
        context = _store_due(repo, vault, tokens)
        lossy = _LostAnswer(oauth)
        worker = ConnectionTokenSource(
            company_id="acme",
            provider="xero",
            repository=repo,
            cipher=vault,
            oauth=lossy,  # type: ignore[arg-type]
        )
        with pytest.raises(TransientError):
            worker.access_token()
        control.advance(10 * 60)  # inside Xero's 30-minute grace on the spent token
        access = worker.access_token()
        row = repo.get("acme", "xero")
        sealed = sealed_tokens(row) if row is not None else None
        assert sealed is not None
        stored = vault.open(sealed, context)
        assert stored.access_token == access and stored.refresh_token not in (None, tokens.refresh_token)
        control.advance(31 * 60)  # the spent token is dead now; the stored successor is not
        assert stored.refresh_token and oauth.refresh(stored.refresh_token).access_token


def _store_due(repo: ConnectionRepository, vault: KmsTokenVault, tokens: TokenSet) -> TokenContext:
    """The company's Xero connection with ``tokens``, its access token due for a refresh."""
    connection_id = repo.new_connection_id()
    context = TokenContext("acme", "xero", connection_id)
    repo.store_connection(
        company_id="acme",
        provider="xero",
        connection_id=connection_id,
        account_id="tenant-1",
        sealed=vault.seal(PlainTokens(tokens.access_token, tokens.refresh_token), context),
        times=TokenTimes(access_expires_at=time.time() + 60, refresh_expires_at=None),  # due
        has_refresh_token=True,
        connected_by="u1",
        now=time.time(),
        refresh_every=86_400,
    )
    return context


class _Overtaken:
    """Worker A's Xero client: A's call reaches Xero only after its lease lapsed and worker B
    refreshed (``rotations`` times) and stored what Xero answered."""

    def __init__(self, oauth: XeroOAuth, overtake: Callable[[], None]) -> None:
        self.oauth, self.overtake = oauth, overtake
        self.name, self.uses_pkce = oauth.name, oauth.uses_pkce

    def refresh(self, refresh_token: str) -> TokenSet:
        self.overtake()
        return self.oauth.refresh(refresh_token)


@pytest.mark.parametrize(
    "rotations",
    [
        pytest.param(1, id="inside the grace: Xero answers A the refresh token B stored"),
        pytest.param(2, id="rotated twice: Xero refuses A's (invalid_grant)"),
    ],
)
def test_a_worker_overtaken_while_refreshing_never_stores_older_tokens_over_newer_ones(
    moto_url: str, kms_key: str, oauth: XeroOAuth, control: XeroControl, rotations: int
) -> None:
    with only_table("connections_table"):
        repo, vault = ConnectionRepository(), KmsTokenVault(kms_key)
        context = _store_due(repo, vault, _connect(oauth, control))
        clock = [time.time()]

        def worker(name: str, client: object) -> ConnectionTokenSource:
            return ConnectionTokenSource(
                company_id="acme",
                provider="xero",
                repository=repo,
                cipher=vault,
                oauth=client,  # type: ignore[arg-type]
                clock=lambda: clock[0],
                owner=name,
            )

        def overtake() -> None:
            clock[0] += 120  # A stalls past its 90-second lease: B takes it and refreshes
            for _ in range(rotations):
                worker("b", oauth).keep_alive()

        access = worker("a", _Overtaken(oauth, overtake)).access_token()
        row = repo.get("acme", "xero")
        assert row is not None and row.status == "connected" and row.has_refresh_token is True
        sealed = sealed_tokens(row)
        assert sealed is not None
        stored = vault.open(sealed, context)
        assert access == stored.access_token  # A uses B's token; its own never replaced it
        assert int(row.token_version) == 1 + rotations
        assert stored.refresh_token and oauth.refresh(stored.refresh_token).access_token  # alive at Xero
