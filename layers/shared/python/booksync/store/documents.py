"""Document rows: what the business's app sent, its content hash, its links and pending state.

A document is *pending* while it has something to push: the sweep finds it through the sparse
``pending-index`` (never a scan). The marker is cleared only on condition that the content hash is
still the one that was pushed, so an edit that lands during a sync is never lost.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from booksync.documents import MODEL_BY_KIND, DocumentKind, _Doc
from booksync.store.account_mapping import mapped_hash
from booksync.store.models import DocumentModel, LinkMap

PENDING_SHARDS = 8
DELETED = "DELETED"


def doc_key(kind: DocumentKind, doc_id: str) -> str:
    return f"{kind.value}#{doc_id}"


def pending_bucket(kind: DocumentKind, company_id: str) -> str:
    return f"{kind.value}#{zlib.crc32(company_id.encode()) % PENDING_SHARDS}"


def pending_buckets(kind: DocumentKind) -> list[str]:
    return [f"{kind.value}#{shard}" for shard in range(PENDING_SHARDS)]


@dataclass(frozen=True)
class PutOutcome:
    row: DocumentModel
    created: bool
    changed: bool


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DocumentRepository:
    def get(self, company_id: str, kind: DocumentKind, doc_id: str) -> DocumentModel | None:
        try:
            return DocumentModel.get(company_id, doc_key(kind, doc_id), consistent_read=True)
        except DocumentModel.DoesNotExist:
            return None

    def get_many(
        self, company_id: str, kind: DocumentKind, doc_ids: Iterable[str]
    ) -> dict[str, DocumentModel]:
        keys = [(company_id, doc_key(kind, doc_id)) for doc_id in dict.fromkeys(doc_ids)]
        return (
            {row.doc_id: row for row in DocumentModel.batch_get(keys, consistent_read=True)} if keys else {}
        )

    def parse(self, row: DocumentModel) -> Any:
        return MODEL_BY_KIND[DocumentKind(row.kind)].model_validate(row.body)

    def put(
        self,
        company_id: str,
        kind: DocumentKind,
        doc: _Doc,
        *,
        now: float,
        status: str | None = None,
        pending: bool,
        sent: bool = False,
    ) -> PutOutcome:
        """Store the document; an identical re-send changes nothing (idempotent PUT)."""
        doc_id = str(getattr(doc, "id"))  # noqa: B009 - every document has an id
        existing = self.get(company_id, kind, doc_id)
        # An item's account mapping is part of what is pushed, so of its hash.
        content_hash = mapped_hash(doc.content_hash(), existing)
        if existing is not None and existing.content_hash == content_hash:
            return PutOutcome(existing, created=False, changed=False)
        body = doc.model_dump(mode="json")
        if existing is None:
            row = DocumentModel(
                company_id,
                doc_key(kind, doc_id),
                kind=kind.value,
                doc_id=doc_id,
                body=body,
                content_hash=content_hash,
                status=status,
                updated_at=now,
                sent_at=now if sent else None,
            )
            if pending:
                row.pending_bucket, row.pending_since = pending_bucket(kind, company_id), now
            try:
                row.save(condition=DocumentModel.doc_key.does_not_exist())
            except PutError as exc:
                if not _conditional_failed(exc):
                    raise
                # Another request created it a moment ago: apply this one as an update.
                return self.put(company_id, kind, doc, now=now, status=status, pending=pending, sent=sent)
            return PutOutcome(row, created=True, changed=True)
        # Only the fields a PUT owns: links and payment ids written meanwhile by workers and
        # other requests must survive (a whole-row save would lose them).
        actions: list[Action] = [
            DocumentModel.body.set(body),
            DocumentModel.content_hash.set(content_hash),
            DocumentModel.status.set(status) if status is not None else DocumentModel.status.remove(),
            DocumentModel.updated_at.set(now),
        ]
        if sent:
            actions.append(DocumentModel.sent_at.set(DocumentModel.sent_at | now))
        if pending:
            actions.append(DocumentModel.pending_bucket.set(pending_bucket(kind, company_id)))
            actions.append(DocumentModel.pending_since.set(DocumentModel.pending_since | now))
        else:
            actions += [DocumentModel.pending_bucket.remove(), DocumentModel.pending_since.remove()]
        existing.update(actions=actions)
        return PutOutcome(existing, created=False, changed=True)

    def mark_deleted(self, row: DocumentModel, *, now: float, pending: bool) -> DocumentModel:
        """A tombstone: the body stays for history; the hash changes so the deletion is pushed once."""
        actions: list[Action] = [
            DocumentModel.status.set(DELETED),
            DocumentModel.content_hash.set(f"{row.content_hash[:56]}:deleted"),
            DocumentModel.updated_at.set(now),
        ]
        if pending:
            actions += [
                DocumentModel.pending_bucket.set(pending_bucket(DocumentKind(row.kind), row.company_id)),
                DocumentModel.pending_since.set(now),
            ]
        else:
            actions += [DocumentModel.pending_bucket.remove(), DocumentModel.pending_since.remove()]
        row.update(actions=actions)
        return row

    def add_payment(self, invoice: DocumentModel, payment_id: str) -> None:
        invoice.update(actions=[DocumentModel.payment_ids.add({payment_id})])

    def add_refund(self, payment: DocumentModel, refund_id: str) -> None:
        payment.update(actions=[DocumentModel.refund_ids.add({refund_id})])

    def mark_pending(self, row: DocumentModel, now: float) -> None:
        row.update(
            actions=[
                DocumentModel.pending_bucket.set(pending_bucket(DocumentKind(row.kind), row.company_id)),
                DocumentModel.pending_since.set(DocumentModel.pending_since | now),
            ]
        )

    def save_link(self, row: DocumentModel, provider: str, link: LinkMap) -> None:
        attribute = getattr(DocumentModel, f"link_{provider}")
        row.update(actions=[attribute.set(link)])

    def clear_pending(self, row: DocumentModel, pushed_hash: str) -> bool:
        """Clear the pending marker if nothing changed since ``pushed_hash`` was pushed."""
        try:
            row.update(
                actions=[DocumentModel.pending_bucket.remove(), DocumentModel.pending_since.remove()],
                condition=DocumentModel.content_hash == pushed_hash,
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def pending(self, bucket: str, *, older_than: float, limit: int = 500) -> Iterator[DocumentModel]:
        return iter(
            DocumentModel.pending_index.query(bucket, DocumentModel.pending_since <= older_than, limit=limit)
        )

    def sent_since(self, company_id: str, since: float) -> Iterator[DocumentModel]:
        return iter(DocumentModel.sent_index.query(company_id, DocumentModel.sent_at >= since))
