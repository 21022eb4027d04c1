"""A small Square API client: locations, payments, refunds, payouts and payout entries.

It speaks Square's JSON and hands back the typed, frozen dataclasses of ``models.py`` (where
Square's money becomes Decimal). Every call carries ``Authorization: Bearer <token from a
TokenSource>`` and ``Square-Version``.

Transport decisions (timeouts, backoff with jitter, 429 ``Retry-After``, 5xx) are the shared
``HttpClient``'s; this module maps Square's error list (``{"errors": [{category, code, detail,
field}]}``) to booksync's typed errors:
- 401 / ``AUTHENTICATION_ERROR``: one refreshed token and one retry, then ``ConnectionDown``;
  a revoked or expired grant (``ACCESS_TOKEN_REVOKED``/``ACCESS_TOKEN_EXPIRED`` after refresh)
  also ends in ``ConnectionDown`` (the user must reconnect).
- 403 ``INSUFFICIENT_SCOPES``: ``NeedsReconnection`` (connect again to grant the scopes).
- 404 / ``NOT_FOUND``: ``RemoteNotFound``.
- 429 / ``RATE_LIMIT_ERROR``: ``RateLimited`` (the HttpClient sleeps short Retry-After waits).
- other 4xx: ``Rejected`` with Square's detail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as quote_path

from booksync.errors import (
    ConnectionDown,
    NeedsReconnection,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    TransientError,
)
from booksync.providers.http import HttpClient, parse_retry_after, redact, response_json, shared_client
from booksync.providers.port import TokenSource
from booksync.providers.square.models import Json, Location, Payment, Payout, PayoutEntry, Refund

if TYPE_CHECKING:
    import httpx

PROVIDER = "square"
LABEL = "Square"
PRODUCTION_API_BASE = "https://connect.squareup.com"
SANDBOX_API_BASE = "https://connect.squareupsandbox.com"
DEFAULT_SQUARE_VERSION = "2025-08-20"
TRACE_HEADER = "square-request-id"
RECONNECT_FIX = "Reconnect Square (Settings > Integrations > Square > Reconnect)."
PAGE_LIMIT = 100  # payout entries: at most 100 per page

_SAFE_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,192}")


# --------------------------------------------------------------------------- client


def shared_http() -> HttpClient:
    """The process-wide HTTP client for Square (warm invocations reuse its connections)."""
    return shared_client(provider=PROVIDER, label=LABEL, trace_header=TRACE_HEADER)


class SquareClient:
    """Calls ``{api_base_url}/v2/…`` for one seller with a token from ``tokens``."""

    def __init__(
        self,
        *,
        tokens: TokenSource,
        http: HttpClient | None = None,
        api_base_url: str = PRODUCTION_API_BASE,
        square_version: str = DEFAULT_SQUARE_VERSION,
    ) -> None:
        self._tokens = tokens
        self._http = http or shared_http()
        self._base = api_base_url.rstrip("/")
        self.square_version = square_version

    def __repr__(self) -> str:
        return f"SquareClient(base={self._base!r})"

    @property
    def http(self) -> HttpClient:
        return self._http

    # ------------------------------------------------------------------ reads

    def list_locations(self) -> list[Location]:
        """``GET /v2/locations``: every location of the seller (not paginated by Square)."""
        payload = self._get("/v2/locations", what="locations")
        return [Location.from_square(item) for item in payload.get("locations") or () if _has_id(item)]

    def get_payment(self, payment_id: str) -> Payment:
        payload = self._get(f"/v2/payments/{_path(payment_id)}", what=f"payment {payment_id}")
        return Payment.from_square(_object(payload, "payment"))

    def get_refund(self, refund_id: str) -> Refund:
        payload = self._get(f"/v2/refunds/{_path(refund_id)}", what=f"refund {refund_id}")
        return Refund.from_square(_object(payload, "refund"))

    def get_payout(self, payout_id: str) -> Payout:
        payload = self._get(f"/v2/payouts/{_path(payout_id)}", what=f"payout {payout_id}")
        return Payout.from_square(_object(payload, "payout"))

    def iter_payout_entries(self, payout_id: str, *, page_size: int = PAGE_LIMIT) -> Iterator[PayoutEntry]:
        """Every entry of the payout, following ``cursor`` until Square sends none."""
        path = f"/v2/payouts/{_path(payout_id)}/payout-entries"
        params = {"limit": str(max(1, min(page_size, PAGE_LIMIT)))}
        seen: set[str] = set()
        while True:
            payload = self._get(path, what=f"payout {payout_id} entries", params=params)
            for item in payload.get("payout_entries") or ():
                if _has_id(item):
                    yield PayoutEntry.from_square(item)
            cursor = payload.get("cursor")
            if not cursor:
                return
            if cursor in seen:  # a server repeating a cursor would loop forever
                raise TransientError(
                    f"{LABEL} repeated a page cursor for payout {payout_id}", provider=PROVIDER
                )
            seen.add(str(cursor))
            params = {**params, "cursor": str(cursor)}

    # ------------------------------------------------------------------ transport

    def _get(self, path: str, *, what: str, params: Mapping[str, str] | None = None) -> Json:
        url = f"{self._base}{path}"
        token = self._tokens.access_token()
        response = self._send(url, params, token)
        if response.status_code == 401:
            # Square rejected the token (expired early or refreshed elsewhere): one fresh token.
            token = self._tokens.refreshed_after_rejection(token)
            response = self._send(url, params, token)
        payload = response_json(response)
        if response.is_success and isinstance(payload, dict) and not payload.get("errors"):
            return payload
        raise to_error(response, payload, what=what, secrets=(token,))

    def _send(self, url: str, params: Mapping[str, str] | None, token: str) -> httpx.Response:
        return self._http.request(
            "GET",
            url,
            params=params,
            headers={
                "Authorization": f"Bearer {token}",
                "Square-Version": self.square_version,
                "Accept": "application/json",
            },
            read=True,
        )


def to_error(
    response: httpx.Response, payload: Any, *, what: str, secrets: tuple[str | None, ...] = ()
) -> ProviderError:
    """Square's ``errors[0]`` (category, code, detail, field) as a booksync typed error."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    category = str(first.get("category") or "")
    code = str(first.get("code") or "") or None
    detail = redact(str(first.get("detail") or ""), secrets) or None
    status = response.status_code
    trace = response.headers.get(TRACE_HEADER)
    said = f"{LABEL} refused {what}: {code or f'HTTP {status}'}" + (f" ({detail})" if detail else "")
    said += f" [{TRACE_HEADER} {trace}]" if trace else ""
    common: dict[str, Any] = {"provider": PROVIDER, "provider_code": code, "detail": detail, "status": status}
    if code == "INSUFFICIENT_SCOPES":
        return NeedsReconnection(
            said, fix=RECONNECT_FIX + " Square asks again for the permissions booksync needs.", **common
        )
    if status == 401 or category == "AUTHENTICATION_ERROR":
        return ConnectionDown(said, fix=RECONNECT_FIX, **common)
    if status == 404 or code == "NOT_FOUND":
        return RemoteNotFound(said, fix="Check the id; it may belong to another Square account.", **common)
    if status == 429 or category == "RATE_LIMIT_ERROR":
        wait = parse_retry_after(response.headers.get("Retry-After")) or 60.0
        return RateLimited(said, retry_after=wait, fix="Nothing to do: booksync tries again later.", **common)
    if status >= 500 or category == "API_ERROR":
        return TransientError(said, fix="Nothing to do: booksync tries again.", **common)
    return Rejected(said, fix="Check the request; Square's message says what it refused.", **common)


def _path(value: str) -> str:
    if not _SAFE_ID.fullmatch(value):
        raise ValueError(f"not a Square id: {value!r}")
    return quote_path(value, safe="")


def _has_id(item: Any) -> bool:
    return isinstance(item, Mapping) and bool(item.get("id"))


def _object(payload: Json, name: str) -> Mapping[str, Any]:
    obj = payload.get(name)
    if not isinstance(obj, Mapping) or not obj.get("id"):
        raise TransientError(f"{LABEL} answered without the {name}", provider=PROVIDER)
    return obj
