"""Helpers for tests and the demo that talk to the Square sandbox as an app and as Square would.

Plain HTTP with httpx (no booksync code), so a sandbox test pins Square's wire behaviour rather
than what a client library believes it to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from local.sandboxes.kit.client import ControlClient, redirect_params

SQUARE_VERSION = "2025-08-20"
SCOPES = "MERCHANT_PROFILE_READ PAYMENTS_READ PAYOUTS_READ"
# RFC 7636 appendix B: a code verifier and its S256 code challenge.
RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def authorize_url(
    base_url: str, client_id: str, redirect_uri: str | None, state: str = "state-1", **extra: str
) -> str:
    query = {"client_id": client_id, "scope": SCOPES, "session": "false", "state": state, **extra}
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    return f"{base_url}/oauth2/authorize?{urlencode(query)}"


@dataclass
class Connection:
    merchant_id: str
    access_token: str
    refresh_token: str
    expires_at: str
    refresh_token_expires_at: str | None = None  # the PKCE flow's


class SquareControl(ControlClient):
    """The control API (/_sandbox/...) as typed calls; every call fails loudly on an error answer."""

    ACCOUNT_KEY = "merchant_id"

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        super().__init__(base_url, timeout=timeout)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Any control route by its path under /_sandbox."""
        return self._call(method, f"/_sandbox{path}", json=body)

    def register_client(self, client_id: str, secret: str, redirect_uris: list[str]) -> None:
        self.call(
            "POST",
            "/clients",
            {"client_id": client_id, "client_secret": secret, "redirect_uris": redirect_uris},
        )

    def add_merchant(
        self, name: str = "Sandbox Seller", locations: list[str] | None = None
    ) -> dict[str, Any]:
        merchant: dict[str, Any] = self.call(
            "POST", "/merchants", {"name": name, "locations": locations or ["Main"]}
        )["merchant"]
        return merchant

    def subscribe(
        self, notification_url: str, signature_key: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {"notification_url": notification_url, "signature_key": signature_key, **extra}
        subscription: dict[str, Any] = self.call("POST", "/webhooks/subscriptions", body)["subscription"]
        return subscription

    def pay(self, merchant_id: str, amount: int, **extra: Any) -> dict[str, Any]:
        """A card payment (COMPLETED unless status=APPROVED); answers {payment, events, deliveries}."""
        result: dict[str, Any] = self.call(
            "POST", "/payments", {"merchant_id": merchant_id, "amount": amount, **extra}
        )
        return result

    def refund(self, payment_id: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/payments/{payment_id}/refunds", extra)
        return result

    def payout(self, merchant_id: str, **extra: Any) -> dict[str, Any]:
        """A payout of the unpaid-out activity; answers {payout, payout_entries, events, deliveries}."""
        result: dict[str, Any] = self.call("POST", "/payouts", {"merchant_id": merchant_id, **extra})
        return result

    def complete_payment(self, payment_id: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/payments/{payment_id}/complete", extra)
        return result

    def settle_payout(self, payout_id: str, status: str = "paid", **extra: Any) -> dict[str, Any]:
        """``paid`` (payout.paid) or ``failed`` (payout.failed)."""
        result: dict[str, Any] = self.call("POST", f"/payouts/{payout_id}/{status}", extra)
        return result

    def redeliver(
        self, event_id: str, times: int = 1, *, send: bool = True, concurrent: bool = False
    ) -> dict[str, Any]:
        """The recorded event again (same event_id and snapshot); ``send=False`` answers signed requests."""
        body = {"times": times, "send": send, "concurrent": concurrent}
        result: dict[str, Any] = self.call("POST", f"/events/{event_id}/deliver", body)
        return result

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        query = f"?type={event_type}" if event_type else ""
        events: list[dict[str, Any]] = self.call("GET", f"/events{query}")["events"]
        return events


def connect(
    base_url: str,
    client_id: str,
    secret: str | None,
    redirect_uri: str,
    merchant_id: str | None = None,
    *,
    pkce: tuple[str, str] | None = None,
) -> Connection:
    """The whole code flow: authorize (auto-consent), redirect, ObtainToken. With ``pkce``
    (verifier, challenge) the PKCE flow: the challenge at authorize, the verifier instead of the
    secret at ObtainToken (``secret`` is then not sent)."""
    extra = {"merchant_id": merchant_id} if merchant_id else {}
    credentials = {"client_secret": secret} if pkce is None else {"code_verifier": pkce[0]}
    if pkce is not None:
        extra["code_challenge"] = pkce[1]
    with httpx.Client(timeout=30.0) as http:
        consent = http.get(authorize_url(base_url, client_id, redirect_uri, **extra))
        if consent.status_code != 302:
            raise AssertionError(f"authorize -> {consent.status_code} {consent.text}")
        code = redirect_params(consent.headers["location"])["code"]
        answer = http.post(
            f"{base_url}/oauth2/token",
            json={
                "client_id": client_id,
                **credentials,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
            },
            headers={"Square-Version": SQUARE_VERSION},
        )
    if answer.status_code != 200:
        raise AssertionError(f"ObtainToken -> {answer.status_code} {answer.text}")
    tokens = answer.json()
    return Connection(
        tokens["merchant_id"],
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["expires_at"],
        tokens.get("refresh_token_expires_at"),
    )


class SquareClient:
    """Raw Connect v2 calls for one seller; every method answers the httpx.Response."""

    def __init__(self, base_url: str, access_token: str, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {access_token}", "Square-Version": SQUARE_VERSION},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={k: v for k, v in params.items() if v is not None})

    def all_payout_entries(self, payout_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Every entry of a payout, following cursors; fails loudly on an error answer."""
        entries: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            answer = self.get(f"/v2/payouts/{payout_id}/payout-entries", cursor=cursor, limit=limit)
            if answer.status_code != 200:
                raise AssertionError(f"payout entries -> {answer.status_code} {answer.text}")
            page = answer.json()
            entries.extend(page.get("payout_entries", []))
            cursor = page.get("cursor")
            if not cursor:
                return entries
