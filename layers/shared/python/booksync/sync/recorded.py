"""Payments and refunds: each is recorded in the books once and never edited there. An edit after
it reached the books is refused on it (a person makes the same change there); a refusal holds back
only that document, never its invoice's others."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from booksync.documents import DocumentKind
from booksync.errors import ProviderError, Rejected, error_entry
from booksync.providers.port import RemoteObject
from booksync.providers.profile import provider_label
from booksync.store.models import (
    DocumentModel,
    LinkMap,
    link_generation,
    link_parts,
    new_link,
    refused_link,
)
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
        """Already pushed (payments and refunds are pushed once), whole or in part: report an edit,
        clear pending. One partly in the books (some of its parts written, then one failed) is
        written on only as it stood when its first part was (``pushed_hash``): edited since, it is
        refused as one wholly in the books is, and none of its parts is lost."""
        context = self._context
        link = context.link(row)
        if link is None:
            return False
        if not link.remote_id:
            return self._partly_edited(row, link)
        if link.pushed_hash != row.content_hash and link.outcome != Outcome.FAILED:
            self.refused(row, link, self._edited(DocumentKind(row.kind), row.doc_id))
        elif row.pending_bucket:
            context.documents.clear_pending(row, row.content_hash)
        context.report.counts["unchanged"] += 1
        return True

    def whole(self, row: DocumentModel) -> bool:
        """In the books whole (its refunds may follow), not only some of its parts."""
        link = self._context.link(row)
        return link is not None and bool(link.remote_id)

    def _partly_edited(self, row: DocumentModel, link: LinkMap) -> bool:
        """Some parts in the books and the document changed since they were written: refused (said
        once), True; else False, the rest is written. A link stored before partial links kept their
        hash cannot be judged and is written on, as it was then."""
        written = link_parts(link)
        if not written or link.pushed_hash is None or link.pushed_hash == row.content_hash:
            return False
        refusal = self._edited(DocumentKind(row.kind), row.doc_id, written)
        if link.error_message != refusal.message:
            self.refused(row, link, refusal)
        elif row.pending_bucket:
            self._context.documents.clear_pending(row, row.content_hash)
        self._context.report.counts["unchanged"] += 1
        return True

    def _edited(self, kind: DocumentKind, doc_id: str, written: Mapping[str, str] | None = None) -> Rejected:
        what = "refund receipt" if kind == DocumentKind.REFUND else kind.value
        books = provider_label(self._context.provider)
        if written:
            there = ", ".join(f"invoice {name}" for name in sorted(written))
            return Rejected(
                f"{kind.value.capitalize()} {doc_id} changed after part of it reached {books} (its "
                f"{what} on {there}); booksync records each {kind.value} once and does not edit it "
                "there, so the rest is not written against the changed one.",
                provider=self._context.provider,
                fix=f"Put the {kind.value} back as it was in your app and booksync writes the rest, "
                f"or record the change in {books} yourself.",
            )
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
        not in the books whole), so that it shows them, and the retry writes only the rest."""
        context = self._context
        link = context.link(row)
        kind, generation = DocumentKind(row.kind), link_generation(link)
        # Parts a failed attempt left in the books, for this content: not written again, even once
        # their intents have expired (a partly written payment may be fixed months later).
        kept = (
            link_parts(link)
            if link is not None and not link.remote_id and link.pushed_hash == row.content_hash
            else {}
        )
        written: dict[str, str] = {}
        created = False
        try:
            for part in parts:
                if part.name in kept:
                    continue
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
                # Partly in the books: each part written is kept (with those of earlier attempts),
                # and so is the content they were written from, against which an edit is refused.
                partly = link if link is not None else new_link()
                partly.parts = {**link_parts(link), **written}
                partly.pushed_hash = row.content_hash
                context.save_link(row, partly)
                row.set_link(context.provider, partly)
            raise
        every = {**link_parts(link), **written}
        self._pusher.linked(
            row, RemoteObject(id=every[parts[0].name]), link, "created" if created else "linked", parts=every
        )
