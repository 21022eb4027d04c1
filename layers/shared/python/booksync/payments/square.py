"""Square card payments and refunds recorded on booksync invoices (issue 4, "Webhooks").

The contract with the business's app: when it creates a Square payment for a booksync invoice it
sets the payment's ``reference_id`` to the booksync invoice id. A COMPLETED Square payment then
becomes the booksync Payment ``square-<square payment id>`` on that invoice, recorded through
``DocumentService.put_payment`` so it syncs to the accounting system like any payment:
- amount: ``amount_money`` (what is applied to the invoice; partial payments stay partial);
  the tip, total, Square's processing fees, location and card brand stay on the SquareActivity
  row for the payout deposit;
- date: ``created_at`` in the location's time zone; method ``credit_card``; reference: ``sq-``
  and the last 18 characters of the Square id (the 21 characters QuickBooks allows).
The id is deterministic, so redeliveries and the created/updated pair record it once. A later
event with another amount is reported (sync history + admin notification), never applied twice.

A payment without ``reference_id``, or naming no booksync invoice, is kept (status ``unmatched``)
and reported; ``match`` records it on an invoice an admin picks. COMPLETED refunds become the
booksync Refund ``square-<refund id>`` of payment ``square-<payment id>``; a refund of a payment
not recorded yet waits (``waiting_for_payment``) and is recorded when its payment is.

Square's money is integer minor units of its currency (380 JPY is 380, 380 USD is 3.80). A payment
in another currency than its invoice is never recorded as if it were the invoice's: it is held
(status ``rejected``, the reason on the row and in sync history, admins told once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from booksync.documents import DocumentKind, Payment, PaymentMethod, Refund
from booksync.errors import BooksyncError, FieldProblem, InvalidRequest, NotFoundError
from booksync.providers.square.models import Money
from booksync.providers.square.models import Payment as SquarePayment
from booksync.providers.square.models import Refund as SquareRefund
from booksync.store.documents import DocumentRepository
from booksync.store.models import SquareActivityModel
from booksync.store.notifications import NotificationRepository
from booksync.store.runs import RunRepository
from booksync.store.square_activity import SquareActivityRepository
from booksync.sync.records import DocumentService

logger = logging.getLogger(__name__)
PROVIDER = "square"
COMPLETED = "COMPLETED"
NOTIFICATION = "square:unmatched_payment"
CURRENCY_FIX = (
    "Square took the money in another currency than the invoice's. Refund it in Square and take "
    "the payment in the invoice's currency, or match it to an invoice in its currency "
    "(POST /square/payments/{id}/match)."
)


def document_id(square_id: str) -> str:
    """The booksync document id of a Square payment or refund (the payout deposit relies on it)."""
    return f"square-{square_id}"


def short_reference(square_id: str, limit: int | None) -> str:
    """The reference booksync gives a Square payment or refund: ``sq-`` and the end of Square's id,
    within ``limit`` (what the company's books keep whole; None: the whole id)."""
    whole = f"sq-{square_id}"
    if limit is None or len(whole) <= limit:
        return whole
    return f"sq-{square_id[-max(limit - 3, 1) :]}"


def local_date(stamp: str | None, timezone: str | None) -> date:
    """The day of ``stamp`` (RFC 3339) where the location is; UTC when either is unknown."""
    when = datetime.now(UTC)
    if stamp:
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("square timestamp not understood", extra={"created_at": stamp})
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return when.astimezone(zone).date()


class SquarePayments:
    def __init__(
        self,
        *,
        activity: SquareActivityRepository,
        documents: DocumentRepository,
        service: DocumentService,
        runs: RunRepository,
        notifications: NotificationRepository,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._activity = activity
        self._docs = documents
        self._service = service
        self._runs = runs
        self._notifications = notifications
        self._clock = clock

    def _reference(self, row: SquareActivityModel, kind: DocumentKind) -> str:
        """Within what the company's accounting system keeps (its declaration's text limits)."""
        return short_reference(row.square_id, self._service.text_limit(row.company_id, kind, "reference"))

    # -- payments -----------------------------------------------------------------------------
    def payment(
        self, company_id: str, payment: SquarePayment, *, merchant_id: str | None, timezone: str | None
    ) -> str:
        """Record a COMPLETED Square payment once; the outcome names what happened."""
        if payment.status != COMPLETED:
            return "not_completed"
        now = self._clock()
        row = self._activity.get(company_id, "payment", payment.id)
        if row is not None and row.status == "recorded":
            return self._again(row, payment, merchant_id, timezone)
        row = row or self._activity.new(company_id, "payment", payment.id, now=now)
        was = row.status
        _fill_payment(row, payment, merchant_id, local_date(payment.created_at, timezone))
        invoice_id = payment.reference_id
        if not invoice_id:
            return self._unmatched(
                row,
                was,
                "The Square payment has no reference_id, so booksync cannot tell which invoice it pays.",
            )
        if self._docs.get(company_id, DocumentKind.INVOICE, invoice_id) is None:
            return self._unmatched(
                row,
                was,
                f"The Square payment's reference_id is {invoice_id!r}, "
                "but booksync has no invoice with that id.",
            )
        return self._record(row, invoice_id)

    def _again(
        self, row: SquareActivityModel, payment: SquarePayment, merchant_id: str | None, timezone: str | None
    ) -> str:
        """A recorded payment seen again: keep Square's latest figures; report a new amount."""
        before = (row.amount, row.tip, row.total, row.processing_fee, row.square_status, row.card_brand)
        recorded = row.recorded_amount
        _fill_payment(row, payment, merchant_id, local_date(payment.created_at, timezone))
        after = (row.amount, row.tip, row.total, row.processing_fee, row.square_status, row.card_brand)
        if recorded is not None and Decimal(recorded) != payment.amount.amount:
            text = (
                f"Square payment {payment.id} now says {payment.amount.amount} {payment.amount.currency}, "
                f"but booksync recorded {recorded} on invoice {row.invoice_id} and keeps that amount."
            )
            changed = row.error != text
            row.error = text
            self._activity.save(row, now=self._clock())
            if changed:
                self._report(
                    row,
                    "square_amount_changed",
                    text,
                    f"Check the payment in Square; if the new amount is right, correct payment "
                    f"{row.document_id} in the accounting system.",
                )
            return "amount_changed"
        if before == after:
            return "unchanged"
        self._activity.save(row, now=self._clock())
        return "updated"

    def _record(self, row: SquareActivityModel, invoice_id: str) -> str:
        amount = Decimal(str(row.amount))
        try:
            doc = Payment(
                id=document_id(row.square_id),
                invoice_id=invoice_id,
                amount=amount,
                date=date.fromisoformat(str(row.local_date)),
                method=PaymentMethod.CREDIT_CARD,
                reference=self._reference(row, DocumentKind.PAYMENT),
                memo=f"Square payment {row.square_id}" + (f" ({row.card_brand})" if row.card_brand else ""),
                # Square's money is in its own currency: one the invoice is not in is refused on
                # receipt (held here as rejected, reported once), never recorded as the invoice's.
                currency=row.currency,
            )
            self._service.put_payment(row.company_id, doc)
        except (BooksyncError, ValidationError) as exc:
            text = (
                f"Square payment {row.square_id} could not be recorded on invoice {invoice_id}: {_said(exc)}"
            )
            was = row.status
            row.status, row.error, row.invoice_id = "rejected", text, invoice_id
            self._activity.save(row, now=self._clock())
            if was != "rejected":
                code, fix = "square_payment_rejected", _fix(exc)
                if isinstance(exc, FieldProblem) and exc.field == "currency":
                    code, fix = "square_currency_mismatch", CURRENCY_FIX
                self._report(row, code, text, fix)
            return "rejected"
        row.status, row.error = "recorded", None
        row.invoice_id, row.document_id, row.recorded_amount = invoice_id, doc.id, str(doc.amount)
        self._activity.save(row, now=self._clock())
        logger.info("square payment recorded", extra={"square_id": row.square_id, "invoice_id": invoice_id})
        for refund in self._activity.refunds_waiting_for(row.company_id, row.square_id):
            self._record_refund(refund, row)
        return "recorded"

    def _unmatched(self, row: SquareActivityModel, was: str, text: str) -> str:
        row.status, row.error = "unmatched", text
        self._activity.save(row, now=self._clock())
        if was != "unmatched":  # once per payment, not once per redelivery
            self._report(
                row,
                "square_payment_unmatched",
                text,
                "Match it to an invoice (GET /square/payments/unmatched, then POST "
                f"/square/payments/{row.square_id}/match), and have your app set the invoice id as the "
                "Square payment's reference_id.",
            )
        return "unmatched"

    # -- matching afterwards ------------------------------------------------------------------
    def unmatched(self, company_id: str) -> list[dict[str, Any]]:
        rows = self._activity.with_status(company_id, "payment", "unmatched")
        rows += self._activity.with_status(company_id, "payment", "rejected")
        return [describe(row) for row in sorted(rows, key=lambda r: str(r.square_created_at or ""))]

    def match(self, company_id: str, square_payment_id: str, invoice_id: str) -> dict[str, Any]:
        row = self._activity.get(company_id, "payment", square_payment_id)
        if row is None:
            raise NotFoundError(
                f"No Square payment {square_payment_id!r} was received for this company.",
                fix="List the payments waiting for an invoice with GET /square/payments/unmatched.",
            )
        if row.status == "recorded":
            raise InvalidRequest(
                f"Square payment {square_payment_id} is already recorded on invoice {row.invoice_id}.",
                fix="Nothing to do; to move it, delete the payment in your accounting system and your app.",
            )
        if self._docs.get(company_id, DocumentKind.INVOICE, invoice_id) is None:
            raise NotFoundError(
                f"No invoice {invoice_id!r} in booksync.",
                fix=f"Send it first with PUT /invoices/{invoice_id}, then match the payment.",
            )
        outcome = self._record(row, invoice_id)
        if outcome != "recorded":
            raise InvalidRequest(str(row.error), fix="Pick another invoice, or fix this one and try again.")
        if not self.unmatched(company_id):
            self._notifications.resolve(company_id, NOTIFICATION, self._clock())
        return describe(row)

    # -- refunds ------------------------------------------------------------------------------
    def refund(
        self, company_id: str, refund: SquareRefund, *, merchant_id: str | None, timezone: str | None
    ) -> str:
        if refund.status != COMPLETED:
            return "not_completed"
        row = self._activity.get(company_id, "refund", refund.id)
        if row is not None and row.status == "recorded":
            if row.recorded_amount is not None and Decimal(row.recorded_amount) != refund.amount.amount:
                text = (
                    f"Square refund {refund.id} now says {refund.amount.amount}, but booksync recorded "
                    f"{row.recorded_amount} and keeps that amount."
                )
                if row.error != text:
                    row.error = text
                    self._activity.save(row, now=self._clock())
                    self._report(row, "square_amount_changed", text, "Check the refund in Square.")
                return "amount_changed"
            return "unchanged"
        row = row or self._activity.new(company_id, "refund", refund.id, now=self._clock())
        _fill_refund(row, refund, merchant_id, local_date(refund.created_at, timezone))
        payment = self._activity.get(company_id, "payment", refund.payment_id) if refund.payment_id else None
        if payment is None or payment.status != "recorded":
            row.status = "waiting_for_payment"
            row.error = (
                f"Square refund {refund.id} refunds Square payment {refund.payment_id}, which booksync "
                "has not recorded on an invoice yet; the refund is recorded when the payment is."
            )
            self._activity.save(row, now=self._clock())
            return "waiting_for_payment"
        return self._record_refund(row, payment)

    def _record_refund(self, row: SquareActivityModel, payment: SquareActivityModel) -> str:
        try:
            doc = Refund(
                id=document_id(row.square_id),
                payment_id=str(payment.document_id),
                amount=Decimal(str(row.amount)),
                date=date.fromisoformat(str(row.local_date)),
                reason=_reason(row),
                reference=self._reference(row, DocumentKind.REFUND),
                currency=row.currency,
            )
            self._service.put_refund(row.company_id, doc)
        except (BooksyncError, ValidationError) as exc:
            text = f"Square refund {row.square_id} could not be recorded: {_said(exc)}"
            was = row.status
            row.status, row.error = "rejected", text
            self._activity.save(row, now=self._clock())
            if was != "rejected":
                self._report(row, "square_refund_rejected", text, _fix(exc))
            return "rejected"
        row.status, row.error = "recorded", None
        row.document_id, row.recorded_amount = doc.id, str(doc.amount)
        self._activity.save(row, now=self._clock())
        return "refund_recorded"

    # -- reporting ----------------------------------------------------------------------------
    def _report(self, row: SquareActivityModel, code: str, text: str, fix: str) -> None:
        now = self._clock()
        subject = f"square {row.kind} {row.square_id}"
        run = self._runs.start(
            row.company_id,
            provider=PROVIDER,
            kind="webhook",
            trigger="webhook",
            subject=subject,
            now=now,
            status="running",
        )
        entry: dict[str, str | None] = {"document": subject, "code": code, "message": text, "fix": fix}
        self._runs.finish(run, status="failed", counts={row.kind: 1}, errors=[entry], now=now)
        self._notifications.raise_once(
            row.company_id,
            NOTIFICATION,
            title="A Square payment needs your attention",
            message=text,
            fix=fix,
            now=now,
        )


def _fill_payment(
    row: SquareActivityModel, payment: SquarePayment, merchant_id: str | None, day: date
) -> None:
    row.merchant_id = merchant_id or row.merchant_id
    row.square_status = payment.status
    row.currency = payment.amount.currency
    row.amount = _text(payment.amount)
    row.tip = _text(payment.tip)
    row.total = _text(payment.total)
    row.processing_fee = _text(payment.fee_total) if payment.processing_fees else None
    row.location_id = payment.location_id
    row.card_brand = payment.card_brand
    row.reference_id = payment.reference_id
    row.square_created_at = payment.created_at
    row.local_date = day.isoformat()
    row.square_object = payment.raw


def _fill_refund(row: SquareActivityModel, refund: SquareRefund, merchant_id: str | None, day: date) -> None:
    row.merchant_id = merchant_id or row.merchant_id
    row.square_status = refund.status
    row.currency = refund.amount.currency
    row.amount = _text(refund.amount)
    fees = sum((f.amount.amount for f in refund.processing_fees), Decimal(0))
    row.processing_fee = str(fees) if refund.processing_fees else None
    row.location_id = refund.location_id
    row.square_payment_id = refund.payment_id
    row.square_created_at = refund.created_at
    row.local_date = day.isoformat()
    row.square_object = refund.raw


def _reason(row: SquareActivityModel) -> str | None:
    obj = row.square_object if isinstance(row.square_object, dict) else {}
    reason = obj.get("reason")
    return str(reason)[:500] if reason else None


def _text(money: Money | None) -> str | None:
    return str(money.amount) if money is not None else None


def _said(exc: Exception) -> str:
    if isinstance(exc, BooksyncError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return type(exc).__name__


def _fix(exc: Exception) -> str:
    fix = exc.fix if isinstance(exc, BooksyncError) else ""
    return (
        fix or "Fix the invoice in your app, then match the payment again (POST /square/payments/{id}/match)."
    )


def describe(row: SquareActivityModel) -> dict[str, Any]:
    """The API's view of a SquareActivity row."""
    return {
        "square_id": row.square_id,
        "kind": row.kind,
        "status": row.status,
        "document_id": row.document_id,
        "invoice_id": row.invoice_id,
        "reference_id": row.reference_id,
        "amount": row.amount,
        "tip": row.tip,
        "total": row.total,
        "processing_fee": row.processing_fee,
        "currency": row.currency,
        "location_id": row.location_id,
        "card_brand": row.card_brand,
        "created_at": row.square_created_at,
        "date": row.local_date,
        "error": row.error,
    }
