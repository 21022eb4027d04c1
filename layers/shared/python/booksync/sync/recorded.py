"""Payments and refunds: each is recorded in the books once and never edited there. An edit after
it reached the books is refused on it (a person makes the same change there); a refusal holds back
only that document, never its invoice's others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from booksync.documents import DocumentKind
from booksync.errors import ProviderError, Rejected, error_entry
from booksync.providers.port import RemoteObject
from booksync.providers.profile import provider_label
from booksync.store.models import DocumentModel, LinkMap, link_generation, new_link, refused_link
from booksync.sync.context import JobContext
from booksync.sync.once import ExactlyOnce
from booksync.sync.push import Pusher
from booksync.sync.report import Outcome


@dataclass(frozen=True)
class Part:
    """One of the remote objects a document is recorded as (``name``: what it is of the document,
    the local invoice id of a payment's part), written by ``perform`` and found by ``lookup``."""

    name: str
    perform: Callable[[str], RemoteObject]
    lookup: Callable[[], RemoteObject | None]


class RecordedOnce:
    def __init__(self, context: JobContext, *, once: ExactlyOnce, pusher: Pusher) -> None:
        self._context = context
        self._once = once
        self._pusher = pusher

    def in_books(self, row: DocumentModel) -> bool:
        """Already pushed (payments and refunds are pushed once): report an edit, clear pending."""
        context = self._context
        link = context.link(row)
        if link is None or not link.remote_id:
            return False
        if link.pushed_hash != row.content_hash and link.outcome != Outcome.FAILED:
            self.refused(row, link, self._edited(DocumentKind(row.kind), row.doc_id))
        elif row.pending_bucket:
            context.documents.clear_pending(row, row.content_hash)
        context.report.counts["unchanged"] += 1
        return True

    def _edited(self, kind: DocumentKind, doc_id: str) -> Rejected:
        what = "refund receipt" if kind == DocumentKind.REFUND else kind.value
        books = provider_label(self._context.provider)
        return Rejected(
            f"{kind.value.capitalize()} {doc_id} changed after it reached {books}; "
            f"booksync records each {kind.value} once and does not edit it there.",
            provider=self._context.provider,
            fix=f"Make the same change to the {what} in {books}, or record a correcting {kind.value}.",
        )

    def refused(self, row: DocumentModel, link: LinkMap | None, exc: ProviderError) -> None:
        """One refused payment (or refund) does not hold back the others; a person must act on it."""
        context = self._context
        context.save_link(row, refused_link(link, exc))
        context.documents.clear_pending(row, row.content_hash)
        context.report.counts["failed"] += 1
        context.report.failures.append(error_entry(f"{row.kind} {row.doc_id}", exc))

    def create(
        self,
        row: DocumentModel,
        *,
        perform: Callable[[str], RemoteObject],
        lookup: Callable[[], RemoteObject | None],
    ) -> None:
        """Write ``row``'s object once and link it. Keyed by the document: a split payment is one
        write whichever of its invoices' jobs gets there first. Deleted in the provider: a new
        generation recreates it."""
        link = self._context.link(row)
        result = self._once.write(
            self._context.key(DocumentKind(row.kind), row.doc_id, f"create#{link_generation(link)}"),
            perform=perform,
            lookup=lookup,
            fetch=lambda remote_id: RemoteObject(id=remote_id),
        )
        self._pusher.linked(row, result.remote, link, "created" if result.created else "linked")

    def create_each(self, row: DocumentModel, parts: Sequence[Part]) -> None:
        """Write ``row`` as several objects, each once under a key of its own (the document's, with
        the part's name: a retry after any one answer was lost writes none twice), then link them
        together: the link's remote id is the first's, ``parts`` holds each one's. When one fails,
        those already in the books are kept on the link (``parts``, no remote id: the document is
        not in the books whole), so that it shows them, and the retry finds them done."""
        context = self._context
        link = context.link(row)
        kind, generation = DocumentKind(row.kind), link_generation(link)
        written: dict[str, str] = {}
        created = False
        try:
            for part in parts:
                result = self._once.write(
                    context.key(kind, row.doc_id, f"create#{generation}#part#{part.name}"),
                    perform=part.perform,
                    lookup=part.lookup,
                    fetch=lambda remote_id: RemoteObject(id=remote_id),
                )
                written[part.name] = result.remote.id
                created = created or result.created
        except BaseException:
            if written:
                partly = link if link is not None else new_link()
                partly.parts = dict(written)
                context.save_link(row, partly)
                row.set_link(context.provider, partly)
            raise
        first = RemoteObject(id=written[parts[0].name])
        self._pusher.linked(row, first, link, "created" if created else "linked", parts=written)
