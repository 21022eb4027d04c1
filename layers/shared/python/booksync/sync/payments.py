"""An invoice's payments: each pushed once, when every invoice it pays is in the books (the other
invoices of a payment across invoices are synced first; while one is a draft the payment waits),
then its refunds. A payment across invoices is one remote payment where the books take one across
invoices, else one per invoice (``LinkMap.parts``), each written once. Where the books record no
payments, the payment is said not supported, with its refunds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from booksync.documents import Application, DocumentKind, Invoice, InvoiceStatus, Payment, marker
from booksync.errors import PaymentAccountNotChosen, Rejected, RemoteNotFound, error_entry
from booksync.providers.declaration import AnyDeclaration, Capability, NotSupported
from booksync.providers.port import AccountingProvider, PaymentRefs
from booksync.store.documents import DELETED
from booksync.store.models import DocumentModel, refused_link
from booksync.sync.context import JobContext
from booksync.sync.recorded import Part, RecordedOnce
from booksync.sync.refunds import RefundSync
from booksync.sync.report import Outcome
from booksync.sync.unsupported import Unsupported

# Syncs another invoice (and its payments) within this job: the walk's ``invoice_and_payments``.
SyncInvoice = Callable[[DocumentModel, Invoice], None]


class PaymentSync:
    def __init__(
        self,
        context: JobContext,
        *,
        provider: AccountingProvider,
        declared: AnyDeclaration,
        recorded: RecordedOnce,
        unsupported: Unsupported,
        refunds: RefundSync,
        sync_invoice: SyncInvoice,
        payment_account_id: str | None,
    ) -> None:
        self._context = context
        # The account payments go into (the connection's setting); None: the provider's default,
        # or, where its declaration requires one, none yet: payments wait.
        self._payment_account_id = payment_account_id
        self._provider = provider
        self._declared = declared
        self._recorded = recorded
        self._unsupported = unsupported
        self._refunds = refunds
        self._sync_invoice = sync_invoice

    def push_all(
        self, invoice_row: DocumentModel, customer_id: str, remote_invoice_id: str, currency: str
    ) -> None:
        """The invoice's payments and their refunds (``currency``: the invoice's, for those that
        name none)."""
        context = self._context
        payment_ids = sorted(invoice_row.payment_ids or ())
        rows = context.documents.get_many(context.company, DocumentKind.PAYMENT, payment_ids)
        for payment_id in payment_ids:
            row = rows.get(payment_id)
            if row is None:
                continue
            if self._unsupported.already_said(row):
                continue
            if not self._recorded.in_books(row):
                try:
                    pushed = self._new_payment(
                        row, invoice_row.doc_id, customer_id, remote_invoice_id, currency
                    )
                except NotSupported as exc:
                    self._not_supported(row, exc)
                    continue
                except PaymentAccountNotChosen as exc:
                    self._wait(row, exc)
                    continue
                except (Rejected, RemoteNotFound) as exc:
                    self._recorded.refused(row, context.link(row), exc)
                    continue
                if pushed is None:
                    continue  # waits for an invoice still in draft, or refused
                row = pushed
            if self._recorded.whole(row):
                self._refunds.push_all(row, customer_id, currency)
            else:  # partly in the books and refused: its refunds wait for it whole
                self._refunds.wait(row)

    def _new_payment(
        self, row: DocumentModel, invoice_id: str, customer_id: str, remote_invoice_id: str, currency: str
    ) -> DocumentModel | None:
        """Push a payment not yet in the books, once every invoice it pays is there.

        Returns its row as it now stands, or None while it waits for an invoice in draft or
        when the books refused it (said on it: a person must act).
        """
        context = self._context
        payment: Payment = context.documents.parse(row)
        self._payable(payment)
        if self._declared.payments_wait(self._payment_account_id):
            raise self._declared.payment_account_not_chosen(f"payment {payment.id}")
        remote_invoices = self._remote_invoices(payment, invoice_id, remote_invoice_id)
        if remote_invoices is None:
            if row.pending_bucket:
                context.documents.clear_pending(row, row.content_hash)  # the draft's own sync pushes it
            context.report.counts["waiting"] += 1
            return None
        if len(remote_invoices) > 1:
            # Syncing its other invoices may have pushed it (their jobs push their payments).
            row = context.documents.get(context.company, DocumentKind.PAYMENT, payment.id) or row
            if self._recorded.in_books(row):
                return row
        try:
            self._push(row, payment, customer_id, remote_invoices, currency)
        except (Rejected, RemoteNotFound) as exc:
            # Refused on the row as it now stands (re-read above: its link may hold the parts of
            # a payment per invoice already in the books).
            self._recorded.refused(row, context.link(row), exc)
            return None
        return row

    def _payable(self, payment: Payment) -> None:
        """Raises ``NotSupported`` for a payment the provider cannot record, and ``TextTooLong`` for
        one whose text it would cut, before anything is sent."""
        if not self._declared.supports(Capability.PAYMENTS):
            raise self._declared.not_supported(Capability.PAYMENTS, f"payment {payment.id}")
        self._declared.refuse_too_long(DocumentKind.PAYMENT, payment, payment.id)

    def _wait(self, row: DocumentModel, exc: PaymentAccountNotChosen) -> None:
        """The payment (and its refunds with it) waits for the account it goes into: said on it,
        kept pending for the sweep, which queues it once the account is chosen."""
        context = self._context
        context.save_link(row, refused_link(context.link(row), exc, Outcome.BLOCKED))
        if not row.pending_bucket:  # a Resync of a payment not pending: it waits all the same
            context.documents.mark_pending(row, context.clock())
        context.report.counts["waiting"] += 1
        context.report.held.append(error_entry(f"{row.kind} {row.doc_id}", exc))

    def _not_supported(self, row: DocumentModel, exc: NotSupported) -> None:
        """The payment, and its refunds with it (a refund needs its payment in the books)."""
        context = self._context
        self._unsupported.say(row, exc)
        refunds = context.documents.get_many(
            context.company, DocumentKind.REFUND, sorted(row.refund_ids or ())
        )
        for refund in refunds.values():
            if not self._unsupported.already_said(refund):
                self._unsupported.say(
                    refund,
                    NotSupported(
                        f"Refund {refund.doc_id} is of payment {row.doc_id}, which is not in "
                        f"{self._declared.label}: {exc.message}",
                        provider=exc.provider,
                        fix=exc.fix,
                    ),
                )

    def _remote_invoices(self, payment: Payment, here: str, remote_here: str) -> dict[str, str] | None:
        """The remote id of every invoice ``payment`` pays (local id -> remote id).

        An invoice of a split payment that is not in the books yet is synced first (QuickBooks
        records one payment across invoices only once they all exist); while one is a draft the
        payment waits (None): sending that invoice syncs it.
        """
        context = self._context
        remote = {here: remote_here}
        others = [invoice_id for invoice_id in payment.invoice_ids if invoice_id != here]
        rows = context.documents.get_many(context.company, DocumentKind.INVOICE, others)
        for invoice_id in others:
            row = rows.get(invoice_id)
            if row is None or row.status in (DELETED, InvoiceStatus.VOID):
                state = "missing" if row is None else ("deleted" if row.status == DELETED else "void")
                raise Rejected(
                    f"Payment {payment.id} also pays invoice {invoice_id}, which is {state}.",
                    provider=context.provider,
                    fix="Record the payment again on live invoices, or split it per invoice.",
                )
            link = context.link(row)
            if link is not None and link.remote_id and link.outcome != Outcome.DELETED:
                remote[invoice_id] = link.remote_id
            elif row.status == InvoiceStatus.DRAFT:
                return None
            else:
                remote[invoice_id] = self._other_invoice(row, payment.id)
        return remote

    def _other_invoice(self, row: DocumentModel, payment_id: str) -> str:
        """Sync another invoice of a split payment within this job; its remote id."""
        context = self._context
        shown = context.report.remote_invoice_id
        try:
            self._sync_invoice(row, context.documents.parse(row))
        except (Rejected, RemoteNotFound) as exc:
            raise Rejected(
                f"Payment {payment_id} waits for invoice {row.doc_id}, which could not be synced: "
                f"{exc.message}",
                provider=context.provider,
                fix=exc.fix or "Fix the invoice, then sync it again.",
            ) from exc
        finally:
            context.report.remote_invoice_id = shown
        link = context.link(row)
        if link is None or not link.remote_id:
            raise AssertionError("an invoice synced without error is linked")
        return link.remote_id

    def _push(
        self,
        row: DocumentModel,
        payment: Payment,
        customer_id: str,
        remote_invoices: dict[str, str],
        currency: str,
    ) -> None:
        """One remote payment; or, across invoices where the books take one invoice per payment
        (no ``payments_across_invoices`` in the declaration), one for each invoice it pays."""
        refs = PaymentRefs(
            customer_id=customer_id,
            invoice_id=remote_invoices[payment.invoice_ids[0]],
            marker=marker(self._context.company, DocumentKind.PAYMENT, payment.id),
            currency=payment.currency or currency,
            deposit_account_id=self._payment_account_id,
            applications=tuple((remote_invoices[a.invoice_id], a.amount) for a in payment.applied)
            if payment.applications is not None
            else (),
        )
        if len(remote_invoices) > 1 and not self._declared.supports(Capability.PAYMENTS_ACROSS_INVOICES):
            parts = [self._part(payment, refs, a, remote_invoices[a.invoice_id]) for a in payment.applied]
            self._recorded.create_each(row, parts)
            return
        self._recorded.create(
            row,
            perform=lambda request_id: self._provider.create_payment(
                payment, refs, idempotency_key=request_id
            ),
            lookup=lambda: self._provider.find_payment(payment, refs),
        )

    def _part(
        self, payment: Payment, refs: PaymentRefs, application: Application, remote_invoice_id: str
    ) -> Part:
        """The remote payment of what ``payment`` applies to one invoice: that amount on that invoice
        alone, under a marker of its own (each part is looked up by its own)."""
        invoice_id = application.invoice_id
        alone = payment.model_copy(
            update={"invoice_id": invoice_id, "applications": None, "amount": application.amount}
        )
        on_it = replace(
            refs, invoice_id=remote_invoice_id, marker=f"{refs.marker}:invoice:{invoice_id}", applications=()
        )
        return Part(
            invoice_id,
            perform=lambda request_id: self._provider.create_payment(
                alone, on_it, idempotency_key=request_id
            ),
            lookup=lambda: self._provider.find_payment(alone, on_it),
        )
