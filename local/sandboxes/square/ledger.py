"""The sellers' books: merchants, locations, payments, refunds and payouts, and the events they raise.

Amounts are integers of minor units (cents), as Square's Money carries them. Every change that
Square would announce by webhook appends an Event holding a snapshot of the object at that moment,
so a redelivery of an old event is a stale event, exactly as Square's retries can be.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.sandboxes.square import ids
from local.sandboxes.square.config import SquareConfig

PAYMENT_STATUSES = ("APPROVED", "PENDING", "COMPLETED", "CANCELED", "FAILED")
REFUND_STATUSES = ("PENDING", "COMPLETED", "REJECTED", "FAILED")
PAYOUT_STATUSES = ("SENT", "FAILED", "PAID")
# The ActivityType values the sandbox writes on payout entries.
ENTRY_TYPES = ("CHARGE", "REFUND", "ADJUSTMENT")
_DETAILED = {"CHARGE", "REFUND"}
EVENT_TYPES = (
    "payment.created",
    "payment.updated",
    "refund.created",
    "refund.updated",
    "payout.sent",
    "payout.failed",
    "payout.paid",
)


class LedgerError(ValueError):
    """A control request the books cannot honour; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def stamp(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC with milliseconds, as Square writes created_at: 2020-11-22T21:16:51.086Z."""
    value = (moment or datetime.now(UTC)).astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass
class Location:
    id: str
    merchant_id: str
    name: str
    created_at: str
    timezone: str = "America/Los_Angeles"


@dataclass
class Merchant:
    id: str
    name: str
    created_at: str
    locations: list[Location] = field(default_factory=list)
    bank_account_id: str = ""

    @property
    def main_location(self) -> Location:
        return self.locations[0]


@dataclass
class Payment:
    id: str
    merchant_id: str
    location_id: str
    amount: int
    tip: int
    fee: int
    status: str
    created_at: str
    updated_at: str
    fee_effective_at: str
    order_id: str
    version_token: str
    reference_id: str | None = None
    note: str | None = None
    customer_id: str | None = None
    card_brand: str = "VISA"
    last_4: str = "1111"
    refunded: int = 0
    refund_ids: list[str] = field(default_factory=list)
    payout_id: str | None = None

    @property
    def total(self) -> int:
        return self.amount + self.tip


@dataclass
class Refund:
    id: str
    payment_id: str
    merchant_id: str
    location_id: str
    order_id: str
    amount: int
    fee: int  # negative: the part of the payment's fee Square gives back
    status: str
    reason: str
    created_at: str
    updated_at: str
    payout_id: str | None = None


@dataclass
class Entry:
    id: str
    payout_id: str
    effective_at: str
    type: str
    gross: int
    fee: int
    details: dict[str, Any]

    @property
    def net(self) -> int:
        return self.gross - self.fee


@dataclass
class PayoutFee:
    amount: int
    type: str
    effective_at: str


@dataclass
class Payout:
    id: str
    merchant_id: str
    location_id: str
    status: str
    created_at: str
    updated_at: str
    amount: int
    type: str
    arrival_date: str
    end_to_end_id: str
    destination_id: str
    entries: list[Entry] = field(default_factory=list)
    fees: list[PayoutFee] = field(default_factory=list)
    version: int = 1


@dataclass
class Event:
    event_id: str
    type: str
    merchant_id: str
    location_id: str | None
    created_at: str
    data_type: str
    data_id: str
    object: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """The notification body Square posts (api.json PaymentCreatedEvent, PayoutSentEvent...)."""
        body: dict[str, Any] = {"merchant_id": self.merchant_id}
        if self.location_id is not None:  # payout events carry it at the top; payment events do not
            body["location_id"] = self.location_id
        body.update(
            {
                "type": self.type,
                "event_id": self.event_id,
                "created_at": self.created_at,
                "data": {"type": self.data_type, "id": self.data_id, "object": {self.data_type: self.object}},
            }
        )
        return body


class Ledger:
    """Every seller's books; one lock (the sandbox is small and correctness beats concurrency)."""

    def __init__(self, config: SquareConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.merchants: dict[str, Merchant] = {}
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Refund] = {}
        self.payouts: dict[str, Payout] = {}
        self.events: dict[str, Event] = {}
        self.event_order: list[str] = []

    # ------------------------------------------------------------ rendering

    def money(self, amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": self.config.currency}

    def render_location(self, location: Location) -> dict[str, Any]:
        return {
            "id": location.id,
            "name": location.name,
            "address": {
                "address_line_1": "1600 Pennsylvania Ave",
                "locality": "San Francisco",
                "administrative_district_level_1": "CA",
                "postal_code": "94114",
                "country": "US",
            },
            "timezone": location.timezone,
            "capabilities": ["CREDIT_CARD_PROCESSING", "AUTOMATIC_TRANSFERS"],
            "status": "ACTIVE",
            "created_at": location.created_at[:19] + "Z",
            "merchant_id": location.merchant_id,
            "country": "US",
            "language_code": "en-US",
            "currency": self.config.currency,
            "business_name": location.name,
            "type": "PHYSICAL",
            "mcc": "7299",
        }

    def render_payment(self, payment: Payment) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": payment.id,
            "created_at": payment.created_at,
            "updated_at": payment.updated_at,
            "amount_money": self.money(payment.amount),
            "total_money": self.money(payment.total),
            "approved_money": self.money(payment.total),
            "status": payment.status,
            "delay_duration": "PT168H",
            "delay_action": "CANCEL",
            "source_type": "CARD",
            "card_details": {
                "status": "CAPTURED" if payment.status == "COMPLETED" else "AUTHORIZED",
                "card": {
                    "card_brand": payment.card_brand,
                    "last_4": payment.last_4,
                    "exp_month": 11,
                    "exp_year": 2030,
                    "fingerprint": f"sq-1-{payment.id}",
                    "card_type": "CREDIT",
                    "prepaid_type": "NOT_PREPAID",
                    "bin": "411111",
                },
                "entry_method": "KEYED",
                "cvv_status": "CVV_ACCEPTED",
                "avs_status": "AVS_ACCEPTED",
                "statement_description": "SQ *BOOKSYNC SANDBOX",
                "card_payment_timeline": {"authorized_at": payment.created_at},
            },
            "location_id": payment.location_id,
            "order_id": payment.order_id,
            # No risk_evaluation: api.json's RiskEvaluation (BETA) requires a "status" it never defines.
            "receipt_number": payment.id[:4],
            "receipt_url": f"https://squareupsandbox.com/receipt/preview/{payment.id}",
            "application_details": {"square_product": "ECOMMERCE_API", "application_id": "sandbox-sq0idb"},
            "version_token": payment.version_token,
        }
        if payment.tip:
            body["tip_money"] = self.money(payment.tip)
        if payment.status == "COMPLETED":
            body["card_details"]["card_payment_timeline"]["captured_at"] = payment.fee_effective_at
            body["processing_fee"] = [
                {
                    "effective_at": payment.fee_effective_at,
                    "type": "INITIAL",
                    "amount_money": self.money(payment.fee),
                }
            ]
        else:
            body["delayed_until"] = stamp(_parse(payment.created_at) + timedelta(hours=168))
            body["capabilities"] = ["EDIT_TIP_AMOUNT", "EDIT_TIP_AMOUNT_UP", "EDIT_TIP_AMOUNT_DOWN"]
        if payment.refunded:
            body["refunded_money"] = self.money(payment.refunded)
            body["refund_ids"] = list(payment.refund_ids)
        for name in ("reference_id", "note", "customer_id"):
            if getattr(payment, name):
                body[name] = getattr(payment, name)
        return body

    def render_refund(self, refund: Refund) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": refund.id,
            "status": refund.status,
            "location_id": refund.location_id,
            "amount_money": self.money(refund.amount),
            "payment_id": refund.payment_id,
            "order_id": refund.order_id,
            "reason": refund.reason,
            "created_at": refund.created_at,
            "updated_at": refund.updated_at,
            "destination_type": "CARD",
        }
        if refund.status == "COMPLETED" and refund.fee:
            body["processing_fee"] = [
                {"effective_at": refund.updated_at, "type": "INITIAL", "amount_money": self.money(refund.fee)}
            ]
        return body

    def render_payout(self, payout: Payout) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": payout.id,
            "status": payout.status,
            "location_id": payout.location_id,
            "created_at": payout.created_at,
            "updated_at": payout.updated_at,
            "amount_money": self.money(payout.amount),
            "destination": {"type": "BANK_ACCOUNT", "id": payout.destination_id},
            "version": payout.version,
            "type": payout.type,
            "arrival_date": payout.arrival_date,
            "end_to_end_id": payout.end_to_end_id,
        }
        if payout.fees:
            body["payout_fee"] = [
                {"amount_money": self.money(fee.amount), "effective_at": fee.effective_at, "type": fee.type}
                for fee in payout.fees
            ]
        return body

    def render_entry(self, entry: Entry) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": entry.id,
            "payout_id": entry.payout_id,
            "effective_at": entry.effective_at,
            "type": entry.type,
            "gross_amount_money": self.money(entry.gross),
            "fee_amount_money": self.money(entry.fee),
            "net_amount_money": self.money(entry.net),
        }
        # PayoutEntry has a type_<activity>_details field for some types only (none for ADJUSTMENT).
        if entry.type in _DETAILED:
            body[f"type_{entry.type.lower()}_details"] = dict(entry.details)
        return body

    # ------------------------------------------------------------ merchants

    def add_merchant(self, name: str, locations: list[str], merchant_id: str | None = None) -> Merchant:
        with self.lock:
            mid = merchant_id or ids.merchant_id()
            if mid in self.merchants:
                raise LedgerError(f"merchant {mid} already exists", 409)
            now = stamp()
            merchant = Merchant(mid, name, now, bank_account_id=f"bact:{ids.location_id()}")
            for location_name in locations or [name]:
                merchant.locations.append(Location(ids.location_id(), mid, location_name, now))
            self.merchants[mid] = merchant
            return merchant

    def merchant(self, merchant_id: str) -> Merchant:
        merchant = self.merchants.get(merchant_id)
        if merchant is None:
            raise LedgerError(
                f"unknown merchant {merchant_id!r}: register it with POST /_sandbox/merchants", 404
            )
        return merchant

    def location(self, merchant: Merchant, location_id: str | None) -> Location:
        if not location_id:
            return merchant.main_location
        for location in merchant.locations:
            if location.id == location_id:
                return location
        known = ", ".join(loc.id for loc in merchant.locations)
        raise LedgerError(f"location {location_id!r} is not one of merchant {merchant.id}'s ({known})")

    # ------------------------------------------------------------ payments

    def create_payment(
        self,
        merchant_id: str,
        *,
        amount: int,
        tip: int = 0,
        location_id: str | None = None,
        reference_id: str | None = None,
        note: str | None = None,
        customer_id: str | None = None,
        status: str = "COMPLETED",
    ) -> tuple[Payment, list[Event]]:
        if amount <= 0 or tip < 0:
            raise LedgerError("amount must be > 0 and tip >= 0 (integers of cents)")
        if status not in {"COMPLETED", "APPROVED"}:
            raise LedgerError("status must be COMPLETED or APPROVED (complete it later)")
        if reference_id is not None and len(reference_id) > 40:
            raise LedgerError("reference_id is at most 40 characters (Square's limit)")
        with self.lock:
            merchant = self.merchant(merchant_id)
            location = self.location(merchant, location_id)
            now = stamp()
            payment = Payment(
                id=ids.payment_id(),
                merchant_id=merchant.id,
                location_id=location.id,
                amount=amount,
                tip=tip,
                fee=self.config.fees.card_fee(amount + tip),
                status=status,
                created_at=now,
                updated_at=now,
                fee_effective_at=now,
                order_id=ids.order_id(),
                version_token=ids.version_token(),
                reference_id=reference_id,
                note=note,
                customer_id=customer_id,
            )
            self.payments[payment.id] = payment
            return payment, [
                self._event(
                    "payment.created", merchant.id, None, "payment", payment.id, self.render_payment(payment)
                )
            ]

    def payment(self, payment_id: str, merchant_id: str | None = None) -> Payment:
        payment = self.payments.get(payment_id)
        if payment is None or (merchant_id is not None and payment.merchant_id != merchant_id):
            raise LedgerError(f"unknown payment {payment_id!r}", 404)
        return payment

    def complete_payment(self, payment_id: str) -> tuple[Payment, list[Event]]:
        with self.lock:
            payment = self.payment(payment_id)
            if payment.status != "APPROVED":
                raise LedgerError(
                    f"payment {payment_id} is {payment.status}; only APPROVED payments complete", 409
                )
            payment.status = "COMPLETED"
            self._touch(payment)
            payment.fee_effective_at = payment.updated_at
            return payment, [self._payment_updated(payment)]

    def _touch(self, payment: Payment) -> None:
        payment.updated_at = stamp()
        payment.version_token = ids.version_token()

    def _payment_updated(self, payment: Payment) -> Event:
        return self._event(
            "payment.updated", payment.merchant_id, None, "payment", payment.id, self.render_payment(payment)
        )

    # ------------------------------------------------------------ refunds

    def refund(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        reason: str = "Returned",
        status: str = "COMPLETED",
    ) -> tuple[Refund, list[Event]]:
        if status not in {"COMPLETED", "PENDING"}:
            raise LedgerError("status must be COMPLETED or PENDING (complete it later)")
        with self.lock:
            payment = self.payment(payment_id)
            if payment.status != "COMPLETED":
                raise LedgerError(
                    f"payment {payment_id} is {payment.status}; only COMPLETED payments refund", 409
                )
            pending = sum(
                r.amount
                for r in self.refunds.values()
                if r.payment_id == payment.id and r.status == "PENDING"
            )
            refundable = payment.total - payment.refunded - pending
            value = refundable if amount is None else amount
            if value <= 0 or value > refundable:
                raise LedgerError(
                    f"refund amount must be between 1 and {refundable} (what is left to refund)"
                )
            now = stamp()
            refund = Refund(
                id=ids.refund_id(payment.id),
                payment_id=payment.id,
                merchant_id=payment.merchant_id,
                location_id=payment.location_id,
                order_id=payment.order_id,
                amount=value,
                fee=self._refund_fee(payment, value),
                status="PENDING",
                reason=reason,
                created_at=now,
                updated_at=now,
            )
            self.refunds[refund.id] = refund
            events = [
                self._event(
                    "refund.created",
                    refund.merchant_id,
                    None,
                    "refund",
                    refund.id,
                    self.render_refund(refund),
                )
            ]
            if status == "COMPLETED":
                events.extend(self._complete_refund(refund))
            return refund, events

    def _refund_fee(self, payment: Payment, amount: int) -> int:
        """The share of the payment's fee given back, negative; the last refund gets the remainder."""
        if not self.config.fees.refund_returns_fee:
            return 0
        # Pending refunds count too (REJECTED and FAILED ones carry no fee), so the refunds that
        # together cover the whole payment give back exactly its fee, whatever order they finish in.
        alive = [
            r
            for r in self.refunds.values()
            if r.payment_id == payment.id and r.status in {"PENDING", "COMPLETED"}
        ]
        returned = sum(r.fee for r in alive)
        if sum(r.amount for r in alive) + amount >= payment.total:
            return -(payment.fee + returned)
        return -((payment.fee * amount * 2 + payment.total) // (payment.total * 2))

    def complete_refund(self, refund_id: str, status: str = "COMPLETED") -> tuple[Refund, list[Event]]:
        if status not in {"COMPLETED", "REJECTED", "FAILED"}:
            raise LedgerError("status must be COMPLETED, REJECTED or FAILED")
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                raise LedgerError(f"unknown refund {refund_id!r}", 404)
            if refund.status != "PENDING":
                raise LedgerError(f"refund {refund_id} is already {refund.status}", 409)
            if status == "COMPLETED":
                return refund, self._complete_refund(refund)
            refund.status = status
            refund.fee = 0
            refund.updated_at = stamp()
            return refund, [
                self._event(
                    "refund.updated",
                    refund.merchant_id,
                    None,
                    "refund",
                    refund.id,
                    self.render_refund(refund),
                )
            ]

    def _complete_refund(self, refund: Refund) -> list[Event]:
        refund.status = "COMPLETED"
        refund.updated_at = stamp()
        payment = self.payments[refund.payment_id]
        payment.refunded += refund.amount
        payment.refund_ids.append(refund.id)
        self._touch(payment)
        return [
            self._event(
                "refund.updated", refund.merchant_id, None, "refund", refund.id, self.render_refund(refund)
            ),
            self._payment_updated(payment),
        ]

    # ------------------------------------------------------------ payouts

    def create_payout(
        self,
        merchant_id: str,
        *,
        location_id: str | None = None,
        instant: bool = False,
        adjustment: int | None = None,
        arrival_date: str | None = None,
        amount_offset: int = 0,
    ) -> tuple[Payout, list[Event]]:
        """Pay out the location's completed activity that no payout holds yet (status SENT)."""
        with self.lock:
            merchant = self.merchant(merchant_id)
            location = self.location(merchant, location_id)
            now = stamp()
            payout = Payout(
                id=ids.payout_id(),
                merchant_id=merchant.id,
                location_id=location.id,
                status="SENT",
                created_at=now,
                updated_at=now,
                amount=0,
                type="BATCH",
                arrival_date=arrival_date or _arrival(instant),
                end_to_end_id=ids.end_to_end_id(),
                destination_id=merchant.bank_account_id,
            )
            payments, refunds = self._unpaid(location.id)
            payout.entries = [self._charge_entry(payout.id, payment) for payment in payments]
            payout.entries += [self._refund_entry(payout.id, refund) for refund in refunds]
            if adjustment:
                payout.entries.append(
                    Entry(ids.payout_entry_id(), payout.id, now, "ADJUSTMENT", adjustment, 0, {})
                )
            net = sum(entry.net for entry in payout.entries)
            if not payout.entries or net == 0:
                raise LedgerError(
                    f"location {location.id} has nothing to pay out (no completed payment, refund or "
                    "adjustment outside a payout, or they cancel out): Square never sends a zero payout",
                    409,
                )
            if instant and net < 0:
                raise LedgerError(
                    f"the balance of location {location.id} is negative ({net}): nothing to transfer"
                )
            if instant:
                payout.fees.append(PayoutFee(self.config.fees.instant_fee(net), "TRANSFER_FEE", now))
            # amount_offset (tests only) makes a payout that disagrees with its entries, as if Square
            # had moved money the entries do not explain: a deposit must then refuse to add up.
            payout.amount = net - sum(fee.amount for fee in payout.fees) + amount_offset
            for payment in payments:
                payment.payout_id = payout.id
            for refund in refunds:
                refund.payout_id = payout.id
            self.payouts[payout.id] = payout
            return payout, [self._payout_event("payout.sent", payout)]

    def _unpaid(self, location_id: str) -> tuple[list[Payment], list[Refund]]:
        payments = [
            p
            for p in self.payments.values()
            if p.location_id == location_id and p.status == "COMPLETED" and p.payout_id is None
        ]
        refunds = [
            r
            for r in self.refunds.values()
            if r.location_id == location_id and r.status == "COMPLETED" and r.payout_id is None
        ]
        return payments, refunds

    def _charge_entry(self, payout_id: str, payment: Payment) -> Entry:
        details = {"payment_id": payment.id}
        return Entry(
            ids.payout_entry_id(),
            payout_id,
            payment.fee_effective_at,
            "CHARGE",
            payment.total,
            payment.fee,
            details,
        )

    def _refund_entry(self, payout_id: str, refund: Refund) -> Entry:
        details = {"payment_id": refund.payment_id, "refund_id": refund.id}
        return Entry(
            ids.payout_entry_id(), payout_id, refund.updated_at, "REFUND", -refund.amount, refund.fee, details
        )

    def settle_payout(self, payout_id: str, status: str) -> tuple[Payout, list[Event]]:
        """SENT -> PAID (the bank has it) or SENT -> FAILED (the bank sent it back)."""
        if status not in {"PAID", "FAILED"}:
            raise LedgerError("status must be PAID or FAILED")
        with self.lock:
            payout = self.payouts.get(payout_id)
            if payout is None:
                raise LedgerError(f"unknown payout {payout_id!r}", 404)
            if payout.status != "SENT":
                raise LedgerError(f"payout {payout_id} is already {payout.status}", 409)
            payout.status = status
            payout.updated_at = stamp()
            payout.version += 1
            return payout, [self._payout_event(f"payout.{status.lower()}", payout)]

    def _payout_event(self, kind: str, payout: Payout) -> Event:
        return self._event(
            kind, payout.merchant_id, payout.location_id, "payout", payout.id, self.render_payout(payout)
        )

    # ------------------------------------------------------------ events

    def _event(
        self,
        kind: str,
        merchant_id: str,
        location_id: str | None,
        data_type: str,
        data_id: str,
        obj: dict[str, Any],
    ) -> Event:
        event = Event(
            ids.event_id(), kind, merchant_id, location_id, stamp(), data_type, data_id, copy.deepcopy(obj)
        )
        self.events[event.event_id] = event
        self.event_order.append(event.event_id)
        return event

    def event(self, event_id: str) -> Event:
        event = self.events.get(event_id)
        if event is None:
            raise LedgerError(f"unknown event {event_id!r}", 404)
        return event


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _arrival(instant: bool) -> str:
    """Instant transfers arrive today; a batch payout the next business day."""
    day = datetime.now(UTC).date()
    if instant:
        return day.isoformat()
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return date.isoformat(day)
