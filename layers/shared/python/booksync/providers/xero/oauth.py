"""Xero OAuth 2.0: authorization URL, code exchange, refresh, revoke, the organisations a consent
grants and disconnecting one (``OAuthClient``).

providers.md 2.1 and 7.1:
- authorize ``https://login.xero.com/identity/connect/authorize`` with the granular scopes apps
  created since 2026-03-02 must ask for (a setting, ``XERO_SCOPES``) and ``offline_access``, without
  which no refresh token comes; PKCE (S256) where configured (``XERO_OAUTH_FLOW=pkce``);
- ``POST https://identity.xero.com/connect/token``, form-encoded, the app authenticated by
  ``Authorization: Basic`` (in the PKCE flow without a secret: ``client_id`` in the form and the
  ``code_verifier`` with the code). Access tokens last 30 minutes. Refresh tokens rotate: every
  refresh answers a new one, which the caller stores (``security/tokens.py`` writes it under the
  fenced lease). If the answer is lost, the spent token is accepted again for 30 minutes and gives
  the same new one, so a refresh whose write lost its lease can be redone in that time. A refresh
  token unused for 60 days lapses (the keep-alive refreshes idle connections daily). A refused
  grant is 400 ``{"error": "invalid_grant"}``: Needs Reconnection;
- ``POST https://identity.xero.com/connect/revocation`` (``token=<refresh token>``) ends the grant;
- ``GET https://api.xero.com/connections`` lists the tenants the user connected the app to (each a
  connection id and a tenantId, the ``xero-tenant-id`` of every Accounting call);
  ``DELETE /connections/{id}`` removes one (204).

The token answer names no organisation: ``list_organisations`` asks ``/connections`` for those
the consent granted (``?authEventId=``, the ``authentication_event_id`` claim of its access token:
``/connections`` alone lists every organisation the user ever connected the app to), and the
core lists them for an admin to pick when there are several.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from booksync.errors import ConfigurationError, NeedsReconnection, TransientError
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

    from booksync.settings import XeroSettings

PROVIDER = "xero"
LABEL = "Xero"
RECONNECT_FIX = "Reconnect Xero in booksync's settings, signed in as a Xero user of this organisation."

AUTH_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"
REVOKE_URL = "https://identity.xero.com/connect/revocation"
CONNECTIONS_URL = "https://api.xero.com/connections"
ACCESS_LIFETIME = timedelta(minutes=30)
REFRESH_IDLE_LIFETIME = timedelta(days=60)  # a refresh token unused this long lapses
CLIENT_SETTINGS = "XERO_CLIENT_ID and XERO_CLIENT_SECRET (XERO_CLIENT_SECRET_PARAM in AWS)"
WORDS = AppWords(
    label=LABEL,
    provider=PROVIDER,
    app_settings=CLIENT_SETTINGS,
    app_fix=f"Set {CLIENT_SETTINGS} to the keys of the Xero app (developer.xero.com > My Apps).",
    reconnect_fix=RECONNECT_FIX,
    redirect_fix="Check the redirect URI registered for the Xero app, then connect again.",
    said_keys=("error_description", "Detail"),
)


class XeroOAuth:
    """The Xero app's side of the OAuth code flow, or of the PKCE flow when ``uses_pkce`` (then
    the secret may be absent: Xero's PKCE apps have none). ``now`` exists for tests."""

    name = PROVIDER

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        http: HttpClient | None = None,
        auth_url: str = AUTH_URL,
        token_url: str = TOKEN_URL,
        revoke_url: str = REVOKE_URL,
        connections_url: str = CONNECTIONS_URL,
        scopes: Sequence[str],
        now: Callable[[], datetime] = utcnow,
        uses_pkce: bool = False,
    ) -> None:
        if not client_id or (not client_secret and not uses_pkce):
            raise ConfigurationError(
                f"the Xero app credentials are missing: set {CLIENT_SETTINGS}",
                fix=WORDS.app_fix,
            )
        if "offline_access" not in scopes:
            raise ConfigurationError(
                "XERO_SCOPES lacks offline_access: Xero would issue no refresh token and every "
                "connection would end after 30 minutes.",
                fix="Add offline_access to XERO_SCOPES.",
            )
        self.client_id = client_id
        self._secret = client_secret or None
        self._http = http or HttpClient(
            provider=PROVIDER, label=f"{LABEL} sign-in", trace_header="xero-correlation-id"
        )
        self.auth_url = auth_url
        self.token_url = token_url
        self.revoke_url = revoke_url
        self.connections_url = connections_url.rstrip("/")
        self.scopes = tuple(scopes)
        self._now = now
        self.uses_pkce = uses_pkce

    @classmethod
    def from_settings(cls, settings: XeroSettings, *, http: HttpClient | None = None) -> XeroOAuth:
        """The client the settings describe (credentials checked here, before any redirect)."""
        client_id, secret = settings.credentials()
        return cls(
            client_id=client_id,
            client_secret=secret,
            http=http,
            auth_url=settings.auth_url,
            token_url=settings.token_url,
            revoke_url=settings.revoke_url,
            connections_url=settings.connections_url,
            scopes=settings.scope_list,
            uses_pkce=settings.uses_pkce,
        )

    def __repr__(self) -> str:  # the secret stays out of reprs and tracebacks
        return f"XeroOAuth(client_id={self.client_id!r}, uses_pkce={self.uses_pkce})"

    # ------------------------------------------------------------------ OAuthClient

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.scopes),
            "state": state,
        }
        if code_challenge is not None:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.auth_url}?{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self._token_call(form, secrets=(code, code_verifier))

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token and the refresh token that replaces ``refresh_token`` (rotated: the
        caller must store it; the one sent stays valid only 30 minutes more)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        tokens = self._token_call(form, secrets=(refresh_token,))
        if tokens.refresh_token is None:
            raise NeedsReconnection(
                f"{LABEL} answered a refresh without the new refresh token it must issue; the one "
                "sent is spent (accepted again for 30 minutes only).",
                provider=PROVIDER,
                fix=RECONNECT_FIX,
            )
        return tokens

    def revoke(self, token: str) -> None:
        """Revoke the grant by its refresh token. A token Xero no longer accepts is success."""
        response = self._http.request(
            "POST",
            self.revoke_url,
            headers=self._headers(),
            content=urlencode(self._client_form({"token": token})).encode(),
            idempotent=True,  # revoking twice ends in the same state
        )
        if response.is_success or oauth_error(response) == "invalid_grant":
            return
        raise self._error(response, secrets=(token,))

    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        """Whether tenant ``account_id`` is among the organisations Xero says the tokens reach."""
        return any(org.id == account_id for org in self.list_organisations(tokens))

    def list_organisations(self, tokens: TokenSet) -> list[Organisation]:
        """The organisations (``tenantType`` ORGANISATION; practices have no Accounting API) the
        consent behind these tokens granted, from ``GET /connections?authEventId=`` (the access
        token's ``authentication_event_id``; a token without that claim lists every connection)."""
        event = auth_event_id(tokens.access_token)
        response = self._http.request(
            "GET",
            self.connections_url,
            params={"authEventId": event} if event else None,
            headers=_bearer(tokens.access_token),
        )
        if not response.is_success:
            raise self._error(response, secrets=(tokens.access_token, tokens.refresh_token))
        body = response_json(response)
        if not isinstance(body, list):
            raise TransientError(f"{LABEL} answered /connections without a list", provider=PROVIDER)
        return [
            Organisation(
                id=str(c["tenantId"]),
                name=str(c.get("tenantName") or "") or None,
                ids={"tenant": str(c["tenantId"]), "connection": str(c["id"])},
            )
            for c in body
            if isinstance(c, dict)
            and c.get("tenantType", "ORGANISATION") == "ORGANISATION"
            and c.get("tenantId")
            and c.get("id")
        ]

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        """Remove the tenant's connection (``DELETE /connections/{id}``), then revoke the grant
        by its refresh token. A connection already gone (404) is success; an expired access token
        (401) leaves the deletion to the revocation, which ends every connection of the grant.
        Without a refresh token there is nothing to revoke (Xero revokes refresh tokens only, and
        the access token ends by itself within 30 minutes): the connection's deletion is all."""
        connection = ids.get("connection")
        if connection:
            response = self._http.request(
                "DELETE",
                f"{self.connections_url}/{quote(connection, safe='')}",
                headers=_bearer(access_token),
                idempotent=True,  # deleting twice ends in the same state
            )
            if not (response.is_success or response.status_code in (401, 404)):
                raise self._error(response, secrets=(access_token, refresh_token))
        if refresh_token:
            self.revoke(refresh_token)
        return True

    # ------------------------------------------------------------------ helpers

    def _client_form(self, form: dict[str, str]) -> dict[str, str]:
        """Without a secret (PKCE) the app names itself in the form; with one, Basic does."""
        return form if self._secret else {**form, "client_id": self.client_id}

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        if self._secret:
            basic = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        return headers

    def _token_call(self, form: dict[str, str], *, secrets: tuple[str | None, ...]) -> TokenSet:
        answer, asked_at = token_call(
            self._http,
            self.token_url,
            headers=self._headers(),
            content=urlencode(self._client_form(form)).encode(),
            now=self._now,
            refused=lambda response: self._error(response, secrets=secrets),
        )
        body = token_answer(answer, label=LABEL, provider=PROVIDER)
        refresh = body.get("refresh_token") or None
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=refresh,
            access_expires_at=asked_at + lifetime(body.get("expires_in"), ACCESS_LIFETIME),
            refresh_expires_at=asked_at + REFRESH_IDLE_LIFETIME if refresh else None,
        )

    def _error(self, response: httpx.Response, *, secrets: tuple[str | None, ...]) -> Exception:
        return oauth_refusal(response, WORDS, secrets=(*secrets, self._secret))


def auth_event_id(access_token: str) -> str | None:
    """The consent an access token comes from: the ``authentication_event_id`` claim of Xero's
    JWT. Read, not verified: booksync got the token from Xero's token endpoint itself, over TLS,
    and uses the claim only to ask Xero which connections that consent made. None when the token
    is no JWT or lacks the claim."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    event = claims.get("authentication_event_id") if isinstance(claims, dict) else None
    return event if isinstance(event, str) and event else None


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
