"""The Connect v2 read endpoints booksync calls: locations, payments, refunds, payouts, entries.

Every answer is the seller's own data only (another seller's id is a 404, as in Square), in the
shapes of api.json (GetPaymentResponse, ListPayoutEntriesResponse, ...). Lists page with opaque
cursors; ``limit`` above 100 is clamped to 100 (Square's documented maximum), and the config's
``page_size`` can make every page smaller so clients must follow cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any, TypeVar

from local.sandboxes.kit.wire import Request
from local.sandboxes.square import errors
from local.sandboxes.square.config import SquareConfig
from local.sandboxes.square.ledger import PAYOUT_STATUSES, Ledger

T = TypeVar("T")
MAX_LIMIT = 100


class DataAPI:
    def __init__(self, config: SquareConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    # ------------------------------------------------------------ locations

    def list_locations(self, request: Request, merchant_id: str) -> dict[str, Any]:
        with self.ledger.lock:
            merchant = self.ledger.merchants[merchant_id]
            return {"locations": [self.ledger.render_location(loc) for loc in merchant.locations]}

    def get_location(self, request: Request, merchant_id: str, location_id: str) -> dict[str, Any]:
        with self.ledger.lock:
            merchant = self.ledger.merchants[merchant_id]
            if location_id == "main":
                return {"location": self.ledger.render_location(merchant.main_location)}
            for location in merchant.locations:
                if location.id == location_id:
                    return {"location": self.ledger.render_location(location)}
        raise errors.not_found("location", location_id)

    # ------------------------------------------------------------ payments and refunds

    def get_payment(self, request: Request, merchant_id: str, payment_id: str) -> dict[str, Any]:
        with self.ledger.lock:
            payment = self.ledger.payments.get(payment_id)
            if payment is None or payment.merchant_id != merchant_id:
                raise errors.not_found("payment", payment_id)
            return {"payment": self.ledger.render_payment(payment)}

    def list_payments(self, request: Request, merchant_id: str) -> dict[str, Any]:
        location_id = self._location_filter(request, merchant_id)
        descending = _sort_order(request, default="DESC") == "DESC"
        with self.ledger.lock:
            found = [
                p
                for p in self.ledger.payments.values()
                if p.merchant_id == merchant_id and p.location_id == location_id
            ]
            if descending:  # the ledger keeps creation order (timestamps can tie within a millisecond)
                found.reverse()
            page, cursor = self._page(request, found, f"payments:{location_id}:{descending}")
            return _listing("payments", [self.ledger.render_payment(p) for p in page], cursor)

    def get_refund(self, request: Request, merchant_id: str, refund_id: str) -> dict[str, Any]:
        with self.ledger.lock:
            refund = self.ledger.refunds.get(refund_id)
            if refund is None or refund.merchant_id != merchant_id:
                raise errors.not_found("refund", refund_id)
            return {"refund": self.ledger.render_refund(refund)}

    # ------------------------------------------------------------ payouts

    def list_payouts(self, request: Request, merchant_id: str) -> dict[str, Any]:
        location_id = self._location_filter(request, merchant_id)
        status = request.param("status")
        if status is not None and status not in PAYOUT_STATUSES:
            raise errors.invalid_value("status", f"status must be one of {', '.join(PAYOUT_STATUSES)}.")
        descending = _sort_order(request, default="DESC") == "DESC"
        with self.ledger.lock:
            found = [
                p
                for p in self.ledger.payouts.values()
                if p.merchant_id == merchant_id
                and p.location_id == location_id
                and status in (None, p.status)
            ]
            if descending:  # the ledger keeps creation order (timestamps can tie within a millisecond)
                found.reverse()
            page, cursor = self._page(request, found, f"payouts:{location_id}:{status}:{descending}")
            return _listing("payouts", [self.ledger.render_payout(p) for p in page], cursor)

    def get_payout(self, request: Request, merchant_id: str, payout_id: str) -> dict[str, Any]:
        with self.ledger.lock:
            payout = self.ledger.payouts.get(payout_id)
            if payout is None or payout.merchant_id != merchant_id:
                raise errors.not_found("payout", payout_id)
            return {"payout": self.ledger.render_payout(payout)}

    def list_payout_entries(self, request: Request, merchant_id: str, payout_id: str) -> dict[str, Any]:
        descending = _sort_order(request, default="ASC") == "DESC"
        with self.ledger.lock:
            payout = self.ledger.payouts.get(payout_id)
            if payout is None or payout.merchant_id != merchant_id:
                raise errors.not_found("payout", payout_id)
            entries = list(reversed(payout.entries)) if descending else list(payout.entries)
            page, cursor = self._page(request, entries, f"entries:{payout_id}:{descending}")
            return _listing("payout_entries", [self.ledger.render_entry(e) for e in page], cursor)

    # ------------------------------------------------------------ helpers

    def _location_filter(self, request: Request, merchant_id: str) -> str:
        """Square lists the main location's records when location_id is absent."""
        asked = request.param("location_id")
        with self.ledger.lock:
            merchant = self.ledger.merchants[merchant_id]
            if not asked:
                return merchant.main_location.id
            if all(location.id != asked for location in merchant.locations):
                raise errors.not_found("location", asked)
            return asked

    def _page(self, request: Request, items: Sequence[T], scope: str) -> tuple[Sequence[T], str | None]:
        limit = _limit(request)
        size = max(1, min(limit, self.config.page_size))
        start = 0
        cursor = request.param("cursor")
        if cursor:
            start = _read_cursor(cursor, scope)
        end = start + size
        following = _write_cursor(scope, end) if end < len(items) else None
        return items[start:end], following


def _listing(key: str, items: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {key: items}
    if cursor:
        body["cursor"] = cursor
    return body


def _limit(request: Request) -> int:
    text = request.param("limit")
    if text is None or text == "":
        return MAX_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise errors.invalid_value("limit", "limit must be an integer.") from None
    if value < 1:
        raise errors.invalid_value("limit", "limit must be at least 1.")
    return min(value, MAX_LIMIT)


def _sort_order(request: Request, default: str) -> str:
    order = request.param("sort_order") or default
    if order not in {"ASC", "DESC"}:
        raise errors.invalid_value("sort_order", "sort_order must be ASC or DESC.")
    return order


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:8]


def _write_cursor(scope: str, offset: int) -> str:
    # Opaque to clients, bound to the list it came from: a cursor of another list is refused.
    return base64.urlsafe_b64encode(f"{_scope_tag(scope)}:{offset}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str, scope: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, offset = raw.partition(":")
        value = int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.invalid_cursor() from None
    if tag != _scope_tag(scope) or value < 0:
        raise errors.invalid_cursor()
    return value
