"""Intuit's OAuth 2.0 authorization-code flow: consent page, token endpoint, rotation, revocation."""

from __future__ import annotations

import html
import secrets
import threading
from collections import Counter
from dataclasses import dataclass

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.oauth import (
    AccessTokens,
    BearerRefused,
    Refusal,
    basic_credentials,
    error_page,
    revoke_grants,
    with_query,
)
from local.sandboxes.kit.wire import Request, Response, html_response, json_response, redirect
from local.sandboxes.quickbooks import errors
from local.sandboxes.quickbooks.books import Books
from local.sandboxes.quickbooks.config import SandboxConfig

KNOWN_SCOPES = {
    "com.intuit.quickbooks.accounting",
    "com.intuit.quickbooks.payment",
    "openid",
    "profile",
    "email",
    "phone",
    "address",
}
# Intuit's words for a bearer token that does not authenticate (AuthenticationFailed, 3200).
_REFUSALS = {
    Refusal.MISSING: "Authorization header missing or not a bearer token",
    Refusal.UNKNOWN: "Token invalid",
    Refusal.REVOKED: "Token revoked",
    Refusal.EXPIRED: "Token expired: the access token has expired",
}
INVALID_REFRESH = {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    realm_id: str
    scope: str
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    """One connection of an app to a company; its refresh token rotates on every use."""

    id: str
    client_id: str
    realm_id: str
    scope: str
    refresh_token: str
    refresh_expires_at: float
    revoked: bool = False

    @property
    def account(self) -> str:
        return self.realm_id


class OAuthServer:
    def __init__(self, config: SandboxConfig, clock: SandboxClock, books: Books) -> None:
        self.config = config
        self.clock = clock
        self.books = books
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        # Every refresh token ever issued, so a call with a retired one is still counted per realm.
        self.refresh_index: dict[str, str] = {}
        self.access: AccessTokens[Grant] = AccessTokens(self.clock)
        self.token_calls: dict[str, Counter[str]] = {}

    # ------------------------------------------------------------ consent

    def authorize_page(self, request: Request) -> Response:
        params = {key: request.param(key) or "" for key in ("client_id", "redirect_uri", "scope", "state")}
        params["response_type"] = request.param("response_type") or ""
        problem = self._authorize_problem(params)
        if problem:
            return error_page(problem)
        return html_response(200, _consent_html(params, self.config.realm_id_factory()))

    def consent(self, request: Request) -> Response:
        form = request.form()
        problem = self._authorize_problem(form)
        if problem:
            return error_page(problem)
        state = form.get("state", "")
        if form.get("decision") != "approve":
            return redirect(with_query(form["redirect_uri"], {"error": "access_denied", "state": state}))
        realm_id = (form.get("realm") or "").strip() or self.config.realm_id_factory()
        self.books.open(realm_id)
        code = "AB11" + secrets.token_urlsafe(32)
        expires_at = self.clock.now() + self.config.auth_code_lifetime_s
        with self.lock:
            self.codes[code] = AuthCode(
                form["client_id"], form["redirect_uri"], realm_id, form["scope"], expires_at
            )
        return redirect(with_query(form["redirect_uri"], {"code": code, "state": state, "realmId": realm_id}))

    def _authorize_problem(self, params: dict[str, str]) -> str | None:
        app = self.config.clients.get(params.get("client_id", ""))
        if app is None:
            return "The client_id is not registered for any app."
        # Intuit compares redirect URIs byte for byte with the app's registered list.
        if params.get("redirect_uri", "") not in app.redirect_uris:
            return "The redirect_uri does not match any redirect URI registered for this app."
        if params.get("response_type") != "code":
            return "response_type must be code."
        scopes = params.get("scope", "").split()
        if not scopes or any(scope not in KNOWN_SCOPES for scope in scopes):
            return "The scope is missing or invalid."
        if not params.get("state"):
            return "The state parameter is required."
        return None

    # ------------------------------------------------------------ token endpoint

    def realm_of_token_request(self, request: Request) -> str | None:
        """The company a token call concerns, known before it is processed (for faults and logs)."""
        form = request.form()
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                code = self.codes.get(form.get("code", ""))
                return code.realm_id if code else None
            grant_id = self.refresh_index.get(form.get("refresh_token", ""))
            return self.grants[grant_id].realm_id if grant_id else None

    def token(self, request: Request) -> Response:
        form = request.form()
        client_id = self._client(request, form)
        if client_id is None:
            return json_response(401, {"error": "invalid_client"}, fault_code="invalid_client")
        grant_type = form.get("grant_type", "")
        with self.lock:
            if grant_type == "authorization_code":
                return self._exchange_code(client_id, form)
            if grant_type == "refresh_token":
                return self._refresh(client_id, form)
        return json_response(400, {"error": "unsupported_grant_type"}, fault_code="unsupported_grant_type")

    def _client(self, request: Request, form: dict[str, str]) -> str | None:
        """client_secret_basic or client_secret_post, as Intuit's discovery document lists."""
        client_id, secret = basic_credentials(request.header("authorization"))
        if client_id is None:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        app = self.config.clients.get(client_id or "")
        if app is None or secret is None or not secrets.compare_digest(app.secret, secret):
            return None
        return client_id

    def _exchange_code(self, client_id: str, form: dict[str, str]) -> Response:
        code = self.codes.get(form.get("code", ""))
        valid = (
            code is not None
            and not code.used
            and code.client_id == client_id
            and code.expires_at > self.clock.now()
            and code.redirect_uri == form.get("redirect_uri")
        )
        if code is not None:
            self._count(code.realm_id, "authorization_code")
        if not valid or code is None:
            if code is not None:
                self._count(code.realm_id, "invalid_grant")
            return json_response(400, {"error": "invalid_grant"}, fault_code="invalid_grant")
        code.used = True
        grant = Grant(secrets.token_hex(8), client_id, code.realm_id, code.scope, "", 0.0)
        self.grants[grant.id] = grant
        return json_response(200, self._issue(grant), headers={"Cache-Control": "no-store"})

    def _refresh(self, client_id: str, form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        grant_id = self.refresh_index.get(token)
        grant = self.grants.get(grant_id or "")
        if grant is not None:
            self._count(grant.realm_id, "refresh_token")
        usable = (
            grant is not None
            and not grant.revoked
            and grant.client_id == client_id
            and secrets.compare_digest(grant.refresh_token, token)
            and grant.refresh_expires_at > self.clock.now()
        )
        if not usable or grant is None:
            if grant is not None:
                self._count(grant.realm_id, "invalid_grant")
            return json_response(400, INVALID_REFRESH, fault_code="invalid_grant")
        return json_response(200, self._issue(grant), headers={"Cache-Control": "no-store"})

    def _issue(self, grant: Grant) -> dict[str, object]:
        """A new access token and a new refresh token; the previous refresh token dies."""
        now = self.clock.now()
        access = secrets.token_urlsafe(48)
        self.access.issue(access, grant, self.config.access_token_lifetime_s)
        grant.refresh_token = "AB11" + secrets.token_urlsafe(36)
        grant.refresh_expires_at = now + self.config.refresh_token_lifetime_s
        self.refresh_index[grant.refresh_token] = grant.id
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": grant.refresh_token,
            "expires_in": self.config.access_token_lifetime_s,
            "x_refresh_token_expires_in": self.config.refresh_token_lifetime_s,
        }

    def _count(self, realm_id: str, kind: str) -> None:
        calls = self.token_calls.setdefault(realm_id, Counter())
        calls[kind] += 1
        if kind != "invalid_grant":
            calls["total"] += 1

    def issue_direct(self, client_id: str, realm_id: str) -> dict[str, object]:
        """Tokens as if the consent flow had run (control API); not counted as token calls."""
        self.books.open(realm_id)
        with self.lock:
            grant = Grant(
                secrets.token_hex(8), client_id, realm_id, "com.intuit.quickbooks.accounting", "", 0.0
            )
            self.grants[grant.id] = grant
            return {**self._issue(grant), "realmId": realm_id}

    # ------------------------------------------------------------ revocation

    def revoke(self, request: Request) -> Response:
        if self._client(request, {}) is None:
            return json_response(401, {"error": "invalid_client"}, fault_code="invalid_client")
        try:
            token = str(request.json().get("token", ""))
        except (ValueError, AttributeError):
            return json_response(400, {"error": "invalid_request"}, fault_code="invalid_request")
        with self.lock:
            grant = self._grant_of_token(token)
            if grant is not None:
                grant.revoked = True
        return Response(200)

    def _grant_of_token(self, token: str) -> Grant | None:
        grant_id = self.refresh_index.get(token)
        if grant_id is None and token in self.access.tokens:
            return self.access.tokens[token].grant
        return self.grants.get(grant_id or "")

    # ------------------------------------------------------------ API authentication

    def check_bearer(self, header: str | None, realm_id: str) -> None:
        """401 for a missing, unknown, revoked or expired token; 403 for another company's token."""
        with self.lock:
            try:
                access = self.access.check(header)
            except BearerRefused as refused:
                raise errors.authentication_failed(_REFUSALS[refused.reason]) from None
            if access.grant.realm_id != realm_id:
                raise errors.authorization_failed()

    # ------------------------------------------------------------ control

    def expire_access_tokens(self, realm_id: str) -> int:
        with self.lock:
            return self.access.expire(realm_id)

    def revoke_realm(self, realm_id: str) -> int:
        with self.lock:
            return revoke_grants(self.grants.values(), realm_id)

    def calls_for(self, realm_id: str) -> dict[str, int]:
        with self.lock:
            counts = self.token_calls.get(realm_id, Counter())
            base = {"authorization_code": 0, "refresh_token": 0, "invalid_grant": 0, "total": 0}
            return {**base, **counts}


def _consent_html(params: dict[str, str], suggested_realm: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
        for key, value in params.items()
    )
    return (
        "<!doctype html><html><head><title>Connect to QuickBooks (sandbox)</title></head><body>"
        f"<h1>Connect {html.escape(params['client_id'])} to your QuickBooks company</h1>"
        '<form method="post" action="/connect/oauth2/consent">'
        f"{hidden}"
        f'<label>Company (realm id) <input type="text" name="realm" value="{html.escape(suggested_realm)}">'
        "</label>"
        '<button type="submit" name="decision" value="approve">Connect</button>'
        '<button type="submit" name="decision" value="deny">Cancel</button>'
        "</form></body></html>"
    )
