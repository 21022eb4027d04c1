"""What the providers' OAuth clients share: the token call, reading its answer, the refusal, and
PKCE's verifier and challenge (RFC 7636).

Each provider (``quickbooks/oauth.py``, ``square/oauth.py``) keeps how it authenticates, what it
sends and how its errors map; the steps below are the same for both.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from booksync.errors import ConfigurationError, NeedsReconnection, Rejected, TransientError
from booksync.providers.http import HttpClient, redact, response_json
from booksync.providers.port import Organisation, TokenSet
from booksync.providers.profile import profile

if TYPE_CHECKING:
    import httpx


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_code_verifier() -> str:
    """A PKCE code verifier: 64 random bytes as base64url, 86 characters (RFC 7636 4.1 allows
    43 to 128 of A-Z a-z 0-9 - . _ ~)."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of a verifier: BASE64URL(SHA256(verifier)) without padding (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_call(
    http: HttpClient,
    url: str,
    *,
    headers: dict[str, str],
    content: bytes,
    now: Callable[[], datetime],
    refused: Callable[[httpx.Response], Exception],
) -> tuple[Any, datetime]:
    """POST to the token endpoint once: the answer's JSON and when it was asked (expiries count
    from before the call, so never later than the provider's). Never retried inline: a code is
    single use and a refresh may rotate the refresh token. A refusal raises ``refused(response)``."""
    asked_at = now()
    response = http.request("POST", url, headers=headers, content=content, idempotent=False)
    if not response.is_success:
        raise refused(response)
    return response_json(response), asked_at


def oauth_error(response: httpx.Response) -> str | None:
    """The ``error`` of an OAuth answer (RFC 6749 5.2: ``invalid_grant``...), None without one."""
    body = response_json(response)
    return str(body.get("error") or "") or None if isinstance(body, dict) else None


def lifetime(value: Any, default: timedelta) -> timedelta:
    """A token answer's ``expires_in`` (seconds) as a duration; ``default`` where it is missing."""
    try:
        return timedelta(seconds=float(value))
    except (TypeError, ValueError):
        return default


def token_answer(body: Any, *, label: str, provider: str) -> dict[str, Any]:
    """The token answer, which must carry an access token (else the outcome is unknown)."""
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise TransientError(f"{label} sign-in answered without a token", provider=provider, uncertain=True)
    return body


def refused_text(label: str, code: str | None, status: int, said: str) -> str:
    return f"{label} sign-in refused the request: {code or f'HTTP {status}'}" + (f" ({said})" if said else "")


def sign_in_refused(
    *, label: str, provider: str, code: str | None, said: str, status: int, fix: str
) -> Rejected:
    return Rejected(
        refused_text(label, code, status, said),
        provider=provider,
        provider_code=code,
        detail=said or None,
        status=status,
        fix=fix,
    )


def grant_refused(*, label: str, provider: str, said: str, status: int, fix: str) -> NeedsReconnection:
    """The provider's ``invalid_grant``: the grant is gone (revoked, lapsed, or a refresh token
    spent): Needs Reconnection."""
    return NeedsReconnection(
        f"{label} no longer accepts this connection's authorization (invalid_grant"
        + (f": {said})" if said else ")"),
        provider=provider,
        provider_code="invalid_grant",
        status=status,
        fix=fix,
    )


@dataclass(frozen=True)
class AppWords:
    """What a provider's sign-in refusals say: its label and key, the settings naming its app and
    how to set them, how to reconnect, and what to check when the sign-in itself is refused."""

    label: str
    provider: str
    app_settings: str  # "XERO_CLIENT_ID and XERO_CLIENT_SECRET (...)"
    app_fix: str
    reconnect_fix: str
    redirect_fix: str
    said_keys: tuple[str, ...] = ("error_description",)  # where its answer explains itself


def oauth_refusal(
    response: httpx.Response, words: AppWords, *, secrets: tuple[str | None, ...]
) -> NeedsReconnection | ConfigurationError | Rejected:
    """An OAuth endpoint's refusal in booksync's words: ``invalid_grant`` is Needs Reconnection,
    an unknown client a configuration error naming the app's settings, the rest a refused sign-in.
    ``secrets`` never reach the message."""
    body = response_json(response)
    error = oauth_error(response)
    found = (body.get(key) for key in words.said_keys) if isinstance(body, dict) else iter(())
    said = redact(str(next((text for text in found if text), "")), secrets)
    status = response.status_code
    if error == "invalid_grant":
        return grant_refused(
            label=words.label, provider=words.provider, said=said, status=status, fix=words.reconnect_fix
        )
    if error in ("invalid_client", "unauthorized_client"):
        return ConfigurationError(
            f"{words.label} does not recognise the app's client id or secret ({error}): "
            f"check {words.app_settings}",
            fix=words.app_fix,
        )
    return sign_in_refused(
        label=words.label,
        provider=words.provider,
        code=error,
        said=said,
        status=status,
        fix=words.redirect_fix,
    )


def the_one_organisation(tokens: TokenSet, provider: str) -> list[Organisation]:
    """The organisation of a provider whose consent is for one account: the one the tokens (or
    the redirect) name, under the id key its profile declares; none when nothing names it."""
    if not tokens.account_id:
        return []
    return [
        Organisation(
            id=tokens.account_id, name=None, ids={profile(provider).account_id_key: tokens.account_id}
        )
    ]
