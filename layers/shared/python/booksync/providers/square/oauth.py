"""Square OAuth (code or PKCE flow): authorization URL, code exchange, refresh, revoke (``OAuthClient``).

providers.md 5.4 and api.json ``/oauth2/token``, ``/oauth2/revoke``:
- authorize ``{base}/oauth2/authorize?client_id=…&scope=A B&session=false&state=…``; ``session=false``
  makes the seller sign in rather than reuse a browser session (Square's advice for production);
  the PKCE flow adds ``code_challenge`` (S256; Square's Authorize takes no ``code_challenge_method``);
- ``POST {base}/oauth2/token`` with a JSON body carrying ``client_id`` and, in the code flow,
  ``client_secret``; the PKCE flow sends no secret: ``code_verifier`` with the code, nothing more
  than ``client_id`` with a refresh token. The answer names the seller (``merchant_id``, kept as
  ``TokenSet.account_id``) and gives ``expires_at`` (an RFC 3339 time, 30 days ahead);
- the code flow's refresh token is multi-use and does not expire: a refresh answers the same
  refresh token (stored again all the same, so a provider that rotates is served too). The PKCE
  flow's is single-use and lasts 90 days (``refresh_token_expires_at``): every refresh answers a
  new one, which must be stored, and an answer without one leaves the grant unrefreshable;
- ``POST {base}/oauth2/revoke`` with ``Authorization: Client <application secret>`` and
  ``{client_id, access_token}``: revoking the access token ends every token of the grant.

Scopes: PAYMENTS_READ (payments, and refunds: GetPaymentRefund and ``refund.*`` events need it),
PAYOUTS_READ (payouts and their entries), MERCHANT_PROFILE_READ (locations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from booksync.errors import ConfigurationError, NeedsReconnection
from booksync.providers.http import HttpClient, dumps_json, redact, response_json
from booksync.providers.oauth_common import (
    refused_text,
    sign_in_refused,
    the_one_organisation,
    token_answer,
    token_call,
    utcnow,
)
from booksync.providers.port import Organisation, TokenSet
from booksync.providers.square.client import (
    DEFAULT_SQUARE_VERSION,
    LABEL,
    PRODUCTION_API_BASE,
    PROVIDER,
    RECONNECT_FIX,
)

if TYPE_CHECKING:
    import httpx

SCOPES = ("PAYMENTS_READ", "PAYOUTS_READ", "MERCHANT_PROFILE_READ")
CLIENT_SETTINGS = (
    "SQUARE_APPLICATION_ID and SQUARE_APPLICATION_SECRET (SQUARE_APPLICATION_SECRET_PARAM in AWS)"
)
DEFAULT_LIFETIME = timedelta(days=30)


class SquareOAuth:
    """The Square application's side of the OAuth code flow, or of the PKCE flow when ``uses_pkce``
    (SQUARE_OAUTH_FLOW=pkce). ``now`` exists for tests."""

    name = PROVIDER

    def __init__(
        self,
        *,
        application_id: str,
        application_secret: str,
        http: HttpClient | None = None,
        base_url: str = PRODUCTION_API_BASE,
        square_version: str = DEFAULT_SQUARE_VERSION,
        scopes: Sequence[str] = SCOPES,
        now: Callable[[], datetime] = utcnow,
        uses_pkce: bool = False,
    ) -> None:
        # The secret is needed in both flows: RevokeToken authenticates with it.
        if not application_id or not application_secret:
            raise ConfigurationError(f"the Square application credentials are missing: set {CLIENT_SETTINGS}")
        self.application_id = application_id
        self._secret = application_secret
        self._http = http or HttpClient(
            provider=PROVIDER, label=f"{LABEL} sign-in", trace_header="square-request-id"
        )
        base = base_url.rstrip("/")
        self.auth_url = f"{base}/oauth2/authorize"
        self.token_url = f"{base}/oauth2/token"
        self.revoke_url = f"{base}/oauth2/revoke"
        self.square_version = square_version
        self.scopes = tuple(scopes)
        self._now = now
        self.uses_pkce = uses_pkce

    def __repr__(self) -> str:  # the secret stays out of reprs and tracebacks
        return f"SquareOAuth(application_id={self.application_id!r}, uses_pkce={self.uses_pkce})"

    # ------------------------------------------------------------------ OAuthClient

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {
            "client_id": self.application_id,
            "scope": " ".join(self.scopes),
            "session": "false",
            "state": state,
            "redirect_uri": redirect_uri,
        }
        if code_challenge is not None:
            params["code_challenge"] = code_challenge
        return f"{self.auth_url}?{urlencode(params)}"

    def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
        realm_id: str | None = None,
    ) -> TokenSet:
        body = {
            **self._client_credentials(),
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }
        if code_verifier is not None:
            body["code_verifier"] = code_verifier
        return self._token_call(body, secrets=(code, code_verifier), refreshing=False)

    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        """Square names the seller with the tokens (``merchant_id``, from Square itself, not the
        browser): the tokens are ``account_id``'s when it is that seller."""
        return tokens.account_id == account_id

    def refresh(self, refresh_token: str) -> TokenSet:
        body = {**self._client_credentials(), "grant_type": "refresh_token", "refresh_token": refresh_token}
        tokens = self._token_call(body, secrets=(refresh_token,), refreshing=True)
        if tokens.refresh_token is None and self.uses_pkce:
            # The refresh token just sent was single-use: without its successor nothing can refresh.
            raise NeedsReconnection(
                f"{LABEL} answered a refresh without the new refresh token the PKCE flow must issue; "
                "the old one is used up.",
                provider=PROVIDER,
                fix=RECONNECT_FIX,
            )
        if tokens.refresh_token is None:  # the code flow's refresh token stays valid: keep it
            tokens = TokenSet(
                access_token=tokens.access_token,
                refresh_token=refresh_token,
                access_expires_at=tokens.access_expires_at,
                refresh_expires_at=tokens.refresh_expires_at,
                account_id=tokens.account_id,
            )
        return tokens

    def revoke(self, token: str) -> None:
        """Revoke the grant (by its access token). A token Square no longer knows is success."""
        response = self._http.request(
            "POST",
            self.revoke_url,
            headers={**self._headers(), "Authorization": f"Client {self._secret}"},
            content=dumps_json({"client_id": self.application_id, "access_token": token}).encode(),
            idempotent=True,  # revoking twice ends in the same state
        )
        if response.is_success or response.status_code == 404:
            return
        raise self._error(response, secrets=(token,), refreshing=False)

    def list_organisations(self, tokens: TokenSet) -> list[Organisation]:
        """A consent is for one seller: the ``merchant_id`` Square answered with the tokens."""
        return the_one_organisation(tokens, PROVIDER)

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        """Square revokes a grant by its access token (RevokeTokenRequest has no refresh_token field)."""
        self.revoke(access_token)
        return True

    # ------------------------------------------------------------------ helpers

    def _client_credentials(self) -> dict[str, str]:
        """The code flow authenticates the app with its secret; the PKCE flow sends none (api.json
        ObtainToken: ``code_verifier`` takes its place for a code, ``client_id`` alone refreshes)."""
        if self.uses_pkce:
            return {"client_id": self.application_id}
        return {"client_id": self.application_id, "client_secret": self._secret}

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Square-Version": self.square_version,
        }

    def _token_call(
        self, body: dict[str, str], *, secrets: tuple[str | None, ...], refreshing: bool
    ) -> TokenSet:
        answer, asked_at = token_call(
            self._http,
            self.token_url,
            headers=self._headers(),
            content=dumps_json(body).encode(),
            now=self._now,
            refused=lambda response: self._error(response, secrets=secrets, refreshing=refreshing),
        )
        return self._token_set(answer, asked_at)

    def _token_set(self, answer: Any, asked_at: datetime) -> TokenSet:
        body = token_answer(answer, label=LABEL, provider=PROVIDER)
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or None,
            access_expires_at=_when(body.get("expires_at")) or asked_at + DEFAULT_LIFETIME,
            refresh_expires_at=_when(body.get("refresh_token_expires_at")),
            account_id=str(body["merchant_id"]) if body.get("merchant_id") else None,
        )

    def _error(
        self, response: httpx.Response, *, secrets: tuple[str | None, ...], refreshing: bool
    ) -> Exception:
        body = response_json(response)
        first: dict[str, Any] = {}
        if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
        elif isinstance(body, dict):  # the older {"type", "message"} form
            first = {"code": body.get("type"), "detail": body.get("message")}
        code = str(first.get("code") or "") or None
        said = redact(str(first.get("detail") or ""), (*secrets, self._secret))
        status = response.status_code
        if "client" in said.lower() and ("secret" in said.lower() or "id" in said.lower()):
            return ConfigurationError(
                f"Square does not recognise the application id or secret: check {CLIENT_SETTINGS}",
                fix=f"Set {CLIENT_SETTINGS} to the keys of the Square application (Sandbox or Production).",
            )
        if refreshing and status in (400, 401):
            return NeedsReconnection(
                refused_text(LABEL, code, status, said),
                provider=PROVIDER,
                provider_code=code,
                status=status,
                fix=RECONNECT_FIX,
            )
        return sign_in_refused(
            label=LABEL,
            provider=PROVIDER,
            code=code,
            said=said,
            status=status,
            fix="Check the redirect URL registered for the Square application, then connect again.",
        )


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
