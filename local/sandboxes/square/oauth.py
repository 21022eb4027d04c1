"""Square's OAuth code and PKCE flows: authorize (auto-consent), ObtainToken, RevokeToken, bearer checks.

Differences from Intuit's that clients must get right (providers.md 5.4): the token endpoint takes
JSON with client_id and client_secret in the body; access tokens carry ``expires_at`` (ISO), not
``expires_in``; a code-flow refresh token is multi-use, never expires, and refreshing answers the
same refresh token; revoke authenticates with ``Authorization: Client <secret>`` and revokes every
token of that seller for the app.

The PKCE flow (api.json ObtainToken): authorize takes ``code_challenge`` = BASE64URL(SHA256(verifier))
without padding; its code is redeemed with ``code_verifier`` instead of the secret, and the grant
refreshes with ``client_id`` alone. Its refresh tokens are single-use and expire after 90 days:
each refresh answers a new one with ``refresh_token_expires_at``, and the one spent is refused from
then on like an unknown token (Square's exact words for it are not documented).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.oauth import (
    AccessTokens,
    BearerRefused,
    Refusal,
    error_page,
    revoke_grants,
    with_query,
)
from local.sandboxes.kit.wire import Request, Response, json_response, redirect
from local.sandboxes.square import errors, ids
from local.sandboxes.square.config import SquareConfig
from local.sandboxes.square.errors import SquareError
from local.sandboxes.square.ledger import Ledger, LedgerError

# The scopes Square documents for the calls the sandbox serves (others are accepted too: Square
# has dozens, and refusing an unknown one here would only test the sandbox's list).
SCOPES = (
    "MERCHANT_PROFILE_READ",
    "PAYMENTS_READ",
    "PAYMENTS_WRITE",
    "PAYOUTS_READ",
    "SETTLEMENTS_READ",
    "ORDERS_READ",
)
BAD_CLIENT = "Invalid client_id or client_secret."
# RFC 7636: a verifier is 43 to 128 unreserved characters; an S256 challenge is 43 of base64url.
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str | None
    merchant_id: str
    scopes: list[str]
    expires_at: float
    used: bool = False
    code_challenge: str | None = None  # set: the PKCE flow (redeemed with its verifier)


@dataclass
class Grant:
    """One seller's authorization of one app: one multi-use refresh token (code flow), or a
    single-use one that each refresh replaces and that expires (PKCE flow)."""

    client_id: str
    merchant_id: str
    scopes: list[str]
    refresh_token: str
    revoked: bool = False
    pkce: bool = False
    refresh_expires_at: float | None = None  # PKCE only

    @property
    def account(self) -> str:
        return self.merchant_id


class SquareOAuth:
    def __init__(self, config: SquareConfig, clock: SandboxClock, ledger: Ledger) -> None:
        self.config = config
        self.clock = clock
        self.ledger = ledger
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}  # by refresh token
        self.access: AccessTokens[Grant] = AccessTokens(self.clock)
        # Who approves the next consent (POST /_sandbox/consent); else the newest merchant.
        self.next_merchant: str | None = None

    # ------------------------------------------------------------ authorize

    def authorize(self, request: Request) -> Response:
        """GET /oauth2/authorize: the seller approves at once (or denies, per the consent setting)."""
        client_id = request.param("client_id") or ""
        app = self.config.clients.get(client_id)
        if app is None:
            return _square_error_page("The client_id is not the application id of any registered app.")
        redirect_uri = request.param("redirect_uri")
        if redirect_uri is not None and redirect_uri not in app.redirect_uris:
            return _square_error_page(
                "The redirect_uri does not match the redirect URL registered for this app."
            )
        target = redirect_uri or (app.redirect_uris[0] if app.redirect_uris else None)
        if target is None:
            return _square_error_page("The app has no redirect URL registered.")
        scopes = (request.param("scope") or "").replace(",", " ").split()
        if not scopes:
            return _square_error_page("The scope parameter is required.")
        challenge = request.param("code_challenge")
        if challenge is not None and not PKCE_CHALLENGE.match(challenge):
            return _square_error_page(
                "The code_challenge must be BASE64URL(SHA256(code_verifier)) without padding (43 characters)."
            )
        state = request.param("state")
        if self.config.consent != "approve":
            return redirect(
                with_query(
                    target, {"error": "access_denied", "error_description": "user_denied", "state": state}
                )
            )
        asked = request.param("merchant_id")
        if asked is not None and asked not in self.ledger.merchants:
            return _square_error_page(
                f"No seller {asked!r} in the sandbox: register it with POST /_sandbox/merchants."
            )
        merchant_id = self._consenting_merchant(asked)
        code = ids.auth_code()
        with self.lock:
            expires = self.clock.now() + self.config.auth_code_lifetime_s
            self.codes[code] = AuthCode(
                client_id, redirect_uri, merchant_id, scopes, expires, code_challenge=challenge
            )
        return redirect(with_query(target, {"code": code, "response_type": "code", "state": state}))

    def _consenting_merchant(self, asked: str | None) -> str:
        """``merchant_id`` on the URL (a sandbox extension), the one set by control, or the newest."""
        with self.ledger.lock:
            chosen = asked or self.next_merchant
            if chosen and chosen in self.ledger.merchants:
                return chosen
            if self.ledger.merchants:
                return list(self.ledger.merchants)[-1]
            return self.ledger.add_merchant("Sandbox Seller", ["Main"]).id

    # ------------------------------------------------------------ ObtainToken

    def token(self, request: Request) -> Response:
        try:
            return json_response(200, self._token(request), headers={"Cache-Control": "no-store"})
        except SquareError as error:
            return error.response()

    def _token(self, request: Request) -> dict[str, Any]:
        form = _json_object(request)
        client_id = str(form.get("client_id") or "")
        if not client_id:
            raise errors.missing("client_id")
        app = self.config.clients.get(client_id)
        secret = str(form.get("client_secret") or "")
        if app is None or (secret and not secrets.compare_digest(app.secret, secret)):
            raise errors.unauthorized(BAD_CLIENT)
        # Without a secret only a PKCE code or a PKCE grant's refresh token is accepted (below).
        with_secret = bool(secret)
        grant_type = form.get("grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                return self._exchange(client_id, form, with_secret)
            if grant_type == "refresh_token":
                return self._refresh(client_id, form, with_secret)
        if not with_secret:
            raise errors.unauthorized(BAD_CLIENT)
        raise errors.invalid_value("grant_type", "grant_type must be authorization_code or refresh_token.")

    def _exchange(self, client_id: str, form: dict[str, Any], with_secret: bool) -> dict[str, Any]:
        code = self.codes.get(str(form.get("code") or ""))
        pkce = code is not None and code.code_challenge is not None
        if not with_secret and not pkce:
            raise errors.unauthorized(BAD_CLIENT)
        if code is None or code.client_id != client_id:
            raise errors.unauthorized("Invalid authorization code.")
        if code.used:
            raise errors.unauthorized("Authorization code is already redeemed.")
        if code.expires_at <= self.clock.now():
            raise errors.unauthorized("Authorization code is expired.")
        asked = form.get("redirect_uri")
        if code.redirect_uri is not None and asked is not None and asked != code.redirect_uri:
            raise errors.invalid_value(
                "redirect_uri", "The redirect_uri does not match the authorize request's."
            )
        if code.code_challenge is not None:
            _check_verifier(form.get("code_verifier"), code.code_challenge)
        code.used = True
        grant = Grant(client_id, code.merchant_id, code.scopes, ids.refresh_token(), pkce=pkce)
        self._keep(grant)
        return self._issue(grant, bool(form.get("short_lived")))

    def _refresh(self, client_id: str, form: dict[str, Any], with_secret: bool) -> dict[str, Any]:
        grant = self.grants.get(str(form.get("refresh_token") or ""))
        if grant is None or grant.revoked or grant.client_id != client_id:
            raise errors.unauthorized("Invalid refresh token.")
        if not grant.pkce:
            if not with_secret:
                raise errors.unauthorized(BAD_CLIENT)
            return self._issue(grant, bool(form.get("short_lived")))
        if grant.refresh_expires_at is not None and grant.refresh_expires_at <= self.clock.now():
            raise errors.unauthorized("Refresh token is expired.")
        del self.grants[grant.refresh_token]  # single-use: spent by this request, answered or not
        grant.refresh_token = ids.refresh_token()
        self._keep(grant)
        return self._issue(grant, bool(form.get("short_lived")))

    def _keep(self, grant: Grant) -> None:
        """Register the grant under its refresh token; a PKCE one lives 90 days from now."""
        if grant.pkce:
            grant.refresh_expires_at = self.clock.now() + self.config.pkce_refresh_token_lifetime_s
        self.grants[grant.refresh_token] = grant

    def _issue(self, grant: Grant, short_lived: bool) -> dict[str, Any]:
        lifetime = 24 * 3600 if short_lived else self.config.access_token_lifetime_s
        token = ids.access_token()
        self.access.issue(token, grant, lifetime)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_at": self._advertised(lifetime),
            "merchant_id": grant.merchant_id,
            "refresh_token": grant.refresh_token,
            "short_lived": short_lived,
        }
        if grant.refresh_expires_at is not None:  # "only returned for the PKCE flow" (api.json)
            answer["refresh_token_expires_at"] = self._advertised(grant.refresh_expires_at - self.clock.now())
        return answer

    def _advertised(self, lifetime: float) -> str:
        """The wall-clock time a lifetime ends, shrunk with the clock scale as the lifetime is."""
        ends = datetime.now(UTC) + timedelta(seconds=self.clock.to_real_seconds(lifetime))
        return ends.strftime("%Y-%m-%dT%H:%M:%SZ")

    def issue_direct(
        self, client_id: str, merchant_id: str, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        """Tokens as if the seller had consented (control API)."""
        with self.lock:
            grant = Grant(client_id, merchant_id, scopes or list(SCOPES), ids.refresh_token())
            self.grants[grant.refresh_token] = grant
            return self._issue(grant, False)

    # ------------------------------------------------------------ RevokeToken

    def revoke(self, request: Request) -> Response:
        try:
            return json_response(200, self._revoke(request))
        except SquareError as error:
            return error.response()

    def _revoke(self, request: Request) -> dict[str, Any]:
        header = request.header("authorization") or ""
        secret = header[7:].strip() if header.startswith("Client ") else ""
        body = _json_object(request)
        client_id = str(body.get("client_id") or "")
        app = self.config.clients.get(client_id)
        if app is None or not secret or not secrets.compare_digest(app.secret, secret):
            raise errors.unauthorized(
                "Invalid client_id or 'Authorization: Client <application secret>' header."
            )
        token, merchant_id = body.get("access_token"), body.get("merchant_id")
        if bool(token) == bool(merchant_id):
            raise errors.invalid_value("access_token", "Provide exactly one of access_token and merchant_id.")
        only_access = bool(body.get("revoke_only_access_token"))
        with self.lock:
            if token:
                access = self.access.tokens.get(str(token))
                if access is None or access.grant.client_id != client_id:
                    raise errors.not_found("access token", "(redacted)")
                merchant_id = access.grant.merchant_id
            revoked = self._revoke_merchant(client_id, str(merchant_id), only_access)
        if not revoked:
            raise errors.not_found("authorization for merchant", str(merchant_id))
        return {"success": True}

    def _revoke_merchant(self, client_id: str, merchant_id: str, only_access: bool) -> int:
        count = 0
        for access in self.access.tokens.values():
            if access.grant.client_id == client_id and access.grant.merchant_id == merchant_id:
                access.revoked = True
                count += 1
        if not only_access:
            for grant in self.grants.values():
                if grant.client_id == client_id and grant.merchant_id == merchant_id:
                    grant.revoked = True
                    count += 1
        return count

    # ------------------------------------------------------------ bearer

    def merchant_of(self, header: str | None, scope: str | None = None) -> str:
        """The seller a bearer token acts for; 401 as Square answers for a missing/expired/revoked one,
        403 INSUFFICIENT_SCOPES when the seller did not grant ``scope``."""
        with self.lock:
            try:
                access = self.access.check(header)
            except BearerRefused as refused:
                raise _refusal(refused.reason) from None
            if scope is not None and scope not in access.grant.scopes:
                raise errors.forbidden(
                    f"The merchant has not given your application sufficient permissions to do that: "
                    f"this call needs {scope}. Ask for it in the authorize URL's scope and reconnect."
                )
            return access.grant.merchant_id

    def has_grant(self, client_id: str, merchant_id: str, scope: str) -> bool:
        """Whether the seller authorizes the app with ``scope`` now (for app-bound subscriptions)."""
        with self.lock:
            return any(
                grant.client_id == client_id
                and grant.merchant_id == merchant_id
                and not grant.revoked
                and scope in grant.scopes
                for grant in self.grants.values()
            )

    # ------------------------------------------------------------ control

    def expire(self, merchant_id: str) -> int:
        with self.lock:
            return self.access.expire(merchant_id)

    def revoke_all(self, merchant_id: str) -> int:
        with self.lock:
            return revoke_grants(self.grants.values(), merchant_id)

    def set_consenting_merchant(self, merchant_id: str) -> None:
        with self.ledger.lock:
            if merchant_id not in self.ledger.merchants:
                raise LedgerError(f"unknown merchant {merchant_id!r}", 404)
        self.next_merchant = merchant_id


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = request.json() if request.body else {}
    except (ValueError, UnicodeDecodeError):
        raise SquareError(
            400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "The request body is not valid JSON."
        ) from None
    if not isinstance(body, dict):
        raise SquareError(
            400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "The request body must be a JSON object."
        )
    return body


def _check_verifier(verifier: Any, challenge: str) -> None:
    """The code was asked for with a challenge: only its verifier redeems it (S256)."""
    if not verifier:
        raise errors.missing("code_verifier")
    if not isinstance(verifier, str) or not PKCE_VERIFIER.match(verifier):
        raise errors.invalid_value(
            "code_verifier", "The code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~."
        )
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    if not secrets.compare_digest(digest.decode("ascii"), challenge):
        raise errors.invalid_value(
            "code_verifier", "The code_verifier does not match the code_challenge of the authorize request."
        )


def _square_error_page(problem: str) -> Response:
    return error_page(problem, title="Square - Error")


def _refusal(reason: Refusal) -> SquareError:
    """Square's 401 for a bearer token that does not authenticate."""
    if reason is Refusal.REVOKED:
        return errors.unauthorized("The access token has been revoked.", code="ACCESS_TOKEN_REVOKED")
    if reason is Refusal.EXPIRED:
        return errors.unauthorized("The access token has expired.", code="ACCESS_TOKEN_EXPIRED")
    return errors.unauthorized("This request could not be authorized.")
