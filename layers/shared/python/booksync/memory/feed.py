"""What feeds the billing memory: the status changes that embed a document, and their queue.

With ``RAG_BILLING_EMBED_ENABLED`` on, a document is embedded when it matters, never on every
save: an invoice or an estimate when its stage in the memory changes (``STAGES``: an invoice
issued, then paid, or voided once issued; an estimate sent, then accepted or declined), a payment
when it is first recorded (its invoices are looked at again then; one unchanged is skipped by its
content hash). That is once or twice in a document's life (sent; then paid), and the memory
never keeps an invoice as sent once it is paid or voided (a void one is not a charge).

The change is detected on the status the row held before the write, and marked on the row in the
same write (``embed_bucket``/``embed_since``, the sparse embed-index). Then one message goes to
EmbedBillingQueue; the API answers without waiting for any embedding. If that send fails, the
document is saved all the same and the failure is logged: the mark stays, and the embed job's
sweep (every five minutes) queues every mark older than its grace again. The mark is removed once
the document is embedded, so a lost message delays the memory by minutes and loses nothing.

Off (the default), nothing is marked, nothing is queued, nothing is embedded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from booksync.documents import DocId, DocumentKind, EstimateStatus, InvoiceStatus
from booksync.keys import OutsideKey

if TYPE_CHECKING:
    from booksync.store.models import DocumentModel

logger = logging.getLogger(__name__)

# The statuses of an issued document: reaching one from none or a draft embeds it.
ISSUED: dict[DocumentKind, frozenset[str]] = {
    DocumentKind.INVOICE: frozenset({InvoiceStatus.SENT, InvoiceStatus.PAID}),
    DocumentKind.ESTIMATE: frozenset({EstimateStatus.SENT, EstimateStatus.ACCEPTED, EstimateStatus.DECLINED}),
}


# A document's stage in the memory, by status: a change of stage embeds it again (a draft, or a
# status of none, is not in the memory). VOID counts only over an issued invoice: a draft voided
# was never in the memory.
STAGES: dict[DocumentKind, dict[str, str]] = {
    DocumentKind.INVOICE: {
        InvoiceStatus.SENT: "issued",
        InvoiceStatus.PAID: "paid",
        InvoiceStatus.VOID: "void",
    },
    DocumentKind.ESTIMATE: {
        EstimateStatus.SENT: "sent",
        EstimateStatus.ACCEPTED: "accepted",
        EstimateStatus.DECLINED: "declined",
    },
}


def in_memory(kind: DocumentKind, status: str | None) -> bool:
    """Is a document of ``kind`` at ``status`` one the memory keeps (an issued one, or a void
    invoice that was issued: kept as void, so that it is never counted as a charge)?"""
    return status in STAGES[kind]


def changes_stage(kind: DocumentKind, before: str | None, after: str) -> bool:
    """Does storing ``after`` over a row whose status was ``before`` (None: no row) change what
    the memory holds of it?"""
    stages = STAGES[kind]
    if after not in stages or stages.get(before or "") == stages[after]:
        return False
    return after != InvoiceStatus.VOID or before in ISSUED[kind]


def embeds(kind: DocumentKind, after: str | None) -> Callable[[DocumentModel | None], bool]:
    """For ``DocumentRepository.put``: given the row as found, does this write embed it?"""
    if kind is DocumentKind.PAYMENT:
        return lambda existing: existing is None  # recorded: embedded once
    assert after is not None
    return lambda existing: changes_stage(kind, None if existing is None else existing.status, after)


class EmbedJob(BaseModel):
    """One EmbedBillingQueue message: embed this document (and, for a payment, its invoices)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    company_id: OutsideKey
    kind: Literal[DocumentKind.INVOICE, DocumentKind.ESTIMATE, DocumentKind.PAYMENT]
    doc_id: DocId


class EmbedQueue(Protocol):
    def send(self, jobs: Sequence[EmbedJob]) -> None: ...


class SqsEmbedQueue:
    """EmbedBillingQueue: every job sent, or an error raised (never silently dropped)."""

    def __init__(self, queue_url: str) -> None:
        from booksync.queues import SqsQueue

        self._queue = SqsQueue(queue_url)

    def send(self, jobs: Sequence[EmbedJob]) -> None:
        self._queue.send_all([job.model_dump_json() for job in jobs], what="embed job")


class EmbedFeed:
    """The document service's side: queue a document its write has just marked to be embedded."""

    def __init__(self, queue: EmbedQueue) -> None:
        self._queue = queue

    def written(self, row: DocumentModel, *, changed: bool) -> bool:
        """After a write: queue the document when this write marked it (its mark is as old as the
        write; an older mark left by a lost message is the sweep's). A failed send is logged, never
        raised: the document is saved and its mark stays for the sweep. True when queued."""
        if not changed or row.embed_since is None or row.embed_since != row.updated_at:
            return False
        job = EmbedJob(company_id=row.company_id, kind=DocumentKind(row.kind), doc_id=row.doc_id)
        try:
            self._queue.send([job])
        except Exception:
            logger.exception(
                "embed job not queued; the embed sweep queues it",
                extra={"company_id": row.company_id, "kind": row.kind, "doc_id": row.doc_id},
            )
            return False
        return True
