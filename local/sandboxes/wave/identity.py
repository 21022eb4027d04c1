"""Wave's OAuth 2.0 server (providers.md 4, 7.3): the authorize page where the user picks one of
their businesses, the token endpoint (trailing slash) for the code and refresh grants, and the
bearer check of the GraphQL endpoint.

- ``GET /oauth2/authorize/``: ``client_id``, ``response_type=code``, ``scope`` (space-delimited
  ``resource:operation``), ``redirect_uri`` (optional: the app's first registered one), ``state``,
  ``businessId`` (pre-selects a business). An unknown scope redirects with ``invalid_scope``.
- The page offers every business of the user; one without an active Wave Pro or Wave Advisors
  plan, or not in USD or CAD, cannot be authorized: choosing it redirects with
  ``error=access_denied`` and ``error_description`` starting with ``business_plan_required:`` or
  ``business_currency_unsupported:`` (the codes are the sandbox's; the rule is Wave's).
- ``POST /oauth2/token/`` takes the client's credentials in the form (as Wave's clients send them)
  or Basic, and answers ``access_token``, ``token_type``, ``expires_in``, ``refresh_token``,
  ``scope``, ``userId`` and ``businessId`` (the business chosen). A refresh rotates the refresh
  token, answers the same one, or omits it (``refresh_mode``); failures are 400/401
  ``{"error": ...}``.
"""

from __future__ import annotations

import base64
import hmac
import html
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.oauth import AccessTokens, BearerRefused, basic_credentials, error_page, with_query
from local.sandboxes.kit.wire import Request, Response, html_response, json_response, redirect
from local.sandboxes.wave.books import Businesses
from local.sandboxes.wave.config import WaveConfig

# Wave's scopes (OAuth Scopes page; estimate:*, invoice:send and transaction:read per 7.3).
RESOURCES = ("account", "business", "customer", "estimate", "invoice", "product", "sales_tax", "transaction")
SCOPES = frozenset(
    {f"{resource}:{operation}" for resource in RESOURCES for operation in ("read", "write", "*")}
    | {"user:read", "vendor:read", "invoice:send", "estimate:send", "offline_access"}
)
ALL_SCOPES = frozenset(SCOPES - {"offline_access"})


@dataclass(frozen=True)
class User:
    id: str
    first_name: str
    last_name: str
    email: str
    created: datetime


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str | None
    scopes: list[str]
    business_id: str
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    """The user's authorization of one app for one business (a full access token: every business)."""

    id: str
    client_id: str
    scopes: frozenset[str]
    user: User
    business_ids: set[str] | None  # None: every business of the user
    refresh_token: str | None = None
    revoked: bool = False
    # An OAuth app reaches only businesses it may be authorized for (paid plan, USD/CAD); the user
    # in Wave's web app and their full access tokens reach every business (the latter: assumed).
    eligible_only: bool = True

    @property
    def account(self) -> str:
        return self.id

    def covers(self, business_id: str) -> bool:
        return not self.revoked and (self.business_ids is None or business_id in self.business_ids)


class OAuthFailure(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status

    def response(self) -> Response:
        body = {"error": self.error, "error_description": str(self)}
        return json_response(self.status, body, fault_code=self.error)


class WaveIdentity:
    def __init__(self, config: WaveConfig, clock: SandboxClock, books: Businesses, user: User) -> None:
        self.config = config
        self.clock = clock
        self.books = books
        self.user = user
        self.lock = threading.Lock()
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: AccessTokens[Grant] = AccessTokens(clock)
        self.token_calls = 0

    def reset(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.tokens.clear()
            self.token_calls = 0

    # ------------------------------------------------------------ authorize

    def authorize(self, request: Request) -> Response:
        app = self.config.clients.get(request.param("client_id") or "")
        if app is None:
            return error_page("Invalid client_id parameter value.", "Wave | Error")
        redirect_uri = request.param("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
        if redirect_uri not in app.redirect_uris:
            return error_page("Mismatching redirect URI.", "Wave | Error")
        state = request.param("state")
        if request.param("response_type") != "code":
            return redirect(with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}))
        scopes = (request.param("scope") or "").split()
        if not scopes or any(scope not in SCOPES for scope in scopes):
            return redirect(with_query(redirect_uri, {"error": "invalid_scope", "state": state}))
        hidden = {
            "client_id": request.param("client_id") or "",
            "redirect_uri": request.param("redirect_uri") or "",
            "scope": " ".join(scopes),
            "state": state or "",
        }
        return html_response(200, self._page(hidden, request.param("businessId")))

    def _page(self, hidden: dict[str, str], preselected: str | None) -> str:
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in hidden.items()
        )
        choices = []
        for business in self.books.all():
            problem = business.eligibility()
            checked = " checked" if business.id == preselected else ""
            note = f" <em>{html.escape(problem[1])}</em>" if problem else ""
            choices.append(
                f'<label><input type="radio" name="business" value="{business.id}"{checked}> '
                f"{html.escape(business.name)}</label>{note}"
            )
        return (
            "<!doctype html><title>Wave | Authorize</title><h1>Connect an app to your business</h1>"
            f'<form method="post" action="/oauth2/consent/">{fields}{"".join(choices)}'
            '<button name="decision" value="allow">Allow</button>'
            '<button name="decision" value="deny">Cancel</button></form>'
        )

    def consent(self, request: Request) -> Response:
        """POST /oauth2/consent/ (the sandbox's form target): the user's choice of one business."""
        form = {key: values[0] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        app = self.config.clients.get(form.get("client_id", ""))
        if app is None:
            return error_page("Invalid client_id parameter value.", "Wave | Error")
        chosen_uri = form.get("redirect_uri") or None
        redirect_uri = chosen_uri or (app.redirect_uris[0] if app.redirect_uris else "")
        if redirect_uri not in app.redirect_uris:
            return error_page("Mismatching redirect URI.", "Wave | Error")
        state = form.get("state") or None
        if form.get("decision") != "allow":
            return redirect(with_query(redirect_uri, {"error": "access_denied", "state": state}))
        business = self.books.get(form.get("business", ""))
        if business is None:
            return error_page("Choose one of your businesses.", "Wave | Authorize")
        problem = business.eligibility()
        if problem is not None:
            description = f"{problem[0]}: {problem[1]}"
            return redirect(
                with_query(
                    redirect_uri, {"error": "access_denied", "error_description": description, "state": state}
                )
            )
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = AuthCode(
                form["client_id"],
                chosen_uri,
                form.get("scope", "").split(),
                business.id,
                self.clock.now() + self.config.auth_code_lifetime_s,
            )
        return redirect(with_query(redirect_uri, {"code": code, "state": state}))

    # ------------------------------------------------------------ tokens

    def token(self, request: Request) -> Response:
        try:
            form = request.form()
            with self.lock:
                self.token_calls += 1
                answer = self._token(request, form)
        except OAuthFailure as failure:
            return failure.response()
        return json_response(200, answer, headers={"Cache-Control": "no-store"})

    def _client(self, request: Request, form: dict[str, str]) -> str:
        client_id, secret = basic_credentials(request.header("authorization"))
        client_id = client_id or form.get("client_id")
        secret = secret if secret is not None else form.get("client_secret")
        app = self.config.clients.get(client_id or "")
        if app is None or client_id is None or secret is None or not hmac.compare_digest(secret, app.secret):
            raise OAuthFailure("invalid_client", "Client authentication failed.", 401)
        return client_id

    def _token(self, request: Request, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._client(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(client_id, form)
        if grant_type == "refresh_token":
            return self._refresh(client_id, form)
        raise OAuthFailure("unsupported_grant_type", f"grant_type {grant_type!r} is not supported.")

    def _redeem(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        code = self.codes.get(form.get("code", ""))
        if code is None or code.used or code.client_id != client_id or code.expires_at <= self.clock.now():
            raise OAuthFailure("invalid_grant", "Invalid or expired authorization code.")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            raise OAuthFailure("invalid_grant", "Mismatching redirect URI.")
        code.used = True
        grant = Grant(str(uuid.uuid4()), client_id, frozenset(code.scopes), self.user, {code.business_id})
        if "offline_access" in code.scopes or not self.config.refresh_requires_offline_access:
            grant.refresh_token = secrets.token_urlsafe(32)
        self.grants[grant.id] = grant
        return self._answer(grant, with_refresh=True)

    def _refresh(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        token = form.get("refresh_token", "")
        for grant in self.grants.values():
            if grant.client_id != client_id or grant.revoked or grant.refresh_token is None:
                continue
            if hmac.compare_digest(token, grant.refresh_token):
                mode = self.config.refresh_mode
                if mode == "rotate":
                    grant.refresh_token = secrets.token_urlsafe(32)
                return self._answer(grant, with_refresh=mode != "omit")
        raise OAuthFailure("invalid_grant", "Invalid refresh token.")

    def _answer(self, grant: Grant, *, with_refresh: bool) -> dict[str, Any]:
        access = secrets.token_urlsafe(30)
        self.tokens.issue(access, grant, self.config.access_token_lifetime_s)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.config.access_token_lifetime_s,
            "scope": " ".join(sorted(grant.scopes)),
            "userId": grant.user.id,
        }
        if grant.business_ids is not None and len(grant.business_ids) == 1:
            answer["businessId"] = next(iter(grant.business_ids))
        if with_refresh and grant.refresh_token is not None:
            answer["refresh_token"] = grant.refresh_token
        return answer

    # ------------------------------------------------------------ bearer, and the control API's

    def grant_of(self, authorization: str | None) -> Grant | None:
        with self.lock:
            try:
                return self.tokens.check(authorization).grant
            except BearerRefused:
                return None

    def full_access_token(self) -> str:
        """A developer portal Full Access Token: every scope, every business of the user."""
        with self.lock:
            grant = Grant(str(uuid.uuid4()), "full-access", ALL_SCOPES, self.user, None, eligible_only=False)
            self.grants[grant.id] = grant
            access = secrets.token_urlsafe(30)
            self.tokens.issue(access, grant, 10 * 365 * 24 * 3600)
            return access

    def expire(self, business_id: str | None) -> int:
        with self.lock:
            hit = [
                a for a in self.tokens.tokens.values() if business_id is None or a.grant.covers(business_id)
            ]
            for access in hit:
                access.expires_at = self.clock.now() - 1
            return len(hit)

    def disconnect(self, business_id: str) -> int:
        """As if the user removed the app's access to the business in Wave: its grants end."""
        with self.lock:
            hit = [
                g
                for g in self.grants.values()
                if g.business_ids is not None and business_id in g.business_ids
            ]
            for grant in hit:
                grant.revoked = True
            return len(hit)


def new_user(now: datetime) -> User:
    return User(
        base64.b64encode(f"User:{uuid.uuid4()}".encode()).decode(),
        "Sandra",
        "Box",
        "owner@sandbox.invalid",
        now,
    )
