"""A small Square API client: locations, payments, refunds, payouts and payout entries.

It speaks Square's JSON and hands back typed, frozen dataclasses. Money crosses the boundary
once: Square's ``{"amount": <int minor units>, "currency": "USD"}`` becomes ``Money(amount:
Decimal in major units, currency)`` here, with the minor units kept as ``minor`` (design rule 4:
never float). Every call carries ``Authorization: Bearer <token from a TokenSource>`` and
``Square-Version``.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote as quote_path

from booksync import currency as iso
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
FeeT = TypeVar("FeeT")

_SAFE_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,192}")

Json = dict[str, Any]


# --------------------------------------------------------------------------- money


@dataclass(frozen=True)
class Money:
    """An amount in major units (``Decimal("12.34")``) and its currency; ``minor`` is Square's int."""

    amount: Decimal
    currency: str

    @property
    def minor(self) -> int:
        return int(self.amount.scaleb(iso.minor_units(self.currency)))

    @classmethod
    def from_square(cls, value: Any) -> Money | None:
        """``{"amount": 1234, "currency": "USD"}`` -> ``Money(Decimal("12.34"), "USD")``.

        The spec's examples write ``currency_code``; the schema says ``currency``: both are read.
        """
        if not isinstance(value, Mapping) or value.get("amount") is None:
            return None
        currency = str(value.get("currency") or value.get("currency_code") or "USD")
        minor = value["amount"]
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise ValueError(f"Square money amount is not an integer: {minor!r}")  # noqa: TRY004
        # Integer minor units of that currency: 380 JPY is 380, 380 USD is 3.80 (ISO 4217 decimals).
        return cls(Decimal(minor).scaleb(-iso.minor_units(currency)).quantize(iso.unit(currency)), currency)

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(Decimal(0).quantize(iso.unit(currency)), currency)


def _money(value: Any) -> Money | None:
    return Money.from_square(value)


def _required_money(value: Any, what: str) -> Money:
    money = Money.from_square(value)
    if money is None:
        raise ValueError(f"Square {what} has no amount")
    return money


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Location:
    """``GET /v2/locations`` item: id, name, IANA ``timezone`` (for a payment's local date),
    ``currency``, ``status`` (ACTIVE/INACTIVE), ``merchant_id``."""

    id: str
    name: str | None
    timezone: str | None
    currency: str | None
    status: str | None
    merchant_id: str | None

    @classmethod
    def from_square(cls, data: Mapping[str, Any]) -> Location:
        return cls(
            id=str(data["id"]),
            name=_text(data.get("name")),
            timezone=_text(data.get("timezone")),
            currency=_text(data.get("currency")),
            status=_text(data.get("status")),
            merchant_id=_text(data.get("merchant_id")),
        )

    def to_json(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "timezone": self.timezone,
            "currency": self.currency,
            "status": self.status,
        }


@dataclass(frozen=True)
class ProcessingFee:
    """One ``processing_fee[]`` item: ``amount`` (positive: Square kept it), ``type`` INITIAL/ADJUSTMENT."""

    amount: Money
    type: str | None
    effective_at: str | None


def _fees(items: Any, kind: Callable[[Money, str | None, str | None], FeeT]) -> tuple[FeeT, ...]:
    """``processing_fee[]`` or ``payout_fee[]`` as ``kind``; an item without money is skipped."""
    fees = []
    for item in items or ():
        money = Money.from_square(item.get("amount_money")) if isinstance(item, Mapping) else None
        if money is not None:
            fees.append(kind(money, _text(item.get("type")), _text(item.get("effective_at"))))
    return tuple(fees)


@dataclass(frozen=True)
class Payment:
    """A Square ``Payment``.

    - ``amount``: ``amount_money``, what the buyer paid for the goods/invoice, tip excluded;
    - ``tip``: ``tip_money`` (None when no tip); ``total``: ``total_money`` = amount + tip (+ fees
      the app charged the buyer);
    - ``processing_fees``: Square's fees (may arrive only on a later ``payment.updated``);
    - ``refunded``: ``refunded_money``; ``status``: APPROVED/PENDING/COMPLETED/CANCELED/FAILED;
    - ``reference_id``: the id the business's app set (booksync: the invoice id it pays);
    - ``card_brand``: ``card_details.card.card_brand`` when the source is a card;
    - ``raw``: Square's object as received (for the record).
    """

    id: str
    status: str
    amount: Money
    tip: Money | None
    total: Money | None
    processing_fees: tuple[ProcessingFee, ...]
    refunded: Money | None
    location_id: str | None
    order_id: str | None
    customer_id: str | None
    reference_id: str | None
    source_type: str | None
    card_brand: str | None
    created_at: str | None
    updated_at: str | None
    version_token: str | None
    raw: Json = field(repr=False, compare=False, default_factory=dict)

    @property
    def fee_total(self) -> Money:
        total = Money.zero(self.amount.currency)
        return Money(sum((f.amount.amount for f in self.processing_fees), total.amount), total.currency)

    @classmethod
    def from_square(cls, data: Mapping[str, Any]) -> Payment:
        card = (data.get("card_details") or {}).get("card") or {}
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            amount=_required_money(data.get("amount_money"), "payment"),
            tip=_money(data.get("tip_money")),
            total=_money(data.get("total_money")),
            processing_fees=_fees(data.get("processing_fee"), ProcessingFee),
            refunded=_money(data.get("refunded_money")),
            location_id=_text(data.get("location_id")),
            order_id=_text(data.get("order_id")),
            customer_id=_text(data.get("customer_id")),
            reference_id=_text(data.get("reference_id")),
            source_type=_text(data.get("source_type")),
            card_brand=_text(card.get("card_brand")) if isinstance(card, Mapping) else None,
            created_at=_text(data.get("created_at")),
            updated_at=_text(data.get("updated_at")),
            version_token=_text(data.get("version_token")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Refund:
    """A Square ``PaymentRefund``: ``amount`` (``amount_money``, positive), ``payment_id``,
    ``status`` (PENDING/COMPLETED/REJECTED/FAILED), ``reason``, ``processing_fees`` (Square's fee
    adjustments, usually negative), ``location_id``, ``created_at``."""

    id: str
    status: str
    amount: Money
    payment_id: str | None
    reason: str | None
    processing_fees: tuple[ProcessingFee, ...]
    location_id: str | None
    order_id: str | None
    created_at: str | None
    updated_at: str | None
    raw: Json = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_square(cls, data: Mapping[str, Any]) -> Refund:
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            amount=_required_money(data.get("amount_money"), "refund"),
            payment_id=_text(data.get("payment_id")),
            reason=_text(data.get("reason")),
            processing_fees=_fees(data.get("processing_fee"), ProcessingFee),
            location_id=_text(data.get("location_id")),
            order_id=_text(data.get("order_id")),
            created_at=_text(data.get("created_at")),
            updated_at=_text(data.get("updated_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class PayoutFee:
    """``payout_fee[]``: ``amount`` and ``type`` TRANSFER_FEE / TAX_ON_TRANSFER_FEE."""

    amount: Money
    type: str | None
    effective_at: str | None


@dataclass(frozen=True)
class Payout:
    """A Square ``Payout``: ``amount`` (positive: a deposit to the bank; negative: a withdrawal;
    never zero), ``status`` SENT/FAILED/PAID, ``arrival_date`` (YYYY-MM-DD), ``end_to_end_id``
    (may show on the bank statement), ``destination`` ``{type, id}``, ``type`` BATCH/SIMPLE,
    ``payout_fees``."""

    id: str
    status: str
    location_id: str | None
    amount: Money
    arrival_date: str | None
    end_to_end_id: str | None
    destination_type: str | None
    destination_id: str | None
    type: str | None
    version: int | None
    payout_fees: tuple[PayoutFee, ...]
    created_at: str | None
    updated_at: str | None
    raw: Json = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_square(cls, data: Mapping[str, Any]) -> Payout:
        destination = data.get("destination") or {}
        version = data.get("version")
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            location_id=_text(data.get("location_id")),
            amount=_required_money(data.get("amount_money"), "payout"),
            arrival_date=_text(data.get("arrival_date")),
            end_to_end_id=_text(data.get("end_to_end_id")),
            destination_type=_text(destination.get("type")) if isinstance(destination, Mapping) else None,
            destination_id=_text(destination.get("id")) if isinstance(destination, Mapping) else None,
            type=_text(data.get("type")),
            version=int(version) if isinstance(version, int) else None,
            payout_fees=_fees(data.get("payout_fee"), PayoutFee),
            created_at=_text(data.get("created_at")),
            updated_at=_text(data.get("updated_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class PayoutEntry:
    """A ``PayoutEntry``: ``type`` (ActivityType: CHARGE, FEE, REFUND, ADJUSTMENT, ...),
    ``gross`` / ``fee`` / ``net`` (``net = gross - fee``; a REFUND's gross is negative),
    ``payment_id`` (from ``type_charge_details``, ``type_fee_details`` or ``type_refund_details``),
    ``refund_id`` (``type_refund_details``), ``details``: the ``type_<activity>_details`` object."""

    id: str
    payout_id: str | None
    type: str
    effective_at: str | None
    gross: Money | None
    fee: Money | None
    net: Money | None
    payment_id: str | None
    refund_id: str | None
    details: Json
    raw: Json = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_square(cls, data: Mapping[str, Any]) -> PayoutEntry:
        kind = str(data.get("type") or "OTHER")
        details: Json = {}
        for key, value in data.items():
            if key.startswith("type_") and key.endswith("_details") and isinstance(value, Mapping):
                details = dict(value)
                break
        return cls(
            id=str(data["id"]),
            payout_id=_text(data.get("payout_id")),
            type=kind,
            effective_at=_text(data.get("effective_at")),
            gross=_money(data.get("gross_amount_money")),
            fee=_money(data.get("fee_amount_money")),
            net=_money(data.get("net_amount_money")),
            payment_id=_text(details.get("payment_id")),
            refund_id=_text(details.get("refund_id")),
            details=details,
            raw=dict(data),
        )


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
