"""The Square API client: headers, money at the boundary, cursors, Square's errors as typed errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from booksync.errors import (
    ConnectionDown,
    NeedsReconnection,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
)
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.square.client import SquareClient
from booksync.providers.square.models import Money

BASE = "https://square.test"


class Tokens:
    def __init__(self) -> None:
        self.token = "sq-access-1"
        self.rejections = 0

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        self.rejections += 1
        self.token = "sq-access-2"
        return self.token


def client(handler: Any, tokens: Tokens | None = None) -> tuple[SquareClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result: httpx.Response = handler(request)
        return result

    http = HttpClient(
        provider="square",
        label="Square",
        settings=HttpSettings(max_retries=1),
        transport=httpx.MockTransport(record),
        sleep=lambda _s: None,
    )
    return SquareClient(tokens=tokens or Tokens(), http=http, api_base_url=BASE), seen


PAYMENT = {
    "id": "pay_1",
    "status": "COMPLETED",
    "amount_money": {"amount": 10050, "currency": "USD"},
    "tip_money": {"amount": 200, "currency": "USD"},
    "total_money": {"amount": 10250, "currency": "USD"},
    "processing_fee": [{"amount_money": {"amount": 327, "currency": "USD"}, "type": "INITIAL"}],
    "reference_id": "inv-42",
    "location_id": "L1",
    "card_details": {"card": {"card_brand": "VISA"}},
    "created_at": "2025-08-20T23:30:00Z",
}


def test_get_payment_sends_bearer_and_version_and_converts_money() -> None:
    square, seen = client(lambda r: httpx.Response(200, json={"payment": PAYMENT}))
    payment = square.get_payment("pay_1")
    assert seen[0].url.path == "/v2/payments/pay_1"
    assert seen[0].headers["Authorization"] == "Bearer sq-access-1"
    assert seen[0].headers["Square-Version"] == "2025-08-20"
    assert payment.amount == Money(Decimal("100.50"), "USD")
    assert payment.amount.minor == 10050
    assert payment.tip == Money(Decimal("2.00"), "USD")
    assert payment.fee_total == Money(Decimal("3.27"), "USD")
    assert (payment.reference_id, payment.card_brand, payment.location_id) == ("inv-42", "VISA", "L1")


def test_money_refuses_non_integer_minor_units() -> None:
    with pytest.raises(ValueError, match="not an integer"):
        Money.from_square({"amount": 1.5, "currency": "USD"})
    assert Money.from_square({"amount": 500, "currency": "JPY"}) == Money(Decimal(500), "JPY")
    assert Money.from_square({"amount": -4800, "currency_code": "USD"}) == Money(Decimal("-48.00"), "USD")


def test_payout_entries_follow_the_cursor_until_absent() -> None:
    pages = {
        None: {"payout_entries": [_entry("poe_1", "CHARGE")], "cursor": "c2"},
        "c2": {"payout_entries": [_entry("poe_2", "REFUND")], "cursor": "c3"},
        "c3": {"payout_entries": [_entry("poe_3", "FEE")]},
    }
    square, seen = client(lambda r: httpx.Response(200, json=pages[r.url.params.get("cursor")]))
    entries = list(square.iter_payout_entries("po_1"))
    assert [e.id for e in entries] == ["poe_1", "poe_2", "poe_3"]
    assert [r.url.params.get("cursor") for r in seen] == [None, "c2", "c3"]
    assert entries[0].payment_id == "pay_poe_1"
    assert entries[0].net == Money(Decimal("0.81"), "USD")


def _entry(entry_id: str, kind: str) -> dict[str, Any]:
    return {
        "id": entry_id,
        "payout_id": "po_1",
        "type": kind,
        "gross_amount_money": {"amount": 100, "currency": "USD"},
        "fee_amount_money": {"amount": 19, "currency": "USD"},
        "net_amount_money": {"amount": 81, "currency": "USD"},
        f"type_{kind.lower()}_details": {"payment_id": f"pay_{entry_id}"},
    }


def test_get_payout_and_locations() -> None:
    payout = {
        "id": "po_1",
        "status": "SENT",
        "amount_money": {"amount": 6259, "currency": "USD"},
        "arrival_date": "2025-08-22",
        "end_to_end_id": "L2100000005",
        "destination": {"type": "BANK_ACCOUNT", "id": "ccof:1"},
        "version": 1,
    }
    answers = {
        "/v2/payouts/po_1": {"payout": payout},
        "/v2/locations": {"locations": [{"id": "L1", "name": "Main", "timezone": "America/New_York"}]},
    }
    square, _ = client(lambda r: httpx.Response(200, json=answers[r.url.path]))
    got = square.get_payout("po_1")
    assert (got.amount.amount, got.arrival_date, got.destination_type) == (
        Decimal("62.59"),
        "2025-08-22",
        "BANK_ACCOUNT",
    )
    assert [(loc.id, loc.timezone) for loc in square.list_locations()] == [("L1", "America/New_York")]


def _errors(status: int, category: str, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"errors": [{"category": category, "code": code, "detail": "nope"}]}
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


@pytest.mark.parametrize(
    ("status", "category", "code", "error"),
    [
        (404, "INVALID_REQUEST_ERROR", "NOT_FOUND", RemoteNotFound),
        (403, "AUTHENTICATION_ERROR", "INSUFFICIENT_SCOPES", NeedsReconnection),
        (400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", Rejected),
    ],
)
def test_square_errors_map_to_typed_errors(
    status: int, category: str, code: str, error: type[ProviderError]
) -> None:
    square, _ = client(lambda r: _errors(status, category, code))
    with pytest.raises(error) as caught:
        square.get_refund("ref_1")
    assert caught.value.provider_code == code


def test_401_gets_one_refreshed_token_then_connection_down() -> None:
    tokens = Tokens()
    square, seen = client(lambda r: _errors(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED"), tokens)
    with pytest.raises(ConnectionDown):
        square.get_payment("pay_1")
    assert tokens.rejections == 1
    assert [r.headers["Authorization"] for r in seen] == ["Bearer sq-access-1", "Bearer sq-access-2"]


def test_429_with_long_retry_after_is_rate_limited() -> None:
    square, _ = client(lambda r: _errors(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        square.get_payout("po_1")
    assert caught.value.retry_after == 120


def test_ids_are_checked_before_they_reach_a_url() -> None:
    square, seen = client(lambda r: httpx.Response(200, json={}))
    with pytest.raises(ValueError, match="not a Square id"):
        square.get_payment("../v2/payouts")
    assert seen == []
