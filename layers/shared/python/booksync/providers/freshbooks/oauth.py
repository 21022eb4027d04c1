"""FreshBooks OAuth 2.0: authorization URL, code exchange, refresh, revoke, and the businesses a
user's consent reaches (``OAuthClient``).

providers.md 3.1, 3.2 and 7.2:
- authorize ``https://auth.freshbooks.com/oauth/authorize`` (``response_type=code``, the client id,
  the redirect URI, the scopes, ``state``). The redirect URI must be HTTPS and carry no query
  string: booksync's ``/oauth/freshbooks/callback`` has none, and the state travels in ``state``;
- ``POST https://api.freshbooks.com/auth/oauth/token``, form-encoded, the app naming itself with
  ``client_id`` and ``client_secret`` in the form (as the official SDK sends it). The answer
  carries ``access_token``, ``refresh_token``, ``expires_in`` and ``created_at`` (epoch seconds).
  Access tokens last 12 hours. A refresh token never expires but can be used ONCE: every refresh
  answers a new one and the one sent is spent, so two workers refreshing at once would leave one
  of them (and the company) with a dead token. The caller stores the new one under the fenced
  lease (``security/tokens.py``), which lets one worker refresh at a time. A spent, revoked or
  unknown refresh token is refused with ``invalid_grant``: Needs Reconnection. There is no grace
  on a spent token: a refresh whose answer is lost on the way back leaves the connection needing
  a reconnection, said so. A refresh sends no ``redirect_uri`` (the SDK sends one; the OAuth
  server FreshBooks runs, Doorkeeper by its error words, does not read it for a refresh, and the
  sync functions know no redirect URI): unconfirmed against FreshBooks itself;
- ``POST https://api.freshbooks.com/auth/oauth/revoke`` (``token=``) ends the grant;
- ``GET https://api.freshbooks.com/auth/api/v1/users/me``: the user's identity, whose
  ``business_memberships[].business`` are the businesses the token reaches, each with its
  ``account_id`` (the key of every accounting call) and its numeric ``id`` (the business id of
  projects and time tracking). ``business_clients[]``, and memberships whose role is ``client``,
  are businesses where the user is only a client: none of them is a book booksync can keep.

Refresh tokens never lapse unused, so FreshBooks needs no keep-alive: an idle connection is not
refreshed (its declaration says ``refresh_lapses`` False).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from booksync.errors import ConfigurationError, NeedsReconnection, Rejected, TransientError
from booksync.providers.freshbooks import LABEL, PROVIDER, RECONNECT_FIX
from booksync.providers.http import HttpClient, response_json
from booksync.providers.oauth_common import (
    AppWords,
    lifetime,
    oauth_error,
    oauth_refusal,
    token_answer,
    token_call,
    utcnow,
)
from booksync.providers.port import Organisation, TokenSet

if TYPE_CHECKING:
    import httpx

    from booksync.settings import FreshBooksSettings


AUTH_URL = "https://auth.freshbooks.com/oauth/authorize"
TOKEN_URL = "https://api.freshbooks.com/auth/oauth/token"
REVOKE_URL = "https://api.freshbooks.com/auth/oauth/revoke"
API_BASE_URL = "https://api.freshbooks.com"
IDENTITY_PATH = "/auth/api/v1/users/me"
ACCESS_LIFETIME = timedelta(hours=12)
CLIENT_SETTINGS = "FRESHBOOKS_CLIENT_ID and FRESHBOOKS_CLIENT_SECRET (FRESHBOOKS_CLIENT_SECRET_PARAM in AWS)"
WORDS = AppWords(
    label=LABEL,
    provider=PROVIDER,
    app_settings=CLIENT_SETTINGS,
    app_fix=f"Set {CLIENT_SETTINGS} to the keys of the FreshBooks app "
    "(my.freshbooks.com > Developer Portal).",
    reconnect_fix=RECONNECT_FIX,
    redirect_fix="Check the redirect URI registered for the FreshBooks app (HTTPS, no query string), "
    "then connect again.",
    said_keys=("error_description", "message"),
)


class FreshBooksOAuth:
    """The FreshBooks app's side of the OAuth code flow. ``now`` exists for tests."""

    name = PROVIDER
    uses_pkce = False  # FreshBooks documents no PKCE: the app authenticates with its secret

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        http: HttpClient | None = None,
        auth_url: str = AUTH_URL,
        token_url: str = TOKEN_URL,
        revoke_url: str = REVOKE_URL,
        api_base_url: str = API_BASE_URL,
        scopes: Sequence[str] = (),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError(
                f"the FreshBooks app credentials are missing: set {CLIENT_SETTINGS}", fix=WORDS.app_fix
            )
        self.client_id = client_id
        self._secret = client_secret
        self._http = http or HttpClient(provider=PROVIDER, label=f"{LABEL} sign-in")
        self.auth_url = auth_url
        self.token_url = token_url
        self.revoke_url = revoke_url
        self.identity_url = f"{api_base_url.rstrip('/')}{IDENTITY_PATH}"
        self.scopes = tuple(scopes)
        self._now = now

    @classmethod
    def from_settings(
        cls, settings: FreshBooksSettings, *, http: HttpClient | None = None
    ) -> FreshBooksOAuth:
        """The client the settings describe (credentials checked here, before any redirect)."""
        client_id, secret = settings.credentials()
        return cls(
            client_id=client_id,
            client_secret=secret,
            http=http,
            auth_url=settings.auth_url,
            token_url=settings.token_url,
            revoke_url=settings.revoke_url,
            api_base_url=settings.api_base_url,
            scopes=settings.scope_list,
        )

    def __repr__(self) -> str:  # the secret stays out of reprs and tracebacks
        return f"FreshBooksOAuth(client_id={self.client_id!r})"

    # ------------------------------------------------------------------ OAuthClient

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        if urlsplit(redirect_uri).query:
            raise ConfigurationError(
                f"{LABEL} refuses a redirect URI with a query string, and {redirect_uri!r} has one.",
                fix="Register booksync's callback without a query string "
                "(PUBLIC_API_BASE_URL + /oauth/freshbooks/callback); the state travels in state.",
            )
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri}
        if self.scopes:  # none: the scopes registered for the app
            params["scope"] = " ".join(self.scopes)
        return f"{self.auth_url}?{urlencode({**params, 'state': state})}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._token_call(form, secrets=(code,))

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token and the refresh token that replaces ``refresh_token``, which is
        spent from now on: the caller must store the new one (under its lease) or lose the grant."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        tokens = self._token_call(form, secrets=(refresh_token,))
        if tokens.refresh_token is None:
            raise NeedsReconnection(
                f"{LABEL} answered a refresh without the new refresh token it must issue, and the "
                "one sent is spent.",
                provider=PROVIDER,
                fix=RECONNECT_FIX,
            )
        return tokens

    def revoke(self, token: str) -> None:
        """Revoke the grant by one of its tokens. A token FreshBooks no longer knows is success."""
        response = self._http.request(
            "POST",
            self.revoke_url,
            headers=_FORM_HEADERS,
            content=urlencode(self._client_form({"token": token})).encode(),
            idempotent=True,  # revoking twice ends in the same state
        )
        if response.is_success or oauth_error(response) == "invalid_grant":
            return
        raise self._error(response, secrets=(token,))

    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        """Whether business ``account_id`` is among those FreshBooks says the tokens reach."""
        return any(org.id == account_id for org in self.list_organisations(tokens))

    def list_organisations(self, tokens: TokenSet) -> list[Organisation]:
        """The businesses the user is a member of (``business_memberships``, not
        ``business_clients``), each by its ``account_id``, with its business id beside it."""
        response = self._http.request(
            "GET",
            self.identity_url,
            headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"},
        )
        if not response.is_success:
            raise self._error(response, secrets=(tokens.access_token, tokens.refresh_token))
        body = response_json(response)
        identity = body.get("response") if isinstance(body, dict) else None
        memberships = identity.get("business_memberships") if isinstance(identity, dict) else None
        if not isinstance(memberships, list):
            raise TransientError(
                f"{LABEL} answered {IDENTITY_PATH} without the user's business memberships", provider=PROVIDER
            )
        return [org for org in (_business(m) for m in memberships) if org is not None]

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        """Revoke the grant: by its refresh token (which ends the access tokens issued with it),
        else by the access token, which would otherwise stay usable for up to 12 hours."""
        self.revoke(refresh_token or access_token)
        return True

    # ------------------------------------------------------------------ helpers

    def _client_form(self, form: dict[str, str]) -> dict[str, str]:
        """The app names itself in the form, as FreshBooks' own SDK does."""
        return {**form, "client_id": self.client_id, "client_secret": self._secret}

    def _token_call(self, form: dict[str, str], *, secrets: tuple[str | None, ...]) -> TokenSet:
        answer, asked_at = token_call(
            self._http,
            self.token_url,
            headers=_FORM_HEADERS,
            content=urlencode(self._client_form(form)).encode(),
            now=self._now,
            refused=lambda response: self._error(response, secrets=secrets),
        )
        body = token_answer(answer, label=LABEL, provider=PROVIDER)
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or None,
            # Counted from before the call (never later than FreshBooks' created_at + expires_in).
            access_expires_at=asked_at + lifetime(body.get("expires_in"), ACCESS_LIFETIME),
            refresh_expires_at=None,  # a FreshBooks refresh token never expires
        )

    def _error(self, response: httpx.Response, *, secrets: tuple[str | None, ...]) -> Exception:
        refused = oauth_refusal(response, WORDS, secrets=(*secrets, self._secret))
        if isinstance(refused, Rejected) and refused.status == 401:
            # An access token FreshBooks no longer takes (/users/me: {"error": "unauthenticated"}).
            return NeedsReconnection(refused.message, provider=PROVIDER, status=401, fix=RECONNECT_FIX)
        return refused


_FORM_HEADERS = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}


def _business(membership: object) -> Organisation | None:
    """One membership's business as an organisation booksync can connect; None without an
    account id (a business with no accounting books) or where the user's role is ``client`` (a
    client of that business reaches none of its books)."""
    if not isinstance(membership, dict) or membership.get("role") == "client":
        return None
    business = membership.get("business")
    if not isinstance(business, dict):
        return None
    account = str(business.get("account_id") or "")
    if not account:
        return None
    ids = {"account": account}
    if business.get("id") is not None:
        ids["business"] = str(business["id"])
    return Organisation(id=account, name=str(business.get("name") or "") or None, ids=ids)
