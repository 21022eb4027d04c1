"""Square's objects as booksync reads them: locations, payments, refunds, payouts and payout
entries, as typed, frozen dataclasses (the payout planner and the payment recorder use them; the
HTTP client in ``client.py`` makes them from Square's answers).

Money crosses the boundary once: Square's ``{"amount": <int minor units>, "currency": "USD"}``
becomes ``Money(amount: Decimal in major units, currency)`` here, with the minor units kept as
``minor`` (design rule 4: never float).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from booksync import currency as iso

FeeT = TypeVar("FeeT")

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
