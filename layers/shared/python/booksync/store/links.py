"""Documents seen from the provider's side: find them by remote id, apply what changed there.

Every write is conditional on the link still pointing at the remote id the event is about, so
an event that arrives after a sync has already relinked the document changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from booksync.documents import SYNCED_KINDS, DocumentKind
from booksync.store.documents import pending_bucket
from booksync.store.models import DocumentModel, LinkMap, link_parts

# DynamoDB's IN takes at most 100 operands.
_IN_LIMIT = 100


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class LinkRepository:
    def __init__(self, provider: str) -> None:
        self._provider = provider
        # The link as a document path: its fields are paths there (pynamodb types them as values).
        self._attr: Any = DocumentModel.link_attribute(provider)

    def linked(self, company_id: str, kind: DocumentKind, remote_ids: Iterable[str]) -> list[DocumentModel]:
        """The company's documents of ``kind`` linked to any of ``remote_ids``, by the link's
        remote id or by any of its parts' (a payment recorded as one per invoice: each part is
        found by its own id, not only the first).

        One query of the company's documents of that kind (the sort key's prefix), filtered on
        the link: deletes and merges are rare, and a consumer batch asks once per company and
        kind. A remote-id index is the next step if companies with very large catalogs make
        this read show up.
        """
        ids = sorted(set(remote_ids))
        found: list[DocumentModel] = []
        for start in range(0, len(ids), _IN_LIMIT):
            chunk = ids[start : start + _IN_LIMIT]
            rows = DocumentModel.query(
                company_id,
                DocumentModel.doc_key.startswith(f"{kind.value}#"),
                # A map's values cannot be filtered on: links with parts are kept, then read.
                filter_condition=self._attr.remote_id.is_in(*chunk) | self._attr.parts.exists(),
                consistent_read=True,
            )
            found += [row for row in rows if _links_to(row.link(self._provider), chunk)]
        return found

    def mark_deleted(
        self, row: DocumentModel, remote_id: str, *, message: str, fix: str, at: str | None, now: float
    ) -> bool:
        """Forget the deleted remote object and queue the document to be created again.

        The generation grows so the next create is a new intent (the old one is done); the
        pending marker makes the sweep pick it up. One part of a document recorded as several
        (``LinkMap.parts``) deleted: only that part is dropped; the others stay on the link with
        the content they were written from (``pushed_hash``), so the next sync writes only the
        missing part (under the new generation's key), never the others a second time.
        """
        link = row.link(self._provider)
        generation = int(link.generation or 0) + 1 if link is not None else 1
        part = _part_named(link, remote_id)
        forget = self._attr.pushed_hash.remove() if part is None else self._attr.parts[part].remove()
        return self._update(
            row,
            remote_id,
            [
                self._attr.remote_id.remove(),
                self._attr.version.remove(),
                forget,
                self._attr.generation.set(generation),
                self._attr.outcome.set("deleted_in_provider"),
                self._attr.error_code.set("deleted_in_provider"),
                self._attr.error_message.set(message),
                self._attr.error_fix.set(fix),
                self._attr.remote_change.set("Delete"),
                self._attr.remote_change_at.set(at or ""),
                DocumentModel.pending_bucket.set(pending_bucket(DocumentKind(row.kind), row.company_id)),
                DocumentModel.pending_since.set(DocumentModel.pending_since | now),
            ],
        )

    def relink(self, row: DocumentModel, remote_id: str, surviving_id: str, *, at: str | None) -> bool:
        """The remote object was merged into ``surviving_id``: point the link there.

        The SyncToken of the survivor is unknown, so it is dropped; the next update reads it.
        """
        return self._update(
            row,
            remote_id,
            [
                self._attr.remote_id.set(surviving_id),
                self._attr.version.remove(),
                self._attr.remote_change.set("Merge"),
                self._attr.remote_change_at.set(at or ""),
            ],
        )

    def record_change(self, row: DocumentModel, remote_id: str, operation: str, *, at: str | None) -> bool:
        """Drift: someone changed the object in the provider. Recorded, not pulled back."""
        actions: list[Action] = [
            self._attr.remote_change.set(operation),
            self._attr.remote_change_at.set(at or ""),
        ]
        return self._update(row, remote_id, actions)

    def _update(self, row: DocumentModel, remote_id: str, actions: list[Action]) -> bool:
        """``actions`` on condition that the link still holds ``remote_id``: as its remote id, or
        as the part it is (each part of a document recorded as several is an object of its own)."""
        part = _part_named(row.link(self._provider), remote_id)
        held = self._attr.remote_id if part is None else self._attr.parts[part]
        try:
            row.update(actions=actions, condition=held == remote_id)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True


def _part_named(link: LinkMap | None, remote_id: str) -> str | None:
    """The part of ``link`` that ``remote_id`` is (``LinkMap.parts``), if any."""
    return next((name for name, held in link_parts(link).items() if held == remote_id), None)


def _links_to(link: LinkMap | None, remote_ids: Iterable[str]) -> bool:
    """``link`` holds one of ``remote_ids``: as its remote id or as one of its parts."""
    held = set(link_parts(link).values())
    if link is not None and link.remote_id:
        held.add(str(link.remote_id))
    return not held.isdisjoint(remote_ids)


def drifted_counts(company_id: str, provider: str, changes: Iterable[str]) -> dict[str, int]:
    """How many of the company's documents, by kind, someone changed in the provider since
    booksync's last push (the link's ``remote_change``; a push replaces the link and so clears
    it). Count queries per kind: only counts travel, not the documents."""
    attribute: Any = DocumentModel.link_attribute(provider)  # a path, as in ``LinkRepository``
    wanted = tuple(changes)
    counts = {
        kind.value: DocumentModel.count(
            company_id,
            DocumentModel.doc_key.startswith(f"{kind.value}#"),
            filter_condition=attribute.remote_change.is_in(*wanted),
        )
        for kind in SYNCED_KINDS  # an estimate is never in the books: nothing there to change
    }
    return {kind: count for kind, count in counts.items() if count}
