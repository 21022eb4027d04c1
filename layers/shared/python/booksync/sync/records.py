"""Accepting the business's documents: idempotent PUTs, references checked, sync queued.

A SENT invoice (or a payment on one) is marked pending before anything else, then queued when
auto-sync is on. The queue send is awaited; if it fails the pending marker is still there and
the sweep queues the work within five minutes: nothing is fire-and-forget and nothing is lost.

A payment's refunds never add up to more than it, and an invoice's payments never more than its
total (QuickBooks refuses a payment over the open balance), whatever requests run at the same
time: each limit is checked against what the row holds and written on condition that it still
does, the payment with its invoices in one transaction (store/documents.py). A request that loses
that race reads again and checks again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from booksync import currency as iso
from booksync.documents import (
    Customer,
    Document,
    DocumentKind,
    Estimate,
    Invoice,
    InvoiceStatus,
    Item,
    Payment,
    Refund,
    payment_invoice_ids,
)
from booksync.errors import (
    AlreadyExists,
    ConcurrentChange,
    FieldProblem,
    InvalidRequest,
    NotFoundError,
    SeveralBooks,
)
from booksync.memory.feed import EmbedFeed, embeds
from booksync.providers.profile import provider_label
from booksync.providers.registry import REGISTRY, declaration, is_accounting
from booksync.store.connections import ConnectionRepository, ConnectionStatus
from booksync.store.documents import (
    BODY_LIMIT,
    DELETED,
    MAX_PAYMENTS_PER_INVOICE,
    MAX_REFUNDS_PER_PAYMENT,
    PAYMENTS,
    REFUNDS,
    DocumentRepository,
    HeldAmounts,
    PutOutcome,
    StaleRead,
    number_key,
    stored_sizes,
)
from booksync.store.models import DocumentModel
from booksync.store.runs import RunRepository
from booksync.sync.jobs import JobKind, JobQueue, SyncJob, Trigger

logger = logging.getLogger(__name__)

SYNCABLE = {InvoiceStatus.SENT, InvoiceStatus.PAID, InvoiceStatus.VOID}
# Reads and checks before a request gives up on a payment others keep changing (each retry reads
# what the winner wrote, so more than a few in a row means a storm, not bad luck).
CHECK_ATTEMPTS = 4


@dataclass(frozen=True)
class Accepted:
    doc_id: str
    created: bool
    changed: bool
    pending: bool
    queued_run_id: str | None
    warnings: tuple[TextWarning, ...] = ()


@dataclass(frozen=True)
class TextWarning:
    """Accepted while no books are connected: ``field``'s text is longer than ``provider`` keeps,
    which would refuse the document's push once connected."""

    field: str
    provider: str
    message: str
    fix: str


def _in_books(row: DocumentModel) -> str | None:
    """The provider whose books hold the document (its link there has a remote id), if any."""
    return next((provider for provider, link in sorted(row.all_links().items()) if link.remote_id), None)


def invoice_currency(row: DocumentModel) -> str:
    """The currency of a stored invoice (USD for invoices stored before the field was sent)."""
    return str(row.body.get("currency") or "USD")


def _check_currency(given: str | None, invoices: list[DocumentModel], field: str, what: str) -> str:
    """The one currency of ``invoices``; ``given`` (the payment's or refund's own) must be it."""
    currencies = sorted({invoice_currency(row) for row in invoices})
    if len(currencies) > 1:
        raise FieldProblem(
            field,
            f"the invoices are in different currencies ({', '.join(currencies)})",
            "A payment is in one currency: record one payment per currency.",
        )
    code = currencies[0]
    if given is not None and given != code:
        raise FieldProblem(
            "currency",
            f"the {what} is in {given} but invoice {invoices[0].doc_id!r} is in {code}; "
            "booksync never applies money in one currency to an invoice in another",
            f"Record the {what} in {code} (what the invoice was paid in {code}), or leave currency out.",
        )
    return code


def _check_fits(field: str, amount: Decimal, code: str) -> None:
    if not iso.fits(amount, code):
        raise FieldProblem(
            field,
            iso.too_precise("the amount", amount, code),
            f"Send the amount rounded to {iso.unit(code)} {code}.",
        )


class DocumentService:
    def __init__(
        self,
        *,
        documents: DocumentRepository,
        connections: ConnectionRepository,
        runs: RunRepository,
        queue: JobQueue,
        clock: Callable[[], float] = time.time,
        embeds: EmbedFeed | None = None,
    ) -> None:
        """``embeds``: the billing memory's feed (RAG_BILLING_EMBED_ENABLED); None: off, nothing
        is marked or queued for embedding."""
        self._docs = documents
        self._connections = connections
        self._runs = runs
        self._queue = queue
        self._clock = clock
        self._embeds = embeds

    def _embed_rule(self, kind: DocumentKind, status: str | None) -> Callable[[DocumentModel | None], bool]:
        """Whether a write of ``kind`` (to ``status``) over the row found marks it to be embedded."""
        return embeds(kind, status) if self._embeds is not None else lambda _existing: False

    def _embed_written(self, outcome: PutOutcome) -> None:
        if self._embeds is not None:
            self._embeds.written(outcome.row, changed=outcome.changed)

    def _check_text(self, company_id: str, kind: DocumentKind, doc: Document) -> tuple[TextWarning, ...]:
        """Text the company's accounting provider would cut (its declaration's text limits), or a
        value it cannot hold as given (its ``unsayable``), is refused here, naming the field; with
        several connected, what any of them would refuse. A company with none connected yet cannot
        know which rules apply: the document is accepted with a warning for each accounting system
        booksync knows that would refuse it (its push to one connected later names the field and
        the fix, nothing sent)."""
        connected = self._connections.accounting_connections(company_id)
        for connection in connected:
            for found in declaration(str(connection.provider)).refusals(kind, doc):
                raise FieldProblem(found.field, found.message, found.fix)
        if connected:
            return ()
        warnings = []
        for name in REGISTRY.names("accounting"):
            declared = declaration(name)
            for found in declared.refusals(kind, doc):
                message = f"{declared.label} would refuse it once connected: {found.field} {found.message}."
                warnings.append(TextWarning(found.field, name, message, found.fix))
        return tuple(warnings)

    def text_limit(self, company_id: str, kind: DocumentKind, name: str) -> int | None:
        """The longest text booksync may put in ``name`` of ``kind`` for the company (e.g. a
        reference it makes up): what its books keep whole, by their providers' declarations; with
        none connected yet, what every accounting system booksync knows keeps, so whichever is
        connected later takes it. None: no declaration limits it."""
        connected = [str(r.provider) for r in self._connections.accounting_connections(company_id)]
        books = connected or REGISTRY.names("accounting")
        limits = [found for p in books if (found := declaration(p).text_limits.limit(kind, name)) is not None]
        return min(limits) if limits else None

    # -- customers and items: stored; they sync with the invoices that use them ----------------
    def put_customer(self, company_id: str, customer: Customer) -> Accepted:
        """A new or changed customer syncs on its own while the books' auto_sync_customers is on:
        pending first, then queued (the sweep queues it if the send fails or the connection is
        down); otherwise it waits for an invoice, a catalog sync or Sync Now."""
        _check_size(DocumentKind.CUSTOMER, customer)
        try:
            connection = self._connections.accounting_connection(company_id)
            auto = connection is not None and getattr(connection.settings, "auto_sync_customers", True)
        except SeveralBooks:
            auto = True  # held pending: the sweep parks it until one accounting system remains
        outcome = self._docs.put(company_id, DocumentKind.CUSTOMER, customer, now=self._clock(), pending=auto)
        run_id = None
        if outcome.changed and outcome.row.pending_bucket:
            run_id = self._auto_sync(company_id, customer.id, "auto_sync_customers", kind="customer")
        return self._accepted(outcome, run_id)

    def put_item(self, company_id: str, item: Item) -> Accepted:
        _check_size(DocumentKind.ITEM, item)
        return self._accepted(
            self._docs.put(company_id, DocumentKind.ITEM, item, now=self._clock(), pending=False)
        )

    # -- invoices ---------------------------------------------------------------------------------
    def put_invoice(self, company_id: str, invoice: Invoice) -> Accepted:
        _check_size(DocumentKind.INVOICE, invoice)
        warnings = self._check_text(company_id, DocumentKind.INVOICE, invoice)
        return self._checked(
            lambda: self._record_invoice(company_id, invoice),
            f"Invoice {invoice.id}, its number or its payments",
            warnings=warnings,
        )

    def _require_parts(self, company_id: str, doc: Invoice | Estimate) -> None:
        """The customer and every item an invoice or estimate names must be in booksync."""
        self._require(company_id, DocumentKind.CUSTOMER, doc.customer_id, "customer_id")
        missing = set(doc.item_ids) - set(self._docs.get_many(company_id, DocumentKind.ITEM, doc.item_ids))
        if missing:
            # The first line that names one, by its index (lines[2].item_id), as validation names it.
            index, line = next((i, ln) for i, ln in enumerate(doc.lines) if ln.item_id in missing)
            raise FieldProblem(
                f"lines[{index}].item_id",
                f"no item {line.item_id!r} in booksync",
                f"Send it first with PUT /items/{line.item_id}.",
            )

    def _record_invoice(self, company_id: str, invoice: Invoice) -> Accepted:
        self._require_parts(company_id, invoice)
        existing = self._docs.get(company_id, DocumentKind.INVOICE, invoice.id)
        if existing is not None and existing.status == DELETED:
            raise FieldProblem("id", "this invoice was deleted", "Create the invoice again under a new id.")
        if (
            existing is not None
            and existing.status == InvoiceStatus.VOID
            and invoice.status != InvoiceStatus.VOID
        ):
            raise FieldProblem("status", "a void invoice cannot be reopened", "Create a new invoice instead.")
        if existing is not None and invoice_currency(existing) != invoice.currency:
            self._check_currency_change(existing, invoice.currency)
        paid = self._docs.held(existing, PAYMENTS)
        if invoice.total < paid.total():
            raise FieldProblem(
                "lines",
                f"the invoice's total would be {invoice.total}, less than the {paid.total()} its payments "
                "already apply to it",
                "Keep the total at least what was paid, or change its payments first.",
            )
        owner = self._docs.number_owner(company_id, invoice.number)
        if owner is not None and owner != invoice.id and not _kept_number(existing, invoice):
            raise AlreadyExists(
                "number",
                f"invoice number {invoice.number!r} is already used by invoice {owner!r}",
                fix=f"Give this invoice another number, or edit invoice {owner} (PUT /invoices/{owner}).",
            )
        outcome = self._docs.put_invoice(
            company_id,
            invoice,
            existing=existing,
            paid=paid,
            number_owner=owner,
            now=self._clock(),
            pending=self._invoice_needs_push(invoice, existing),
            embed=self._embed_rule(DocumentKind.INVOICE, invoice.status)(existing),
        )
        self._embed_written(outcome)
        run_id = None
        if outcome.changed and outcome.row.pending_bucket:
            run_id = self._auto_sync(company_id, invoice.id, "auto_sync_invoices")
        return self._accepted(outcome, run_id)

    @staticmethod
    def _check_currency_change(existing: DocumentModel, new: str) -> None:
        """Payments are in the invoice's currency, and the books keep a transaction's currency."""
        was = invoice_currency(existing)
        if existing.payment_ids:
            held = f"it has payments recorded in {was}"
        elif _in_books(existing):
            held = f"it is in the books in {was}, which cannot change a transaction's currency"
        else:
            return
        raise FieldProblem(
            "currency",
            f"the invoice cannot change from {was} to {new}: {held}",
            f"Keep currency {was}, or void this invoice and create a new one in {new}.",
        )

    @staticmethod
    def _invoice_needs_push(invoice: Invoice, existing: DocumentModel | None) -> bool:
        if invoice.status not in SYNCABLE:
            return False
        if invoice.status == InvoiceStatus.VOID:
            # Only an invoice already in the books has anything to void there.
            return existing is not None and bool(existing.all_links())
        return True

    def delete_invoice(self, company_id: str, invoice_id: str) -> Accepted:
        """Delete it here and, once synced, in the books (where its payments would become credits).

        Deleted on condition that it is still the invoice checked (no payment recorded on it, not
        renumbered meanwhile): a request that lost that race reads again and checks again."""
        return self._checked(
            lambda: self._delete_invoice(company_id, invoice_id), f"Invoice {invoice_id} or its payments"
        )

    def _delete_invoice(self, company_id: str, invoice_id: str) -> Accepted:
        row = self._docs.get(company_id, DocumentKind.INVOICE, invoice_id)
        if row is None:
            raise NotFoundError(f"No invoice {invoice_id!r}.", fix="Check the invoice id.")
        if row.status == DELETED:
            return Accepted(
                doc_id=invoice_id,
                created=False,
                changed=False,
                pending=bool(row.pending_bucket),
                queued_run_id=None,
            )
        if row.payment_ids:
            raise InvalidRequest(
                f"Invoice {invoice_id} has payments recorded against it.",
                fix="Refund or remove its payments in your app first, or void the invoice instead.",
            )
        linked = _in_books(row) is not None
        row = self._docs.mark_deleted(row, now=self._clock(), pending=linked)
        run_id = self._auto_sync(company_id, invoice_id, "auto_sync_invoices") if linked else None
        return Accepted(doc_id=invoice_id, created=False, changed=True, pending=linked, queued_run_id=run_id)

    # -- estimates: booksync's own, for the billing memory; never pushed to the books -------------
    def put_estimate(self, company_id: str, estimate: Estimate) -> Accepted:
        """Store the estimate (its customer and items must be in booksync). Never pending, never
        queued for sync, never in the sent index the catalog sync reads: no accounting system
        receives an estimate."""
        _check_size(DocumentKind.ESTIMATE, estimate)
        self._require_parts(company_id, estimate)
        outcome = self._docs.put(
            company_id,
            DocumentKind.ESTIMATE,
            estimate,
            now=self._clock(),
            status=estimate.status.value,
            pending=False,
            embed=self._embed_rule(DocumentKind.ESTIMATE, estimate.status),
        )
        self._embed_written(outcome)
        return self._accepted(outcome)

    # -- payments ---------------------------------------------------------------------------------
    def put_payment(self, company_id: str, payment: Payment) -> Accepted:
        """Record a payment on every invoice it applies to; it syncs once all of them are sent."""
        _check_size(DocumentKind.PAYMENT, payment)
        warnings = self._check_text(company_id, DocumentKind.PAYMENT, payment)
        return self._checked(
            lambda: self._record_payment(company_id, payment),
            f"Payment {payment.id}, its invoices or its refunds",
            warnings=warnings,
        )

    def _record_payment(self, company_id: str, payment: Payment) -> Accepted:
        field = "invoice_id" if payment.applications is None else "applications.invoice_id"
        invoice_rows = [
            self._require(company_id, DocumentKind.INVOICE, i, field) for i in payment.invoice_ids
        ]
        existing = self._docs.get(company_id, DocumentKind.PAYMENT, payment.id)
        if existing is not None and set(payment_invoice_ids(existing.body)) != set(payment.invoice_ids):
            raise FieldProblem(
                field,
                "a payment cannot move to other invoices",
                "Delete the payment in your app and record a new one.",
            )
        _check_not_booked(existing, payment)
        for row in invoice_rows:
            if row.status in (InvoiceStatus.VOID, DELETED):
                state = "void" if row.status == InvoiceStatus.VOID else "deleted"
                raise FieldProblem(
                    field, f"invoice {row.doc_id!r} is {state}", "Record the payment on live invoices."
                )
        if len({str(row.body.get("customer_id")) for row in invoice_rows}) > 1:
            raise FieldProblem(
                field,
                "the invoices belong to different customers",
                "A payment pays invoices of one customer: record one payment per customer.",
            )
        code = _check_currency(payment.currency, invoice_rows, field, "payment")
        _check_fits("amount", payment.amount, code)
        for application in payment.applications or ():
            _check_fits("applications.amount", application.amount, code)
        held = self._docs.held(existing, REFUNDS)
        self._check_covers_refunds(held, payment.amount)
        invoices = [(row, self._docs.held(row, PAYMENTS)) for row in invoice_rows]
        applied = {a.invoice_id: a.amount for a in payment.applied}
        for index, (row, paid) in enumerate(invoices):
            amount_field = "amount" if payment.applications is None else f"applications[{index}].amount"
            self._check_open_balance(row, paid, payment.id, applied[row.doc_id], amount_field)
        outcome = self._docs.put_payment(
            payment,
            company_id=company_id,
            existing=existing,
            refunds=held,
            invoices=invoices,
            now=self._clock(),
            # Waits (not pending) while any of its invoices is a draft: sending it syncs the payment.
            pending=all(row.status != InvoiceStatus.DRAFT for row in invoice_rows),
            embed=self._embed_rule(DocumentKind.PAYMENT, None)(existing),
        )
        self._embed_written(outcome)
        run_id = None
        if outcome.changed and outcome.row.pending_bucket:
            run_id = self._auto_sync(company_id, payment.invoice_ids[0], "auto_sync_payments")
        return self._accepted(outcome, run_id)

    # -- refunds ----------------------------------------------------------------------------------
    def put_refund(self, company_id: str, refund: Refund) -> Accepted:
        """Record a refund of a payment; it syncs after the payment (with its first invoice)."""
        _check_size(DocumentKind.REFUND, refund)
        warnings = self._check_text(company_id, DocumentKind.REFUND, refund)
        return self._checked(
            lambda: self._record_refund(company_id, refund),
            f"Payment {refund.payment_id} or its refunds",
            warnings=warnings,
        )

    def _record_refund(self, company_id: str, refund: Refund) -> Accepted:
        payment_row = self._docs.get(company_id, DocumentKind.PAYMENT, refund.payment_id)
        if payment_row is None:
            raise FieldProblem(
                "payment_id",
                f"no payment {refund.payment_id!r} in booksync",
                f"Record the payment first with PUT /payments/{refund.payment_id}, then the refund.",
            )
        existing = self._docs.get(company_id, DocumentKind.REFUND, refund.id)
        if existing is not None and existing.body.get("payment_id") != refund.payment_id:
            raise FieldProblem(
                "payment_id",
                "a refund cannot move to another payment",
                "Delete the refund in your app and record a new one.",
            )
        _check_not_booked(existing, refund)
        invoice_ids = payment_invoice_ids(payment_row.body)
        invoices = self._docs.get_many(company_id, DocumentKind.INVOICE, invoice_ids)
        if invoices:
            code = _check_currency(refund.currency, list(invoices.values()), "payment_id", "refund")
            _check_fits("amount", refund.amount, code)
        held = self._docs.held(payment_row, REFUNDS)
        self._check_refundable(payment_row, refund, held)
        outcome = self._docs.put_refund(
            refund,
            existing=existing,
            payment=payment_row,
            held=held,
            now=self._clock(),
            pending=bool(invoices) and all(r.status != InvoiceStatus.DRAFT for r in invoices.values()),
        )
        run_id = None
        if outcome.changed and outcome.row.pending_bucket and invoice_ids:
            run_id = self._auto_sync(company_id, invoice_ids[0], "auto_sync_payments")
        return self._accepted(outcome, run_id)

    @staticmethod
    def _checked(
        record: Callable[[], Accepted], subject: str, *, warnings: tuple[TextWarning, ...] = ()
    ) -> Accepted:
        """Run ``record`` (read, check a limit: refunds within their payment, payments within their
        invoice's balance; write on condition) until its write finds what it read, reading and
        checking again each time another request changed it first. Accepted with ``warnings``."""
        lost: StaleRead | None = None
        for _ in range(CHECK_ATTEMPTS):
            try:
                return replace(record(), warnings=warnings)
            except StaleRead as exc:
                lost = exc
        raise ConcurrentChange(
            f"{subject} changed while this request was being checked, {CHECK_ATTEMPTS} times in a row "
            "(other requests for the same payment at the same time); nothing was saved.",
            fix="Send the same request again: an identical request is recorded once.",
        ) from lost

    @staticmethod
    def _check_covers_refunds(held: HeldAmounts, amount: Decimal) -> None:
        refunded = held.total()
        if amount < refunded:
            raise FieldProblem(
                "amount",
                f"the payment's refunds already add up to {refunded}, more than {amount}",
                f"Keep the payment at {refunded} or more, or change its refunds first.",
            )

    def _check_open_balance(
        self, invoice_row: DocumentModel, paid: HeldAmounts, payment_id: str, amount: Decimal, field: str
    ) -> None:
        """QuickBooks refuses a payment over its invoice's open balance (6000); refuse it here.

        The open balance is the total less what the invoice's other payments apply to it. A
        refund does not reopen it: it is money given back, booked apart from the invoice.
        """
        if payment_id not in paid.amounts and len(paid.amounts) >= MAX_PAYMENTS_PER_INVOICE:
            raise FieldProblem(
                field,
                f"invoice {invoice_row.doc_id!r} already has {len(paid.amounts)} payments, the most "
                "booksync keeps on one invoice",
                "Record the rest of what was paid as one payment (or a few), or edit an earlier one.",
            )
        total = self._docs.parse(invoice_row).total
        others = paid.total(but=payment_id)
        if amount <= total - others:
            return
        left = total - others
        raise FieldProblem(
            field,
            f"{amount} on invoice {invoice_row.doc_id!r} is more than its open balance {left} "
            f"(total {total}, {others} paid by other payments; refunds do not reopen it)",
            (
                f"Record at most {left} on this invoice; put what the customer paid beyond it on "
                "another of their invoices (applications), or correct the invoice first."
                if left > 0
                else f"Invoice {invoice_row.doc_id} is fully paid: record the payment on another invoice."
            ),
        )

    @staticmethod
    def _check_refundable(payment_row: DocumentModel, refund: Refund, held: HeldAmounts) -> None:
        # Editing a refund replaces what it held: the others' amounts are what count against it.
        if refund.id not in held.amounts and len(held.amounts) >= MAX_REFUNDS_PER_PAYMENT:
            raise FieldProblem(
                "payment_id",
                f"payment {payment_row.doc_id!r} already has {len(held.amounts)} refunds, the most "
                "booksync keeps on one payment",
                "Record the rest as one refund, or edit an earlier refund of this payment.",
            )
        refunded = held.total(but=refund.id)
        paid = Decimal(str(payment_row.body["amount"]))
        if refunded + refund.amount > paid:
            left = paid - refunded
            raise FieldProblem(
                "amount",
                f"refunds of payment {payment_row.doc_id!r} would total {refunded + refund.amount}, "
                f"more than the payment's {paid} ({refunded} already refunded)",
                f"Refund at most {left} on this payment." if left > 0 else "The payment is fully refunded.",
            )

    # -- queueing ---------------------------------------------------------------------------------
    def request_sync(self, company_id: str, invoice_id: str, *, provider: str | None = None) -> str:
        """The user's "Sync" / "Resync" button: queue now, whatever the auto-sync settings.
        ``provider``: the accounting system to sync to (none: the company's accounting connection)."""
        row = self._docs.get(company_id, DocumentKind.INVOICE, invoice_id)
        if row is None:
            raise NotFoundError(f"No invoice {invoice_id!r}.", fix="Check the invoice id.")
        if row.status == InvoiceStatus.DRAFT:
            raise InvalidRequest(
                f"Invoice {invoice_id} is a draft; drafts never sync.",
                fix="Mark it SENT (PUT the invoice with status SENT), then sync.",
            )
        provider = self._connections.books_provider(company_id, provider)
        if not is_accounting(provider):  # e.g. square: a payments connection, not the books
            raise InvalidRequest(
                f"{provider} is not an accounting system; invoices sync to the company's books.",
                fix="Sync to the company's accounting connection, one of: "
                f"{', '.join(REGISTRY.names('accounting'))}.",
            )
        connection = self._connections.get(company_id, provider)
        if connection is None:
            raise InvalidRequest(
                f"{provider_label(provider)} is not connected.",
                fix="Connect it in Settings > Integrations first.",
            )
        return self._queue_one(company_id, invoice_id, provider, "manual")

    def _auto_sync(
        self, company_id: str, doc_id: str, setting: str, *, kind: JobKind = "invoice"
    ) -> str | None:
        try:
            connection = self._connections.accounting_connection(company_id)
        except SeveralBooks:
            return None  # held pending (the document says why): the sweep queues it once one remains
        if connection is None or not getattr(connection.settings, setting, True):
            return None
        if connection.status != ConnectionStatus.CONNECTED:
            return None  # parked: the sweep queues it once the connection is back
        try:
            return self._queue_one(company_id, doc_id, connection.provider, "auto", kind=kind)
        except Exception:
            logger.exception(
                "sync job not queued; the sweep will queue it", extra={"kind": kind, "doc_id": doc_id}
            )
            return None

    def _queue_one(
        self, company_id: str, doc_id: str, provider: str, trigger: Trigger, *, kind: JobKind = "invoice"
    ) -> str:
        run = self._runs.start(
            company_id,
            provider=provider,
            kind=kind,
            trigger=trigger,
            subject=doc_id,
            now=self._clock(),
            status="queued",
        )
        self._queue.enqueue(
            [
                SyncJob(
                    company_id=company_id,
                    invoice_id=doc_id,
                    kind=kind,
                    provider=provider,
                    trigger=trigger,
                    run_id=run.run_id,
                )
            ]
        )
        return str(run.run_id)

    def get(self, company_id: str, kind: DocumentKind, doc_id: str) -> dict[str, object]:
        row = self._docs.get(company_id, kind, doc_id)
        if row is None:
            raise NotFoundError(
                f"No {kind.value} {doc_id!r}.", fix=f"Send it with PUT /{kind.value}s/{doc_id}."
            )
        return dict(row.body)

    # -- helpers ----------------------------------------------------------------------------------
    def _require(self, company_id: str, kind: DocumentKind, doc_id: str, field: str) -> DocumentModel:
        row = self._docs.get(company_id, kind, doc_id)
        if row is None:
            raise FieldProblem(
                field,
                f"no {kind.value} {doc_id!r} in booksync",
                f"Send it first with PUT /{kind.value}s/{doc_id}.",
            )
        return row

    @staticmethod
    def _accepted(outcome: PutOutcome, run_id: str | None = None) -> Accepted:
        return Accepted(
            doc_id=outcome.row.doc_id,
            created=outcome.created,
            changed=outcome.changed,
            pending=bool(outcome.row.pending_bucket),
            queued_run_id=run_id,
        )


# How to make a document smaller, by the field that takes the most of it.
_SHRINK = {
    "lines": "Shorten the lines' descriptions, or split the work over several invoices.",
    "applications": "Record the payment as several payments, each on fewer invoices.",
}


def _check_size(kind: DocumentKind, doc: Document) -> None:
    """Refuse a document that, stored, would leave no room for what booksync adds to its row later
    (links, payments, refunds): DynamoDB would refuse the row, or a later write to it."""
    size, fields = stored_sizes(doc)
    if size <= BODY_LIMIT:
        return
    field, taken = max(fields.items(), key=lambda entry: entry[1])
    raise FieldProblem(
        field,
        f"the {kind.value} takes {size:,} bytes stored, more than the {BODY_LIMIT:,} booksync keeps of one "
        f"document (DynamoDB holds 400 KB a row, with room kept for links, payments and refunds); "
        f"{field} takes {taken:,} of them (text outside ASCII counts up to 6 bytes a character)",
        _SHRINK.get(field, f"Shorten {field} by {size - BODY_LIMIT:,} bytes or more."),
    )


def _kept_number(existing: DocumentModel | None, invoice: Invoice) -> bool:
    """Does the edit keep the number the invoice was stored with? An invoice stored before numbers
    were claimed may share its number with the invoice that holds it: booksync accepted it then and
    the books have it, so its edits (sent, paid, voided) go through under that number; only another
    number must be free (README: "One invoice per number")."""
    return existing is not None and number_key(str(existing.body["number"])) == number_key(invoice.number)


def _check_not_booked(existing: DocumentModel | None, doc: Payment | Refund) -> None:
    """A payment or refund already in the books is never edited there (booksync writes each once):
    refuse a change to it here rather than accept a version the books will never show."""
    if existing is None or existing.content_hash == doc.content_hash():
        return
    books = _in_books(existing)
    if books is None:
        return
    name = provider_label(books)
    kind = "payment" if isinstance(doc, Payment) else "refund"
    before, after = existing.body, doc.model_dump(mode="json")
    changed = sorted(field for field in after if after.get(field) != before.get(field)) or ["amount"]
    recorded = ", ".join(f"{field} {before.get(field)}" for field in changed)
    if "amount" not in changed:
        fix = f"Send the {kind} as it was; make the change in {name} by hand if the books need it."
    elif kind == "payment":
        fix = (
            "Send the payment as it was, then: if less was received, record a refund of the difference "
            f"(PUT /refunds/{{id}} with payment_id {doc.id}); if more, record another payment for the rest."
        )
    else:
        fix = "Send the refund as it was, and record another refund of the payment for any further amount."
    raise FieldProblem(
        changed[0],
        f"{kind} {doc.id} is in {name} already as recorded ({recorded}); booksync writes each {kind} "
        f"to {name} once and never edits it there",
        fix,
    )
