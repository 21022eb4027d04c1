"""The one push pattern every document of an invoice goes through: link before create, exactly once.

``Pusher.push`` creates, updates or leaves alone one document's remote object; ``Pusher.named``
does it for a customer or an item, which the provider keys on by name: linked to what the books
hold only when it surely is this document (a claim per remote object, taken before the link),
otherwise created, under a name of its own when its cleaned name is taken. Updates carry the
link's push count (and the version where the provider keeps one) in their key; an object created
by an earlier attempt is brought up to date with what the document holds now.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from booksync.documents import DocumentKind
from booksync.errors import Conflict, DuplicateName, Rejected
from booksync.providers.declaration import AnyDeclaration, Capability
from booksync.providers.port import Named, RemoteObject
from booksync.providers.profile import provider_label
from booksync.store.claims import LinkClaims, LinkScope
from booksync.store.models import DocumentModel, LinkMap, link_generation, link_pushes, new_link
from booksync.sync.context import JobContext
from booksync.sync.naming import name_link, namesake_item
from booksync.sync.once import ExactlyOnce, WriteResult
from booksync.sync.report import Outcome

logger = logging.getLogger(__name__)

CONFLICT_RETRIES = 3

Get = Callable[[str], RemoteObject | None]
Update = Callable[[RemoteObject, str], RemoteObject]
# The engine's settling of a failure's notification once its document synced (``InvoiceSync.settle``).
Settle = Callable[[DocumentModel, LinkMap | None], None]


@dataclass(frozen=True)
class Naming:
    own: str  # the document's own name, as the business wrote it
    distinct: bool  # booksync made it unique (its cleaned name was held by another record)


class Pusher:
    def __init__(
        self,
        context: JobContext,
        *,
        once: ExactlyOnce,
        declared: AnyDeclaration,
        claims: LinkClaims,
        scope: LinkScope,
        settle: Settle,
    ) -> None:
        self._context = context
        self._once = once
        self._declared = declared
        self._claims = claims
        self._scope = scope
        self._settle = settle

    def push(
        self,
        row: DocumentModel,
        link: LinkMap | None,
        kind: DocumentKind,
        *,
        get: Get,
        find: Callable[[], RemoteObject | None],
        create: Callable[[str], RemoteObject],
        update: Update,
    ) -> RemoteObject:
        """Create, update or leave alone one document's remote object, exactly once."""
        kept = self._kept(row, link, kind, get, update)
        if kept is not None:
            return kept
        result = self._once.write(
            self._context.key(kind, row.doc_id, f"create#{link_generation(link)}"),
            perform=create,
            lookup=find,
            fetch=get,
        )
        remote = self._brought_up_to_date(row, kind, result, get, update)
        self.linked(row, remote, link, "created" if result.created else "linked")
        return remote

    def _kept(
        self,
        row: DocumentModel,
        link: LinkMap | None,
        kind: DocumentKind,
        get: Get,
        update: Update,
        named: Naming | None = None,
    ) -> RemoteObject | None:
        """The linked object, updated if the document changed; None when there is none to keep
        (never linked, or deleted or made inactive in the provider: then the next generation)."""
        if link is None or not link.remote_id:
            return None
        if link.pushed_hash == row.content_hash:
            self._context.report.counts["unchanged"] += 1
            return RemoteObject(id=link.remote_id, version=link.version)
        current = get(link.remote_id)
        if current is not None and current.active:
            remote = self._update(row, kind, current, get, update)
            self.linked(row, remote, link, "updated", named)
            return remote
        link.generation = int(link.generation or 0) + 1
        return None

    def _brought_up_to_date(
        self,
        row: DocumentModel,
        kind: DocumentKind,
        result: WriteResult[RemoteObject],
        get: Get,
        update: Update,
    ) -> RemoteObject:
        if result.created:
            return result.remote
        # Linked meanwhile by a job that read the document after this one did (a redelivery, a
        # payment across invoices), with this very content: the books hold it as it stands, and an
        # update that changes nothing costs a call (Xero refuses any once a payment is on it).
        fresh = self._context.documents.get(self._context.company, kind, row.doc_id)
        stored = fresh.link(self._context.provider) if fresh is not None else None
        if (
            stored is not None
            and stored.remote_id == result.remote.id
            and stored.pushed_hash == row.content_hash
        ):
            return RemoteObject(id=stored.remote_id, version=stored.version)
        # Created by an earlier attempt (found by lookup, or its intent already done): it holds
        # the content of that attempt, which an edit since may have changed. Push ours on top.
        current = get(result.remote.id)
        return self._update(row, kind, current, get, update) if current is not None else result.remote

    def named(
        self,
        row: DocumentModel,
        kind: DocumentKind,
        document: Named,
        own_name: str,
        *,
        distinct: Callable[[Named], Named],
        get: Get,
        find: Callable[[Named], RemoteObject | None],
        create: Callable[[Named, str], RemoteObject],
        update: Callable[[RemoteObject, Named, str], RemoteObject],
    ) -> RemoteObject:
        """A customer or an item: linked to what the provider has only when it surely is this
        document and no other document holds it (a claim per remote object, taken before the
        link); otherwise created, under a name of its own (``distinct``: the provider's) when its
        cleaned name is taken.

        The provider finds by exactly the name it stores (and a customer only when the rest of
        the record agrees); two documents whose cleaned names collide ("a:b" and "a-b", two
        500-character names cut to the same 100) get two objects, the second with a suffix.
        Once a document has a name of its own, its updates keep it.
        """
        link = self._context.link(row)
        if link is not None and link.remote_id and not link.claimed:
            self._claims.claim_stored(
                self._scope, kind, row, link, self._context.documents, now=self._context.clock()
            )
        namings = [Naming(own_name, True)] if link is not None and link.distinct_name else []
        namings = namings or [Naming(own_name, False), Naming(own_name, True)]
        if link is not None and link.remote_id:
            for naming in namings:
                put = _put(update, distinct(document) if naming.distinct else document)
                try:
                    kept = self._kept(row, link, kind, get, put, naming)
                except DuplicateName:
                    continue  # renamed onto a name another record holds: a name of its own
                if kept is not None:
                    return kept
                break  # gone from the provider: created again below
            else:
                raise self._no_name(kind, row)
        for naming in namings:
            doc = distinct(document) if naming.distinct else document
            put = _put(update, doc)
            found = find(doc)
            if found is not None and self._claim(kind, row, found.id):
                remote = self._update(row, kind, found, get, put) if not found.active else found
                self.linked(row, remote, link, "linked", naming)
                return remote
            if found is not None and namesake_item(found, doc):
                continue  # another document's item holds this very name: one of its own
            # Nothing found, or what was found (by name, e-mail or SKU) is another document's:
            # that record is not ours, which says nothing of the name. Ours is created under it;
            # a DuplicateName answer alone says the name is held and another one is needed.
            try:
                result = self._once.write(
                    self._context.key(
                        kind, row.doc_id, f"create#{link_generation(link)}{'#distinct' * naming.distinct}"
                    ),
                    perform=functools.partial(create, doc),
                    lookup=functools.partial(self._ours, kind, row, find, doc),
                    fetch=get,
                )
            except DuplicateName:
                # The name is held by a record that is not surely ours (a namesake, another
                # case, a vendor): ours goes under a name of its own.
                continue
            if not self._claim(kind, row, result.remote.id):
                continue  # a concurrent worker linked another document to it first
            remote = self._brought_up_to_date(row, kind, result, get, put)
            self.linked(row, remote, link, "created" if result.created else "linked", naming)
            return remote
        raise self._no_name(kind, row)

    def _no_name(self, kind: DocumentKind, row: DocumentModel) -> Rejected:
        label = provider_label(self._context.provider)
        return Rejected(
            f"{label} refuses every name booksync tried for {kind.value} {row.doc_id}.",
            provider=self._context.provider,
            fix=f"Rename the {kind.value} in your app (or the record holding its name in {label}), "
            "then sync again.",
        )

    def _ours(
        self, kind: DocumentKind, row: DocumentModel, find: Callable[[Named], RemoteObject | None], doc: Named
    ) -> RemoteObject | None:
        found = find(doc)
        return found if found is not None and self._claim(kind, row, found.id) else None

    def _claim(self, kind: DocumentKind, row: DocumentModel, remote_id: str) -> bool:
        """Two documents never share one remote object (design.md): the first claim wins."""
        return self._claims.claim(self._scope, kind, remote_id, row.doc_id, now=self._context.clock())

    def _update(
        self,
        row: DocumentModel,
        kind: DocumentKind,
        current: RemoteObject,
        get: Get,
        update: Update,
    ) -> RemoteObject:
        link = self._context.link(row)
        for attempt in range(CONFLICT_RETRIES):
            perform = functools.partial(_apply_update, update, current)
            try:
                return self._once.write(
                    # The link's push count only grows, so no edit history (A->B->A->B) meets an
                    # earlier push's key, versions or none; a retry of this push (same content,
                    # same version) reuses it, as QuickBooks' requestid wants.
                    self._context.key(
                        kind,
                        row.doc_id,
                        f"update#{link_generation(link)}#{link_pushes(link)}#{row.content_hash[:20]}{self._version(current)}",
                    ),
                    perform=perform,
                    lookup=lambda: None,
                    fetch=get,
                ).remote
            except Conflict:
                # Someone changed it in the provider: re-read the version and apply ours on top.
                fresh = get(current.id)
                if fresh is None or attempt == CONFLICT_RETRIES - 1:
                    raise
                current = fresh
        raise AssertionError("unreachable")

    def _version(self, current: RemoteObject) -> str:
        """The version an update applies to, in its key; none where the provider keeps none."""
        return f"#{current.version}" if self._declared.supports(Capability.VERSIONS) else ""

    def linked(
        self,
        row: DocumentModel,
        remote: RemoteObject,
        link: LinkMap | None,
        counted_as: str,
        named: Naming | None = None,
        parts: Mapping[str, str] | None = None,
    ) -> None:
        """``row`` is now ``remote`` in the books, as it stands: store the link (a new push), settle
        its earlier failure, clear its pending marker and count it ``counted_as``. ``parts``: every
        remote object of a document recorded as several (``LinkMap.parts``)."""
        context = self._context
        new = new_link(
            remote_id=remote.id,
            version=remote.version,
            pushed_hash=row.content_hash,
            synced_at=context.clock(),
            outcome=Outcome.SYNCED,
            generation=link_generation(link),
            pushes=link_pushes(link) + 1,
        )
        if parts is not None:
            new.parts = dict(parts)
        if named is not None:
            new.claimed = True
            note = name_link(
                new,
                remote,
                kind=row.kind,
                doc_id=row.doc_id,
                own=named.own,
                distinct=named.distinct,
                provider=context.provider,
                was_distinct=bool(link is not None and link.distinct_name),
            )
            if note is not None and context.report.run_id:
                context.report.counts["renamed"] += 1
                context.note(note)
        context.save_link(row, new)
        row.set_link(context.provider, new)
        self._settle(row, link)
        if row.pending_bucket:
            context.documents.clear_pending(row, row.content_hash)
        context.report.counts[counted_as] += 1
        logger.info(
            "document synced",
            extra={
                "company_id": context.company,
                "doc": row.doc_key,
                "remote_id": remote.id,
                "how": counted_as,
            },
        )


def _apply_update(update: Update, current: RemoteObject, request_id: str) -> RemoteObject:
    return update(current, request_id)


def _put(
    update: Callable[[RemoteObject, Named, str], RemoteObject], doc: Named
) -> Callable[[RemoteObject, str], RemoteObject]:
    return lambda current, request_id: update(current, doc, request_id)
