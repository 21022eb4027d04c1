"""FreshBooks' OAuth 2.0 server and identity (providers.md 3.1, 3.2, 7.2; freshbooks-sdk client.py):

- ``GET /oauth/authorize`` (``response_type=code``, ``client_id``, ``redirect_uri``, optional
  ``scope``, ``state``): the page where the user allows the app; the redirect URI must be one
  registered for the app, and FreshBooks' redirect URIs carry no query string (the state travels
  in ``state``). The user grants their identity, with every business they belong to.
- ``POST /auth/oauth/token`` (form-encoded as the SDK sends it, or JSON): ``authorization_code``
  (a code lasts 5 minutes and is used once) or ``refresh_token``. The answer carries
  ``created_at`` (epoch seconds) beside ``expires_in`` (12 hours). A refresh token can be used
  ONCE: every refresh answers a new one, and the spent one is refused with ``invalid_grant``
  (Doorkeeper's 400 and words) like any unknown one.
- ``POST /auth/oauth/revoke`` (``token``: access or refresh): the grant ends; 200 ``{}``.
- ``GET /auth/api/v1/users/me``: the identity and its ``business_memberships``; 401
  ``{"error": "unauthenticated", ...}`` without a valid bearer token.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.sandboxes.freshbooks import errors
from local.sandboxes.freshbooks.books import DEFAULT_USER, Businesses
from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.freshbooks.errors import OAuthError
from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.oauth import AccessTokens, BearerRefused, error_page, with_query
from local.sandboxes.kit.wire import Request, Response, html_response, json_response, redirect

AUTHORIZE_PATH = "/oauth/authorize"
CONSENT_PATH = "/oauth/authorize/consent"
TOKEN_PATH = "/auth/oauth/token"
REVOKE_PATH = "/auth/oauth/revoke"
ME_PATH = "/auth/api/v1/users/me"
# FreshBooks' scopes are user:<object>:<read|write> (providers.md 3.1).
DEFAULT_SCOPES = (
    "user:profile:read user:clients:read user:clients:write user:invoices:read user:invoices:write "
    "user:payments:read user:payments:write user:billable_items:read user:billable_items:write "
    "user:taxes:read user:taxes:write"
)


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scopes: str
    identity_id: int  # the user who logged in and allowed
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    """The user's authorization of one app: its current refresh token and those it spent."""

    id: str
    client_id: str
    scopes: str
    identity_id: int
    refresh_token: str
    spent: set[str] = field(default_factory=set)
    revoked: bool = False

    @property
    def account(self) -> str:
        return self.id


class FreshBooksIdentity:
    def __init__(self, config: FreshBooksConfig, clock: SandboxClock, businesses: Businesses) -> None:
        self.config = config
        self.clock = clock
        self.businesses = businesses
        self.lock = threading.Lock()
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: AccessTokens[Grant] = AccessTokens(clock)
        self.token_calls = 0  # answered token calls (the refresh stampede test counts them)
        self.reused_refresh = 0  # spent refresh tokens presented again

    def reset(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.tokens.clear()
            self.token_calls = 0
            self.reused_refresh = 0

    # ------------------------------------------------------------ authorize

    def authorize(self, request: Request) -> Response:
        client_id = request.param("client_id") or ""
        app = self.config.clients.get(client_id)
        if app is None:
            return error_page("The client identifier provided is invalid.", "FreshBooks | Error")
        redirect_uri = request.param("redirect_uri") or ""
        if urlsplit(redirect_uri).query:
            return error_page(
                "The redirect URI must not contain a query string: pass your own values in state.",
                "FreshBooks | Error",
            )
        if redirect_uri not in app.redirect_uris:
            return error_page(errors.OAUTH_DESCRIPTIONS["invalid_redirect_uri"], "FreshBooks | Error")
        state = request.param("state")
        if request.param("response_type") != "code":
            return redirect(with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}))
        hidden = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": request.param("scope") or DEFAULT_SCOPES,
            "state": state or "",
        }
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in hidden.items()
        )
        page = (
            "<!doctype html><title>FreshBooks | Authorize</title><h1>Authorize this application</h1>"
            "<p>Log in to FreshBooks and allow the application to use your account.</p>"
            f'<form method="post" action="{CONSENT_PATH}">{fields}'
            f'<label>E-mail <input type="email" name="login" value="{DEFAULT_USER}"></label>'
            '<button name="decision" value="allow">Allow</button>'
            '<button name="decision" value="deny">Deny</button></form>'
        )
        return html_response(200, page)

    def consent(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        client_id, redirect_uri = form.get("client_id", ""), form.get("redirect_uri", "")
        state = form.get("state") or None
        app = self.config.clients.get(client_id)
        if app is None or redirect_uri not in app.redirect_uris:
            return error_page("Invalid client or redirect URI", "FreshBooks | Error")
        if form.get("decision") != "allow":
            return redirect(with_query(redirect_uri, {"error": "access_denied", "state": state}))
        user = self.businesses.known(form.get("login") or DEFAULT_USER)
        if user is None:
            return error_page("No FreshBooks account has this e-mail.", "FreshBooks | Log in")
        code = secrets.token_hex(32)
        with self.lock:
            self.codes[code] = AuthCode(
                client_id,
                redirect_uri,
                form.get("scope") or DEFAULT_SCOPES,
                user.identity_id,
                self.clock.now() + self.config.auth_code_lifetime_s,
            )
        return redirect(with_query(redirect_uri, {"code": code, "state": state}))

    # ------------------------------------------------------------ tokens

    @staticmethod
    def _fields(request: Request) -> dict[str, str]:
        """The token and revoke endpoints read a form (what the SDK posts) or a JSON object."""
        if "json" in (request.header("content-type") or ""):
            try:
                body = json.loads(request.body.decode("utf-8") or "{}")
            except ValueError:
                raise OAuthError("invalid_request") from None
            if not isinstance(body, dict):
                raise OAuthError("invalid_request")
            return {key: str(value) for key, value in body.items() if value is not None}
        return request.form()

    def token(self, request: Request) -> Response:
        try:
            form = self._fields(request)
            with self.lock:
                answer = self._token(form)
                self.token_calls += 1
        except OAuthError as error:
            return error.response()
        return json_response(200, answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client(self, form: dict[str, str]) -> str:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        app = self.config.clients.get(client_id)
        if app is None or secret is None or not hmac.compare_digest(secret, app.secret):
            raise OAuthError("invalid_client", 401)
        return client_id

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(form)
        if grant_type == "refresh_token":
            return self._refresh(form)
        if not grant_type:
            raise OAuthError("invalid_request")
        raise OAuthError("unsupported_grant_type")

    def _redeem(self, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._client(form)
        code = self.codes.get(form.get("code", ""))
        if code is None or code.used or code.client_id != client_id or code.expires_at <= self.clock.now():
            raise OAuthError("invalid_grant")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant")
        code.used = True
        grant = Grant(secrets.token_hex(16), client_id, code.scopes, code.identity_id, secrets.token_hex(32))
        self.grants[grant.id] = grant
        return self._answer(grant)

    def _refresh(self, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._client(form)
        token = form.get("refresh_token", "")
        for grant in self.grants.values():
            if grant.client_id != client_id:
                continue
            if token in grant.spent:
                self.reused_refresh += 1
                raise OAuthError("invalid_grant")
            if not grant.revoked and hmac.compare_digest(token, grant.refresh_token):
                grant.spent.add(token)
                grant.refresh_token = secrets.token_hex(32)
                return self._answer(grant)
        raise OAuthError("invalid_grant")

    def _answer(self, grant: Grant) -> dict[str, Any]:
        access = secrets.token_hex(32)
        self.tokens.issue(access, grant, self.config.access_token_lifetime_s)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.config.access_token_lifetime_s,
            "refresh_token": grant.refresh_token,
            "scope": grant.scopes,
            "created_at": int(time.time()),
        }

    def revoke(self, request: Request) -> Response:
        """RFC 7009 as Doorkeeper answers it: 200 ``{}`` whether or not the token was known."""
        try:
            form = self._fields(request)
            with self.lock:
                client_id = self._client(form)
                token = form.get("token", "")
                for grant in self.grants.values():
                    if grant.client_id != client_id:
                        continue
                    access = self.tokens.tokens.get(token)
                    if token == grant.refresh_token or (access is not None and access.grant is grant):
                        grant.revoked = True
        except OAuthError as error:
            return error.response()
        return json_response(200, {})

    # ------------------------------------------------------------ bearer and identity

    def grant_of(self, authorization: str | None) -> Grant:
        """The grant of a bearer token; OAuthError 401 ``unauthenticated`` if it does not authenticate."""
        with self.lock:
            try:
                return self.tokens.check(authorization).grant
            except BearerRefused:
                raise errors.unauthenticated() from None

    def me(self, request: Request) -> Response:
        try:
            grant = self.grant_of(request.header("authorization"))
        except OAuthError as error:
            return error.response()
        return json_response(200, {"response": self.businesses.identity(grant.identity_id)})

    def revoke_all(self, identity_id: int | None = None) -> int:
        """As if the user disconnected the app in FreshBooks: the user's grants end (every
        user's when none is named)."""
        with self.lock:
            live = [
                grant
                for grant in self.grants.values()
                if not grant.revoked and identity_id in (None, grant.identity_id)
            ]
            for grant in live:
                grant.revoked = True
            return len(live)

    def expire(self) -> int:
        """Every access token expires now (control API)."""
        with self.lock:
            hit = list(self.tokens.tokens.values())
            for access in hit:
                access.expires_at = self.clock.now() - 1
            return len(hit)
