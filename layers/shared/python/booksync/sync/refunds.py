"""The refunds of a payment in the books: each once, as a refund receipt, where the provider
records refunds (else said not supported on the refund)."""

from __future__ import annotations

from booksync.documents import DocumentKind, Payment, Refund, marker
from booksync.errors import Rejected, RemoteNotFound
from booksync.providers.declaration import AnyDeclaration, Capability
from booksync.providers.port import AccountingProvider, RefundRefs
from booksync.store.models import DocumentModel
from booksync.sync.context import JobContext
from booksync.sync.recorded import RecordedOnce
from booksync.sync.unsupported import Unsupported


class RefundSync:
    def __init__(
        self,
        context: JobContext,
        *,
        provider: AccountingProvider,
        declared: AnyDeclaration,
        recorded: RecordedOnce,
        unsupported: Unsupported,
        from_account_id: str | None,
    ) -> None:
        self._context = context
        self._provider = provider
        self._declared = declared
        self._recorded = recorded
        self._unsupported = unsupported
        # The account refunds are paid from (the connection's setting); None: the provider's default.
        self._from_account_id = from_account_id

    def push_all(self, payment_row: DocumentModel, customer_id: str, currency: str) -> None:
        """Each refund of a payment in the books, once, as a refund receipt (``currency``: the
        invoice's, for refunds and payments that name none)."""
        refund_ids = sorted(payment_row.refund_ids or ())
        if not refund_ids:
            return
        context = self._context
        rows = context.documents.get_many(context.company, DocumentKind.REFUND, refund_ids)
        payment: Payment | None = None
        for refund_id in refund_ids:
            row = rows.get(refund_id)
            if row is None or self._unsupported.already_said(row) or self._recorded.in_books(row):
                continue
            if not self._declared.supports(Capability.REFUNDS):
                self._unsupported.say(
                    row, self._declared.not_supported(Capability.REFUNDS, f"refund {refund_id}")
                )
                continue
            payment = payment or context.documents.parse(payment_row)
            try:
                self._push(row, context.documents.parse(row), payment, customer_id, currency)
            except (Rejected, RemoteNotFound) as exc:
                self._recorded.refused(row, context.link(row), exc)

    def wait(self, payment_row: DocumentModel) -> None:
        """A payment not whole in the books: its refunds are not sent, nor left pending for the
        sweep (the payment's own next push, once it is whole, sends them)."""
        context = self._context
        rows = context.documents.get_many(
            context.company, DocumentKind.REFUND, sorted(payment_row.refund_ids or ())
        )
        for row in rows.values():
            if row.pending_bucket:
                context.documents.clear_pending(row, row.content_hash)
                context.report.counts["waiting"] += 1

    def _push(
        self, row: DocumentModel, refund: Refund, payment: Payment, customer_id: str, currency: str
    ) -> None:
        self._declared.refuse_too_long(DocumentKind.REFUND, refund, refund.id)
        refs = RefundRefs(
            customer_id=customer_id,
            marker=marker(self._context.company, DocumentKind.REFUND, refund.id),
            method=payment.method,
            from_account_id=self._from_account_id,
            currency=refund.currency or payment.currency or currency,
        )
        self._recorded.create(
            row,
            perform=lambda request_id: self._provider.create_refund(refund, refs, idempotency_key=request_id),
            lookup=lambda: self._provider.find_refund(refund, refs),
        )
