"""Intuit OAuth 2.0: authorization URL, code exchange, refresh, revoke (``OAuthClient``).

Token calls are form-encoded POSTs with ``Authorization: Basic base64(client_id:client_secret)``;
revoke is a JSON POST with the same header (intuit/oauth-pythonclient). Refresh tokens rotate:
the caller must store the refresh token of every answer, and must never run two refreshes of
one connection at once (a lost race ends in invalid_grant). So token calls are never retried
inline once sent: a refresh whose answer was lost may already have rotated the token.

The realmId arrives on the redirect (``?code=…&state=…&realmId=…``), not in the token answer:
the callback passes it to ``exchange_code(realm_id=…)``, which puts it in ``TokenSet.account_id``.
The browser brings it, so it can be edited: ``owns_account`` reads that company's CompanyInfo
with the new tokens before it is claimed (Intuit answers 403, or 401, to another company's token).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from booksync.errors import ConfigurationError
from booksync.providers.http import HttpClient, dumps_json, redact, response_json
from booksync.providers.oauth_common import (
    grant_refused,
    sign_in_refused,
    the_one_organisation,
    token_answer,
    token_call,
    utcnow,
)
from booksync.providers.port import Organisation, TokenSet
from booksync.providers.quickbooks.faults import LABEL, PROVIDER, RECONNECT_FIX

if TYPE_CHECKING:
    import httpx

AUTH_URL = "https://appcenter.intuit.com/connect/oauth2"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
API_BASE_URL = "https://quickbooks.api.intuit.com"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"

CLIENT_SETTINGS = "QBO_CLIENT_ID and QBO_CLIENT_SECRET (QBO_CLIENT_SECRET_PARAM in AWS)"


class QuickBooksOAuth:
    """The Intuit app's side of the OAuth flow. ``now`` exists for tests."""

    name = PROVIDER
    uses_pkce = False  # Intuit documents no PKCE for QuickBooks Online: the code flow with the client secret

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
        scopes: Sequence[str] = (ACCOUNTING_SCOPE,),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError(f"the Intuit app credentials are missing: set {CLIENT_SETTINGS}")
        self.client_id = client_id
        self._secret = client_secret
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._http = http or HttpClient(
            provider=PROVIDER, label=f"{LABEL} sign-in", trace_header="intuit_tid"
        )
        self.auth_url = auth_url
        self.token_url = token_url
        self.revoke_url = revoke_url
        self.api_base_url = api_base_url.rstrip("/")
        self.scopes = tuple(scopes)
        self._now = now

    def __repr__(self) -> str:  # the secret and the Basic header stay out of reprs and tracebacks
        return f"QuickBooksOAuth(client_id={self.client_id!r})"

    # ------------------------------------------------------------------ OAuthClient

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if code_challenge is not None:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.auth_url}?{urlencode(params)}"

    def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
        realm_id: str | None = None,
    ) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self._token_call(form, secrets=(code, code_verifier), account_id=realm_id)

    def refresh(self, refresh_token: str) -> TokenSet:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_call(form, secrets=(refresh_token,), account_id=None)

    def revoke(self, token: str) -> None:
        """Revoke a refresh (or access) token. Revoking a token that is already dead is success."""
        response = self._http.request(
            "POST",
            self.revoke_url,
            headers=self._headers("application/json"),
            content=dumps_json({"token": token}).encode(),
            idempotent=True,  # revoking twice ends in the same state
        )
        if response.is_success or response.status_code == 400:
            return
        raise self._error(response, secrets=(token,))

    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        """Whether the tokens are realm ``account_id``'s: its CompanyInfo read with them (one GET
        bound to the realm). Intuit refuses another company's token (403, or 401)."""
        realm = quote(account_id, safe="")
        response = self._http.request(
            "GET",
            f"{self.api_base_url}/v3/company/{realm}/companyinfo/{realm}",
            headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"},
        )
        if response.is_success:
            return True
        if response.status_code in (401, 403):
            return False
        raise self._error(response, secrets=(tokens.access_token, tokens.refresh_token))

    def list_organisations(self, tokens: TokenSet) -> list[Organisation]:
        """A consent is for one company: the realm the redirect named (confirmed by ``owns_account``)."""
        return the_one_organisation(tokens, PROVIDER)

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        """Intuit keeps nothing but the grant: revoking the refresh token ends it."""
        self.revoke(refresh_token or access_token)
        return True

    # ------------------------------------------------------------------ helpers

    def _headers(self, content_type: str) -> dict[str, str]:
        return {"Authorization": self._basic, "Accept": "application/json", "Content-Type": content_type}

    def _token_call(
        self, form: dict[str, str], *, secrets: tuple[str | None, ...], account_id: str | None
    ) -> TokenSet:
        body, asked_at = token_call(
            self._http,
            self.token_url,
            headers=self._headers("application/x-www-form-urlencoded"),
            content=urlencode(form).encode(),
            now=self._now,
            refused=lambda response: self._error(response, secrets=secrets),
        )
        return self._token_set(body, asked_at, account_id)

    def _token_set(self, answer: Any, asked_at: datetime, account_id: str | None) -> TokenSet:
        body = token_answer(answer, label=LABEL, provider=PROVIDER)
        refresh_in = body.get("x_refresh_token_expires_in")
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or None,
            access_expires_at=asked_at + timedelta(seconds=_seconds(body.get("expires_in"), 3600)),
            refresh_expires_at=(
                asked_at + timedelta(seconds=_seconds(refresh_in, 0)) if refresh_in is not None else None
            ),
            account_id=account_id,
        )

    def _error(self, response: httpx.Response, *, secrets: tuple[str | None, ...]) -> Exception:
        body = response_json(response)
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        said = redact(
            str(body.get("error_description", "")) if isinstance(body, dict) else "",
            (*secrets, self._secret),
        )
        status = response.status_code
        if error == "invalid_grant":
            return grant_refused(label=LABEL, provider=PROVIDER, said=said, status=status, fix=RECONNECT_FIX)
        if error == "invalid_client" or status == 401:
            return ConfigurationError(
                f"Intuit does not recognise the app's client id or secret: check {CLIENT_SETTINGS}",
                fix=f"Set {CLIENT_SETTINGS} to the keys of the Intuit app (Development or Production).",
            )
        return sign_in_refused(
            label=LABEL,
            provider=PROVIDER,
            code=error or None,
            said=said,
            status=status,
            fix="Check the redirect URI registered for the Intuit app, then connect again.",
        )


def _seconds(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
