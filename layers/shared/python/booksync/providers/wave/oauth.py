"""Wave OAuth 2.0: authorization URL, code exchange, refresh, the businesses a consent reaches and
giving a grant up (``OAuthClient``).

providers.md 4 and 7.3 (7.3 wins):
- authorize ``https://api.waveapps.com/oauth2/authorize/`` with Wave's ``resource:operation``
  scopes, space-delimited (a setting, ``WAVE_SCOPES``; write does not imply read);
- ``POST https://api.waveapps.com/oauth2/token/`` (the trailing slash is Wave's), form-encoded,
  the app naming itself by ``client_id`` and ``client_secret`` in the form. Access tokens last
  about two hours (``expires_in`` says). A refresh MAY rotate the refresh token, and an answer
  may omit one: then the one sent stays the connection's (``refresh`` keeps it). The caller
  stores what comes back under the fenced lease (``security/tokens.py``). A refused grant is 400
  ``{"error": "invalid_grant"}``: Needs Reconnection;
- Wave publishes no revocation endpoint: a user removes an app in Wave itself (the connected apps
  of the business's settings). ``disconnect`` revokes nothing and says so (False);
- the token answer is for a user, who may own several businesses: ``list_organisations`` asks the
  GraphQL API (``POST https://gql.waveapps.com/graphql/public``) for ``businesses``, page by page.
  Wave lets apps connect only businesses on its paid plans (Wave Pro, Wave Advisors) and only in
  USD or CAD: a business in another currency is no choice, and a consent whose businesses are all
  refused raises ``NotConnectable`` saying which and why, which booksync shows on the card. The
  plan is not in the API's answer: Wave's consent screen enforces it, and its refusal comes back
  on the redirect (``PROFILE.connect_requirements`` says it there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from booksync.errors import ConfigurationError, NotConnectable
from booksync.providers.http import HttpClient, dumps_json, response_json
from booksync.providers.oauth_common import (
    AppWords,
    lifetime,
    oauth_refusal,
    token_answer,
    token_call,
    utcnow,
)
from booksync.providers.port import Organisation, TokenSet
from booksync.providers.wave import LABEL, PROVIDER, RECONNECT_FIX
from booksync.providers.wave.client import nodes, operation, total_pages
from booksync.providers.wave.faults import graphql_error, http_error

if TYPE_CHECKING:
    import httpx

    from booksync.settings import WaveSettings


Json = dict[str, Any]
AUTH_URL = "https://api.waveapps.com/oauth2/authorize/"
TOKEN_URL = "https://api.waveapps.com/oauth2/token/"
GRAPHQL_URL = "https://gql.waveapps.com/graphql/public"
ACCESS_LIFETIME = timedelta(hours=2)  # when the answer has no expires_in
CLIENT_SETTINGS = "WAVE_CLIENT_ID and WAVE_CLIENT_SECRET (WAVE_CLIENT_SECRET_PARAM in AWS)"
CLIENT_FIX = f"Set {CLIENT_SETTINGS} to the keys of the Wave app (Wave's developer portal > Applications)."
WORDS = AppWords(
    label=LABEL,
    provider=PROVIDER,
    app_settings=CLIENT_SETTINGS,
    app_fix=CLIENT_FIX,
    reconnect_fix=RECONNECT_FIX,
    redirect_fix="Check the redirect URI registered for the Wave app, then connect again.",
)
# What a business needs for Wave to let an app connect it (providers.md 4).
CURRENCIES = ("USD", "CAD")
PLANS = "Wave Pro or Wave Advisors"
REQUIREMENTS = (
    f"Wave lets apps connect only businesses on {PLANS} whose currency is USD or CAD: a business "
    "on Wave's free Starter plan, or in another currency, cannot be connected."
)
BUSINESSES_PAGE = 50
BUSINESSES_QUERY = """
query WaveBusinesses($page: Int!, $pageSize: Int!) {
  businesses(page: $page, pageSize: $pageSize) {
    pageInfo { currentPage totalPages }
    edges { node { id name isArchived currency { code } } }
  }
}
"""


class WaveOAuth:
    """The Wave app's side of the OAuth code flow (no PKCE: Wave documents none). ``now`` exists
    for tests."""

    name = PROVIDER
    uses_pkce = False

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        http: HttpClient | None = None,
        auth_url: str = AUTH_URL,
        token_url: str = TOKEN_URL,
        graphql_url: str = GRAPHQL_URL,
        scopes: Sequence[str],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError(
                f"the Wave app credentials are missing: set {CLIENT_SETTINGS}",
                fix=CLIENT_FIX,
            )
        self.client_id = client_id
        self._secret = client_secret
        self._http = http or HttpClient(provider=PROVIDER, label=f"{LABEL} sign-in")
        self.auth_url = auth_url
        self.token_url = token_url
        self.graphql_url = graphql_url
        self.scopes = tuple(scopes)
        self._now = now

    @classmethod
    def from_settings(cls, settings: WaveSettings, *, http: HttpClient | None = None) -> WaveOAuth:
        """The client the settings describe (credentials checked here, before any redirect)."""
        client_id, secret = settings.credentials()
        return cls(
            client_id=client_id,
            client_secret=secret,
            http=http,
            auth_url=settings.auth_url,
            token_url=settings.token_url,
            graphql_url=settings.graphql_url,
            scopes=settings.scope_list,
        )

    def __repr__(self) -> str:  # the secret stays out of reprs and tracebacks
        return f"WaveOAuth(client_id={self.client_id!r})"

    # ------------------------------------------------------------------ OAuthClient

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{self.auth_url}?{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._token_call(form, secrets=(code,))

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token, and the refresh token to keep: the new one when Wave rotated it,
        else the one sent (Wave may answer without one, and the one sent then stays good)."""
        tokens = self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, secrets=(refresh_token,)
        )
        return tokens if tokens.refresh_token else replace(tokens, refresh_token=refresh_token)

    def revoke(self, token: str) -> None:
        """Wave publishes no revocation endpoint: nothing is sent (``disconnect`` says so)."""

    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        """Whether business ``account_id`` is one the tokens reach and booksync can connect."""
        return any(org.id == account_id for org in self.list_organisations(tokens))

    def list_organisations(self, tokens: TokenSet) -> list[Organisation]:
        """The user's businesses Wave lets an app connect (USD or CAD, not archived), each by its
        id. When the user has businesses and none of them can be connected, ``NotConnectable``
        names each and why."""
        listed = self._businesses(tokens.access_token)
        usable = [b for b in listed if not refusal(b)]
        if listed and not usable:
            raise NotConnectable(
                "None of the Wave businesses this sign-in reaches can be connected: "
                + "; ".join(f"{b.get('name') or b.get('id')} ({refusal(b)})" for b in listed)
                + f". {REQUIREMENTS}",
                provider=PROVIDER,
                fix="In Wave, connect a USD or CAD business on Wave Pro (upgrade the business in "
                "Wave's Settings > Subscription, or create one in USD or CAD), then connect Wave again.",
            )
        return [
            Organisation(
                id=str(b["id"]), name=str(b.get("name") or "") or None, ids={"business": str(b["id"])}
            )
            for b in usable
        ]

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        """Wave offers no way for an app to give a grant up (no revocation endpoint is published):
        nothing is sent and this answers False; the tokens are deleted here, and the user removes
        booksync from the business's connected apps in Wave to end the grant there."""
        return False

    # ------------------------------------------------------------------ helpers

    def _businesses(self, access_token: str) -> list[Mapping[str, Any]]:
        """Every business the user reaches, read page by page."""
        found: list[Mapping[str, Any]] = []
        page = 1
        while True:
            businesses = self._graphql(
                access_token, BUSINESSES_QUERY, {"page": page, "pageSize": BUSINESSES_PAGE}
            ).get("businesses")
            rows = nodes(businesses)
            found += [row for row in rows if row.get("id")]
            if page >= total_pages(businesses) or not rows:
                return found
            page += 1

    def _graphql(self, access_token: str, query: str, variables: Mapping[str, Any]) -> Json:
        """One GraphQL read with the user's token, before any business is chosen (the adapter's
        client is a business's). Wave's errors at HTTP 200 are read as the adapter reads them."""
        name = operation(query)[1]
        response = self._http.request(
            "POST",
            self.graphql_url,
            headers={
                "Authorization": f"Bearer {access_token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            content=dumps_json({"query": query, "variables": dict(variables), "operationName": name}),
            read=True,
        )
        body = response_json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            found = [e for e in errors if isinstance(e, Mapping)]
            raise graphql_error(found, operation=name, write=False, secrets=(access_token,))
        data = body.get("data") if isinstance(body, dict) else None
        if not response.is_success or not isinstance(data, dict):
            raise http_error(response.status_code, response.text, write=False)
        return data

    def _token_call(self, form: dict[str, str], *, secrets: tuple[str | None, ...]) -> TokenSet:
        answer, asked_at = token_call(
            self._http,
            self.token_url,
            headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
            content=urlencode({**form, "client_id": self.client_id, "client_secret": self._secret}).encode(),
            now=self._now,
            refused=lambda response: self._error(response, secrets=secrets),
        )
        body = token_answer(answer, label=LABEL, provider=PROVIDER)
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or None,
            access_expires_at=asked_at + lifetime(body.get("expires_in"), ACCESS_LIFETIME),
            # Wave does not say how long a refresh token lasts (providers.md 4: unconfirmed).
            refresh_expires_at=None,
        )

    def _error(self, response: httpx.Response, *, secrets: tuple[str | None, ...]) -> Exception:
        return oauth_refusal(response, WORDS, secrets=(*secrets, self._secret))


def refusal(business: Mapping[str, Any]) -> str | None:
    """Why Wave would not let booksync connect ``business`` (one of ``businesses``), or None."""
    if business.get("isArchived") is True:
        return "archived in Wave"
    currency = business.get("currency")
    code = currency.get("code") if isinstance(currency, Mapping) else None
    if code not in CURRENCIES:
        return f"its currency is {code or 'not said'}, and Wave lets apps connect only USD and CAD businesses"
    return None
