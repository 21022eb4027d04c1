"""What every sandbox's OAuth server shares: app registrations, redirects with a query, the error
page a browser sees, client and bearer credentials read from headers, the access tokens issued
(lifetimes, bearer checks, expiry) and grants revoked by account."""

from __future__ import annotations

import base64
import binascii
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, Protocol, TypeVar
from urllib.parse import urlencode

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.wire import Response, html_response


@dataclass(frozen=True)
class ClientApp:
    """An app registration: its secret and the redirect URIs registered for it."""

    secret: str
    redirect_uris: list[str] = field(default_factory=list)


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (a None value is left out)."""
    present = {key: value for key, value in params.items() if value is not None}
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(present)}"


def error_page(problem: str, title: str = "Error") -> Response:
    """The 400 page a browser sees when an authorize request is wrong (no redirect: it may be forged)."""
    body = (
        f"<!doctype html><title>{html.escape(title)}</title><h1>Something went wrong</h1>"
        f"<p>{html.escape(problem)}</p>"
    )
    return html_response(400, body)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none."""
    if not header or not header.lower().startswith("bearer ") or not header[7:].strip():
        return None
    return header[7:].strip()


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(client id, secret) of an ``Authorization: Basic`` header; (None, None) without a valid one."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


# ------------------------------------------------------------ access tokens and grants


class TokenGrant(Protocol):
    """A provider's grant (one account's authorization of one app), as access tokens see it."""

    revoked: bool

    @property
    def account(self) -> str: ...


GrantT = TypeVar("GrantT", bound=TokenGrant)


@dataclass
class AccessToken(Generic[GrantT]):
    grant: GrantT
    expires_at: float
    revoked: bool = False


class Refusal(Enum):
    MISSING = "missing"  # no bearer token in the Authorization header
    UNKNOWN = "unknown"
    REVOKED = "revoked"  # the token, or its grant
    EXPIRED = "expired"


class BearerRefused(Exception):
    """Why a bearer token does not authenticate; each sandbox answers it in its provider's words."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


class AccessTokens(Generic[GrantT]):
    """The access tokens an OAuth server issued, their lifetimes on the sandbox's scaled clock
    (the server holds its own lock around every call)."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.tokens: dict[str, AccessToken[GrantT]] = {}

    def issue(self, token: str, grant: GrantT, lifetime: float) -> None:
        self.tokens[token] = AccessToken(grant, self.clock.now() + lifetime)

    def check(self, header: str | None) -> AccessToken[GrantT]:
        """The token of an ``Authorization: Bearer`` header, if it authenticates; BearerRefused if not."""
        token = bearer_token(header)
        if token is None:
            raise BearerRefused(Refusal.MISSING)
        access = self.tokens.get(token)
        if access is None:
            raise BearerRefused(Refusal.UNKNOWN)
        if access.revoked or access.grant.revoked:
            raise BearerRefused(Refusal.REVOKED)
        if access.expires_at <= self.clock.now():
            raise BearerRefused(Refusal.EXPIRED)
        return access

    def expire(self, account: str) -> int:
        """The account's access tokens expire now (control API); answers how many."""
        hit = [access for access in self.tokens.values() if access.grant.account == account]
        for access in hit:
            access.expires_at = self.clock.now() - 1
        return len(hit)

    def clear(self) -> None:
        self.tokens.clear()


def revoke_grants(grants: Iterable[GrantT], account: str) -> int:
    """As if the account's user disconnected the app: every grant of the account dies (its tokens
    with it); answers how many."""
    hit = [grant for grant in grants if grant.account == account]
    for grant in hit:
        grant.revoked = True
    return len(hit)
