"""Xero's identity service: the consent page (the user picks among their organisations), the
code and refresh grants, revocation, and /connections (one per organisation an app may call).

Xero's rules (providers.md 2.1, 7.1): access tokens last 30 minutes; each refresh answers a new
refresh token, and the one spent is still accepted for a 30-minute grace (a client that lost the
answer may retry with it, and gets the same new refresh token); a refresh token unused for 60 days
lapses; a failed grant is 400 ``{"error": "invalid_grant"}``. PKCE (S256) is accepted in place
of the client secret. New apps must ask for granular scopes: a broad one is ``invalid_scope``.

Access tokens are JWTs, as Xero's are, whose ``authentication_event_id`` claim names the consent
they come from (refreshes keep it). ``GET /connections`` lists every organisation the user has
connected the app to, over all their consents; ``?authEventId=`` keeps those one consent granted
(what an app must ask after a consent, or it would offer organisations connected earlier).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.oauth import (
    AccessTokens,
    BearerRefused,
    Refusal,
    basic_credentials,
    error_page,
    with_query,
)
from local.sandboxes.kit.wire import Request, Response, html_response, json_response, redirect
from local.sandboxes.xero import errors
from local.sandboxes.xero.books import Organisations
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.errors import XeroError

# The scopes Xero names (granular since 2026-03-02; the broad ones refused to new apps).
GRANULAR_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.attachments",
        "accounting.attachments.read",
    }
)
BROAD_SCOPES = frozenset(
    {"accounting.transactions", "accounting.transactions.read", "accounting.reports.read"}
)


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass
class Connection:
    id: str
    tenant_id: str
    tenant_name: str
    auth_event_id: str
    created: str
    updated: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self.tenant_name,
            "createdDateUtc": self.created,
            "updatedDateUtc": self.updated,
        }


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    tenants: list[str]
    expires_at: float
    code_challenge: str | None
    used: bool = False


@dataclass
class Grant:
    """One user's consent for one app: its connections (organisations) and its refresh token."""

    id: str
    client_id: str
    scopes: list[str]
    refresh_token: str | None  # None without offline_access
    last_used: float
    connections: dict[str, Connection] = field(default_factory=dict)  # by connection id
    revoked: bool = False
    # The refresh token spent last, accepted until its grace ends (answering the same new one).
    previous_refresh: str | None = None
    previous_until: float = 0.0
    last_answer: dict[str, Any] = field(default_factory=dict)
    auth_event_id: str = ""  # the consent's, in every access token's claims

    @property
    def account(self) -> str:
        return self.id

    def tenant_ids(self) -> set[str]:
        return {connection.tenant_id for connection in self.connections.values()}


class XeroIdentity:
    def __init__(self, config: XeroConfig, clock: SandboxClock, organisations: Organisations) -> None:
        self.config = config
        self.clock = clock
        self.organisations = organisations
        self.lock = threading.Lock()
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}  # by id
        self.tokens: AccessTokens[Grant] = AccessTokens(clock)
        self.token_calls = 0  # the token endpoint's answers (the refresh stampede test counts them)

    def reset(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.tokens.clear()
            self.token_calls = 0

    # ------------------------------------------------------------ consent

    def authorize(self, request: Request) -> Response:
        """GET /identity/connect/authorize: the consent page listing the user's organisations."""
        client_id = request.param("client_id") or ""
        app = self.config.clients.get(client_id)
        if app is None:
            return error_page("unauthorized_client: Unknown client or client not enabled", "Xero | Error")
        redirect_uri = request.param("redirect_uri") or ""
        if redirect_uri not in app.redirect_uris:
            return error_page("Invalid redirect_uri", "Xero | Error")
        state = request.param("state")
        if request.param("response_type") != "code":
            return redirect(with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}))
        scopes = (request.param("scope") or "").split()
        problem = self._scope_problem(scopes)
        if problem is not None:
            return redirect(with_query(redirect_uri, {"error": problem, "state": state}))
        challenge = request.param("code_challenge")
        if challenge is not None and request.param("code_challenge_method") != "S256":
            return redirect(with_query(redirect_uri, {"error": "invalid_request", "state": state}))
        return html_response(200, self._consent_page(client_id, redirect_uri, scopes, state, challenge))

    def _scope_problem(self, scopes: list[str]) -> str | None:
        if not scopes:
            return "invalid_scope"
        for scope in scopes:
            if scope in BROAD_SCOPES and self.config.granular_only:
                return "invalid_scope"
            if scope not in GRANULAR_SCOPES and scope not in BROAD_SCOPES:
                return "invalid_scope"
        return None

    def _consent_page(
        self, client_id: str, redirect_uri: str, scopes: list[str], state: str | None, challenge: str | None
    ) -> str:
        hidden = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state or "",
            "code_challenge": challenge or "",
        }
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in hidden.items()
        )
        choices = "".join(
            f'<label><input type="checkbox" name="tenant" value="{org.tenant_id}"> '
            f"{html.escape(org.name)}</label>"
            for org in self.organisations.all()
        )
        return (
            "<!doctype html><title>Xero | Authorise</title><h1>Allow access to your organisations</h1>"
            f'<form method="post" action="/identity/connect/consent">{fields}{choices}'
            '<button name="decision" value="allow">Allow access</button>'
            '<button name="decision" value="deny">Cancel</button></form>'
        )

    def consent(self, request: Request) -> Response:
        """POST /identity/connect/consent: the user's choice (``tenant`` once per organisation)."""
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)

        def one(name: str) -> str:
            return form.get(name, [""])[0]

        client_id, redirect_uri, state = one("client_id"), one("redirect_uri"), one("state") or None
        app = self.config.clients.get(client_id)
        if app is None or redirect_uri not in app.redirect_uris:
            return error_page("Invalid client or redirect_uri", "Xero | Error")
        if one("decision") != "allow":
            return redirect(with_query(redirect_uri, {"error": "access_denied", "state": state}))
        tenants = form.get("tenant", [])
        unknown = [tenant for tenant in tenants if self.organisations.get(tenant) is None]
        if not tenants or unknown:
            return error_page("Choose at least one of your organisations", "Xero | Authorise")
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = AuthCode(
                client_id,
                redirect_uri,
                one("scope").split(),
                tenants,
                self.clock.now() + self.config.auth_code_lifetime_s,
                one("code_challenge") or None,
            )
        return redirect(with_query(redirect_uri, {"code": code, "scope": one("scope"), "state": state}))

    # ------------------------------------------------------------ tokens

    def token(self, request: Request) -> Response:
        """POST /connect/token: authorization_code or refresh_token, client by Basic or in the form."""
        try:
            form = request.form()
            with self.lock:
                answer = self._token(request, form)
                self.token_calls += 1
        except XeroError as error:
            return error.response()
        return json_response(200, answer, headers={"Cache-Control": "no-store"})

    def _client(self, request: Request, form: dict[str, str], *, pkce: bool) -> str:
        client_id, secret = basic_credentials(request.header("authorization"))
        client_id = client_id or form.get("client_id")
        secret = secret if secret is not None else form.get("client_secret")
        app = self.config.clients.get(client_id or "")
        if app is None or client_id is None:
            raise errors.oauth_error("invalid_client")
        if pkce and secret is None:
            return client_id
        if secret is None or not hmac.compare_digest(secret, app.secret):
            raise errors.oauth_error("invalid_client")
        return client_id

    def _token(self, request: Request, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(request, form)
        if grant_type == "refresh_token":
            return self._refresh(request, form)
        raise errors.oauth_error("unsupported_grant_type")

    def _redeem(self, request: Request, form: dict[str, str]) -> dict[str, Any]:
        code = self.codes.get(form.get("code", ""))
        client_id = self._client(request, form, pkce=code is not None and code.code_challenge is not None)
        if code is None or code.used or code.client_id != client_id or code.expires_at <= self.clock.now():
            raise errors.oauth_error("invalid_grant")
        if form.get("redirect_uri") != code.redirect_uri:
            raise errors.oauth_error("invalid_grant")
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier or not hmac.compare_digest(pkce_challenge(verifier), code.code_challenge):
                raise errors.oauth_error("invalid_grant")
        code.used = True
        grant = Grant(
            str(uuid.uuid4()),
            client_id,
            code.scopes,
            secrets.token_hex(32) if "offline_access" in code.scopes else None,
            self.clock.now(),
        )
        grant.auth_event_id = self._connect(grant, code.tenants)
        self.grants[grant.id] = grant
        return self._answer(grant)

    def _connect(self, grant: Grant, tenants: list[str]) -> str:
        """A connection per organisation chosen; one the app already had keeps its id (Xero
        keeps the connection and moves its updatedDateUtc when a user reconnects). Answers the
        consent's authentication event id."""
        event, now = str(uuid.uuid4()), _utc_now()
        earlier = {
            connection.tenant_id: connection
            for other in self.grants.values()
            if other.client_id == grant.client_id
            for connection in other.connections.values()
        }
        for tenant in tenants:
            org = self.organisations.get(tenant)
            assert org is not None
            old = earlier.get(tenant)
            connection = Connection(
                old.id if old else str(uuid.uuid4()),
                tenant,
                org.name,
                event,
                old.created if old else now,
                now,
            )
            for other in self.grants.values():
                if other.client_id == grant.client_id:
                    other.connections.pop(connection.id, None)
            grant.connections[connection.id] = connection
        return event

    def _refresh(self, request: Request, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._client(request, form, pkce=True)
        token = form.get("refresh_token", "")
        now = self.clock.now()
        for grant in self.grants.values():
            if grant.client_id != client_id or grant.revoked or grant.refresh_token is None:
                continue
            if now - grant.last_used > self.config.refresh_idle_s:
                continue
            if hmac.compare_digest(token, grant.refresh_token):
                grant.previous_refresh, grant.previous_until = token, now + self.config.refresh_grace_s
                grant.refresh_token = secrets.token_hex(32)
                grant.last_used = now
                return self._answer(grant)
            if grant.previous_refresh and hmac.compare_digest(token, grant.previous_refresh):
                if now >= grant.previous_until:
                    break
                grant.last_used = now
                return self._answer(grant)
        raise errors.oauth_error("invalid_grant")

    def _access_token(self, grant: Grant) -> str:
        """A JWT as Xero's access tokens are (header, claims, signature; the signature is random
        bytes here: apps read the claims of a token they got from the token endpoint)."""
        now = int(self.clock.now())
        claims = {
            "nbf": now,
            "exp": now + int(self.config.access_token_lifetime_s),
            "iss": "https://identity.xero.com",
            "aud": "https://identity.xero.com/resources",
            "client_id": grant.client_id,
            "sub": "sandbox-user",
            "auth_time": now,
            "xero_userid": "sandbox-user",
            "jti": uuid.uuid4().hex,
            "authentication_event_id": grant.auth_event_id,
            "scope": grant.scopes,
        }
        header = {"alg": "RS256", "kid": "sandbox", "typ": "JWT"}
        parts = [_b64url(json.dumps(part).encode()) for part in (header, claims)]
        return ".".join([*parts, _b64url(secrets.token_bytes(32))])

    def _answer(self, grant: Grant) -> dict[str, Any]:
        access = self._access_token(grant)
        self.tokens.issue(access, grant, self.config.access_token_lifetime_s)
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.config.access_token_lifetime_s,
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
        }
        if grant.refresh_token is not None:
            answer["refresh_token"] = grant.refresh_token
        if "openid" in grant.scopes:
            answer["id_token"] = secrets.token_urlsafe(32)
        return answer

    def revoke(self, request: Request) -> Response:
        """POST /connect/revocation: a refresh token revoked ends its grant (and its connections)."""
        try:
            form = request.form()
            with self.lock:
                client_id = self._client(request, form, pkce=False)
                token = form.get("token", "")
                for grant in self.grants.values():
                    if grant.client_id == client_id and token in {
                        grant.refresh_token,
                        grant.previous_refresh,
                    }:
                        grant.revoked = True
                        grant.connections.clear()
        except XeroError as error:
            return error.response()
        return Response(200)

    # ------------------------------------------------------------ bearer and connections

    def grant_of(self, authorization: str | None) -> Grant:
        """The grant of a bearer token; 401 in Xero's words when it does not authenticate."""
        with self.lock:
            try:
                return self.tokens.check(authorization).grant
            except BearerRefused as refused:
                if refused.reason is Refusal.EXPIRED:
                    raise errors.unauthorized(f"TokenExpired: token expired at {_utc_now()}") from None
                raise errors.unauthorized("AuthenticationUnsuccessful") from None

    def connections(self, request: Request) -> Response:
        try:
            grant = self.grant_of(request.header("authorization"))
        except XeroError as error:
            return error.response()
        event = request.param("authEventId")
        with self.lock:
            found = [
                c.public()
                for c in self._users_connections(grant).values()
                if event is None or c.auth_event_id == event
            ]
        return json_response(200, found)

    def _users_connections(self, grant: Grant) -> dict[str, Connection]:
        """Every connection the (sandbox's one) user gave the grant's app, over all its consents."""
        return {
            connection.id: connection
            for other in self.grants.values()
            if other.client_id == grant.client_id and not other.revoked
            for connection in other.connections.values()
        }

    def disconnect(self, request: Request, connection_id: str) -> Response:
        try:
            grant = self.grant_of(request.header("authorization"))
        except XeroError as error:
            return error.response()
        with self.lock:
            owner = next(
                (
                    other
                    for other in self.grants.values()
                    if other.client_id == grant.client_id
                    and not other.revoked
                    and connection_id in other.connections
                ),
                None,
            )
            if owner is None:
                return errors.not_found(f"Connection {connection_id}").response()
            del owner.connections[connection_id]
        return Response(204)

    # ------------------------------------------------------------ the control API's

    def expire(self, tenant: str | None) -> int:
        """Access tokens (of grants connected to ``tenant``, or all) expire now."""
        with self.lock:
            hit = [a for a in self.tokens.tokens.values() if tenant is None or tenant in a.grant.tenant_ids()]
            for access in hit:
                access.expires_at = self.clock.now() - 1
            return len(hit)

    def revoke_tenant(self, tenant: str) -> int:
        """As if the organisation's user disconnected every app from it in Xero."""
        with self.lock:
            hit = 0
            for grant in self.grants.values():
                for connection_id in [c.id for c in grant.connections.values() if c.tenant_id == tenant]:
                    del grant.connections[connection_id]
                    hit += 1
                if not grant.connections:
                    grant.revoked = True
            return hit
