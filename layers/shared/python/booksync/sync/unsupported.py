"""What the provider cannot take (its declaration says so): said once, on the document and in the
run's notes; never retried, never notified, nothing left pending for the sweep."""

from __future__ import annotations

from booksync.errors import error_entry
from booksync.providers.declaration import NotSupported
from booksync.store.models import DocumentModel, refused_link
from booksync.sync.context import JobContext
from booksync.sync.report import Outcome


class Unsupported:
    def __init__(self, context: JobContext) -> None:
        self._context = context

    def say(self, row: DocumentModel, exc: NotSupported) -> None:
        """Said once, on the document (its content judged: not sent again until it changes) and
        in this run's notes: no admin notification, no pending marker for the sweep to re-queue."""
        context = self._context
        link = refused_link(context.link(row), exc, Outcome.NOT_SUPPORTED)
        link.pushed_hash = row.content_hash
        context.save_link(row, link)
        row.set_link(context.provider, link)
        context.documents.clear_pending(row, row.content_hash)
        context.report.counts["not_supported"] += 1
        context.report.unsupported.append(error_entry(f"{row.kind} {row.doc_id}", exc))

    def already_said(self, row: DocumentModel) -> bool:
        """Judged not supported as it stands: nothing more to say or send (an edit judges it again)."""
        link = self._context.link(row)
        judged = link is not None and link.outcome == Outcome.NOT_SUPPORTED
        if judged and link is not None and link.pushed_hash == row.content_hash:
            self._context.report.counts["not_supported"] += 1
            return True
        return False
