"""An invoice's end in the books: voided once where the provider voids (else said not supported),
deleted once when the business deleted it."""

from __future__ import annotations

from booksync.documents import DocumentKind
from booksync.errors import RemoteNotFound
from booksync.providers.declaration import AnyDeclaration, Capability
from booksync.providers.port import AccountingProvider, RemoteObject
from booksync.store.models import DocumentModel, LinkMap
from booksync.sync.context import JobContext
from booksync.sync.once import ExactlyOnce
from booksync.sync.push import Pusher
from booksync.sync.report import Outcome
from booksync.sync.unsupported import Unsupported


class InvoiceEnd:
    def __init__(
        self,
        context: JobContext,
        *,
        provider: AccountingProvider,
        declared: AnyDeclaration,
        once: ExactlyOnce,
        pusher: Pusher,
        unsupported: Unsupported,
    ) -> None:
        self._context = context
        self._provider = provider
        self._declared = declared
        self._once = once
        self._pusher = pusher
        self._unsupported = unsupported

    def deleted(self, row: DocumentModel) -> None:
        """The business deleted the invoice: delete it in the books too, once."""
        context, provider = self._context, self._provider
        link = context.link(row)
        if link is None or not link.remote_id or link.pushed_hash == row.content_hash:
            context.documents.clear_pending(row, row.content_hash)
            context.report.counts["unchanged"] += 1
            return
        remote_id = link.remote_id
        current = provider.get_invoice(remote_id)
        if current is not None:

            def delete(request_id: str) -> RemoteObject:
                provider.delete_invoice(current, idempotency_key=request_id)
                return RemoteObject(id=remote_id)

            self._once.write(
                context.key(DocumentKind.INVOICE, row.doc_id, f"delete#{link.generation or 0}"),
                perform=delete,
                # After an uncertain answer, the deletion happened if the invoice is gone.
                lookup=lambda: (
                    RemoteObject(id=remote_id) if provider.get_invoice(remote_id) is None else None
                ),
                fetch=lambda _id: RemoteObject(id=remote_id),
            )
        self._pusher.linked(row, RemoteObject(id=remote_id), link, "deleted")
        gone = context.link(row)
        if gone is not None:
            gone.outcome = Outcome.DELETED
            context.save_link(row, gone)

    def void(self, row: DocumentModel, link: LinkMap | None) -> None:
        context, provider = self._context, self._provider
        if link is None or not link.remote_id:
            # Never reached the books: nothing to void there.
            context.documents.clear_pending(row, row.content_hash)
            context.report.counts["unchanged"] += 1
            return
        if link.pushed_hash == row.content_hash:
            context.report.counts["unchanged"] += 1
            return
        if not self._declared.supports(Capability.VOIDS):
            context.report.outcome = Outcome.NOT_SUPPORTED
            self._unsupported.say(
                row, self._declared.not_supported(Capability.VOIDS, f"invoice {row.doc_id}")
            )
            return
        remote_id = link.remote_id
        current = provider.get_invoice(remote_id)
        if current is None:
            raise RemoteNotFound(
                f"Invoice {row.doc_id} was deleted in {context.provider}; there is nothing to void.",
                provider=context.provider,
            )
        result = self._once.write(
            context.key(DocumentKind.INVOICE, row.doc_id, f"void#{link.generation or 0}"),
            perform=lambda rid: provider.void_invoice(current, idempotency_key=rid),
            lookup=lambda: None,
            fetch=provider.get_invoice,
        )
        self._pusher.linked(row, result.remote, link, "updated")
