"""The embed job's side of the billing memory's feed (``feed.py`` is the document service's).

``EmbedWorker`` handles one EmbedBillingQueue message: it reads the document as stored now, builds
its ``BillingRecord`` (an invoice or estimate with its customer's name and its items' names and
costs; a payment with the invoices it pays, which are looked at again: one now PAID is embedded
anew, one unchanged is skipped by its content hash), hands them to the indexer, then removes the
document's embed mark. A redelivered message finds the mark gone and the content unchanged:
nothing is embedded twice. Two jobs of one document may run at once (it was saved PAID while its
SENT job ran): the records are written unconditionally, so after indexing a job reads again the
documents it built them from, and indexes again while one changed meanwhile (an unchanged record
is skipped by its content hash). The job that finishes last has thus written what is stored now,
never a stage older than the one a faster job wrote.

``EmbedSweep`` (the scheduler's five-minute sweep) queues again each document whose mark is older
than the grace: its message was lost, or its send failed when the document was saved. Each mark it
queues is stamped anew, so a document whose embedding keeps failing is queued once per grace, not
once per sweep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from booksync.documents import DocumentKind, Payment
from booksync.errors import ConcurrentChange
from booksync.memory.documents import billing_record
from booksync.memory.feed import ISSUED, EmbedJob, EmbedQueue, in_memory
from booksync.memory.records import BillingRecord, RecordKind
from booksync.store.documents import DocumentRepository, embed_buckets
from booksync.store.models import DocumentModel

logger = logging.getLogger(__name__)

# How a recorded payment reads in the memory (its own status: a payment has none in booksync).
PAYMENT_STATUS = "recorded"
# How many times a job indexes a document that keeps changing under it before it gives up (its
# message then fails and is received again after its visibility timeout).
ROUNDS = 5


class Indexer(Protocol):
    """``MemoryIndexer``: embeds the records whose content changed, skips the others."""

    def index(self, records: Sequence[BillingRecord]) -> Any: ...


def _issued(row: DocumentModel | None) -> bool:
    return row is not None and row.status in ISSUED[DocumentKind(row.kind)]


def _version(row: DocumentModel) -> tuple[float, str, str | None]:
    return (row.updated_at, row.content_hash, row.status)


@dataclass(frozen=True)
class Read:
    """A document's records, and the document rows they were built from (the document itself
    and, for a payment, its invoices)."""

    records: list[BillingRecord]
    sources: list[DocumentModel]


class BillingDocuments:
    """The memory's records of stored documents, as booksync holds them now."""

    def __init__(self, documents: DocumentRepository) -> None:
        self._docs = documents

    def read(self, row: DocumentModel) -> Read:
        """What embedding ``row`` means: an invoice or estimate in the memory's stages (issued,
        paid, accepted, declined; a void invoice kept as void, never a charge; a draft or a
        deleted one: nothing); a payment, with its issued invoices."""
        kind = DocumentKind(row.kind)
        if kind is DocumentKind.PAYMENT:
            return self._payment(row)
        return Read(self._billed([row]) if in_memory(kind, row.status) else [], [row])

    def moved(self, sources: Sequence[DocumentModel]) -> bool:
        """Has any of ``sources`` been written (or deleted) since it was read?"""
        kinds: dict[DocumentKind, list[DocumentModel]] = {}
        for row in sources:
            kinds.setdefault(DocumentKind(row.kind), []).append(row)
        for kind, rows in kinds.items():
            now = self._docs.get_many(rows[0].company_id, kind, [row.doc_id for row in rows])
            if any(row.doc_id not in now or _version(now[row.doc_id]) != _version(row) for row in rows):
                return True
        return False

    def _billed(self, rows: Sequence[DocumentModel]) -> list[BillingRecord]:
        if not rows:
            return []
        company_id = rows[0].company_id
        docs = [self._docs.parse(row) for row in rows]
        customers = self._models(company_id, DocumentKind.CUSTOMER, [d.customer_id for d in docs])
        items = self._models(company_id, DocumentKind.ITEM, [i for d in docs for i in d.item_ids])
        return [
            billing_record(company_id, doc, str(row.status), customers.get(doc.customer_id), items)
            for row, doc in zip(rows, docs, strict=True)
        ]

    def _payment(self, row: DocumentModel) -> Read:
        payment = self._docs.parse(row)
        assert isinstance(payment, Payment)
        invoices = self._docs.get_many(row.company_id, DocumentKind.INVOICE, payment.invoice_ids)
        first = invoices.get(payment.invoice_ids[0])
        customer_id = str(first.body["customer_id"]) if first is not None else None
        customer = self._models(row.company_id, DocumentKind.CUSTOMER, [customer_id] if customer_id else [])
        named = customer.get(customer_id) if customer_id else None
        currency = payment.currency or (str(first.body.get("currency") or "USD") if first else "USD")
        record = BillingRecord(
            company_id=row.company_id,
            kind=RecordKind.PAYMENT,
            doc_id=payment.id,
            number=payment.reference,
            status=PAYMENT_STATUS,
            customer_id=customer_id,
            customer_name=named.display_name if named is not None else None,
            date=payment.date,
            total=payment.amount,
            currency=currency,
            memo=payment.memo,
            invoice_id=payment.invoice_ids[0],
        )
        paid = [invoices[i] for i in payment.invoice_ids if _issued(invoices.get(i))]
        return Read([record, *self._billed(paid)], [row, *paid])

    def _models(self, company_id: str, kind: DocumentKind, ids: Sequence[str]) -> dict[str, Any]:
        return {did: self._docs.parse(row) for did, row in self._docs.get_many(company_id, kind, ids).items()}


class EmbedWorker:
    """One EmbedBillingQueue message: the document embedded (when it still should be), its mark
    removed. While the feed is off (``enabled`` False) a message embeds nothing."""

    def __init__(
        self, *, documents: DocumentRepository, indexer: Callable[[], Indexer], enabled: bool
    ) -> None:
        self._docs = documents
        self._records = BillingDocuments(documents)
        self._indexer = indexer
        self._enabled = enabled

    def handle(self, body: str) -> int:
        """Embed what the message names; the number of records handed to the indexer."""
        job = EmbedJob.model_validate_json(body)
        if not self._enabled:
            logger.warning(
                "embed job dropped: RAG_BILLING_EMBED_ENABLED is off",
                extra={"company_id": job.company_id, "kind": job.kind.value, "doc_id": job.doc_id},
            )
            return 0
        handed = 0
        for _ in range(ROUNDS):
            row = self._docs.get(job.company_id, job.kind, job.doc_id)
            if row is None:
                return handed
            read = self._records.read(row)
            if read.records:
                self._indexer().index(read.records)
                handed += len(read.records)
            if not self._records.moved(read.sources):
                # What was indexed is what is stored now. A mark moved since (a newer stage) is
                # kept for the write that moved it, which queued its own job.
                self._docs.clear_embed(row)
                return handed
        raise ConcurrentChange(
            f"{job.kind.value} {job.doc_id} of {job.company_id} kept changing while it was embedded "
            f"({ROUNDS} times)",
            fix="Nothing to do: the message is received again and the document embedded as it is then.",
        )


class EmbedSweep:
    """Queue again the documents whose embed mark waited past ``grace_seconds``."""

    def __init__(
        self,
        *,
        documents: DocumentRepository,
        queue: EmbedQueue,
        grace_seconds: float,
        clock: Callable[[], float] = time.time,
        limit: int = 500,
    ) -> None:
        self._docs = documents
        self._queue = queue
        self._grace = grace_seconds
        self._clock = clock
        self._limit = limit

    def run(self) -> int:
        """How many documents were queued again."""
        now = self._clock()
        queued = 0
        for bucket in embed_buckets():
            rows = self._docs.waiting_embeds(bucket, older_than=now - self._grace, limit=self._limit)
            jobs = [_job(row) for row in rows]
            if not jobs:
                continue
            self._queue.send(jobs)
            for row in rows:
                self._docs.restamp_embed(row, now)
            queued += len(jobs)
        return queued


def _job(row: DocumentModel) -> EmbedJob:
    kind, doc_id = row.doc_key.split("#", 1)
    return EmbedJob(company_id=row.company_id, kind=DocumentKind(kind), doc_id=doc_id)
