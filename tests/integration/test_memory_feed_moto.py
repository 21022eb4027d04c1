"""The billing memory's feed over moto: status changes marked and queued (never every save), a
lost queue write recovered by the sweep, and queue -> EmbedBillingFunction -> MemoryTable."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from booksync.documents import DocumentKind
from booksync.memory.feed import EmbedFeed, EmbedJob
from booksync.memory.ingest import EmbedSweep
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import DocumentModel
from booksync.store.runs import RunRepository
from booksync.sync.records import DocumentService

from tests import builders
from tests.integration.test_invoice_sync_engine import ListQueue
from tests.unit.test_memory_feed import Queue as EmbedQueue

COMPANY = "acme"


def service(embeds: EmbedFeed | None) -> DocumentService:
    return DocumentService(
        documents=DocumentRepository(),
        connections=ConnectionRepository(),
        runs=RunRepository(),
        queue=ListQueue(),
        embeds=embeds,
    )


def seed(docs: DocumentService) -> None:
    docs.put_customer(COMPANY, builders.customer())
    docs.put_item(COMPANY, builders.item("i-1", name="Water heater install", unit_cost="900.00"))
    docs.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))


def estimate(status: str) -> Any:
    from booksync.documents import Estimate

    body = builders.invoice("est-1", status="DRAFT").model_dump(mode="json")
    del body["due_date"]
    body["lines"][1]["unit_cost"] = "35.00"
    return Estimate.model_validate({**body, "status": status, "number": "E-1"})


def marks() -> dict[str, float]:
    return {
        row.doc_key: row.embed_since for row in DocumentModel.query(COMPANY) if row.embed_since is not None
    }


def test_only_the_transitions_queue_never_every_save(tables: SimpleNamespace) -> None:
    queue = EmbedQueue()
    docs = service(EmbedFeed(queue))
    seed(docs)

    embedded: set[str] = set()

    def queued_by(put: Any) -> list[str]:
        """What a save queued; then its documents are embedded (their marks removed, as the
        embed job does), so that a later save that marked one again would queue it again."""
        before = len(queue.sent)
        put()
        for row in DocumentModel.query(COMPANY):
            if row.embed_since is not None:
                embedded.add(row.doc_key)
                assert DocumentRepository().clear_embed(row)
        return [f"{j.kind.value}:{j.doc_id}" for j in queue.sent[before:]]

    assert queued_by(lambda: docs.put_invoice(COMPANY, builders.invoice(status="DRAFT"))) == []
    assert queued_by(lambda: docs.put_invoice(COMPANY, builders.invoice(status="SENT"))) == ["invoice:inv-1"]
    assert queued_by(lambda: docs.put_invoice(COMPANY, builders.invoice(status="SENT"))) == []  # re-send
    assert queued_by(lambda: docs.put_invoice(COMPANY, builders.invoice(memo="Thanks"))) == []  # an edit
    assert queued_by(lambda: docs.put_estimate(COMPANY, estimate("DRAFT"))) == []
    assert queued_by(lambda: docs.put_estimate(COMPANY, estimate("SENT"))) == ["estimate:est-1"]
    assert queued_by(lambda: docs.put_estimate(COMPANY, estimate("ACCEPTED"))) == []
    assert queued_by(lambda: docs.put_payment(COMPANY, builders.payment())) == ["payment:p-1"]
    assert queued_by(lambda: docs.put_payment(COMPANY, builders.payment())) == []  # re-send
    assert queued_by(lambda: docs.put_payment(COMPANY, builders.payment(memo="cheque"))) == []
    assert queued_by(lambda: docs.put_invoice(COMPANY, builders.invoice(status="PAID", memo="Thanks"))) == []
    # Each queued document was marked on its row until it was embedded, and no other.
    assert embedded == {"invoice#inv-1", "estimate#est-1", "payment#p-1"}


def test_off_nothing_is_marked_nor_queued(tables: SimpleNamespace) -> None:
    docs = service(None)
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="DRAFT"))
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    docs.put_estimate(COMPANY, estimate("SENT"))
    docs.put_payment(COMPANY, builders.payment())
    assert marks() == {}


def test_a_lost_queue_write_keeps_the_document_and_the_sweep_queues_it(tables: SimpleNamespace) -> None:
    queue = EmbedQueue()
    docs = service(EmbedFeed(queue))
    seed(docs)
    queue.fail = True
    accepted = docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    assert accepted.created and queue.sent == []
    assert DocumentModel.get(COMPANY, "invoice#inv-1").status == "SENT"  # saved
    (since,) = marks().values()
    queue.fail = False
    sweep = EmbedSweep(
        documents=DocumentRepository(), queue=queue, grace_seconds=60, clock=lambda: since + 30
    )
    assert sweep.run() == 0  # within its grace: its message may still be on its way
    sweep = EmbedSweep(
        documents=DocumentRepository(), queue=queue, grace_seconds=60, clock=lambda: since + 61
    )
    assert sweep.run() == 1
    assert queue.sent == [EmbedJob(company_id=COMPANY, kind=DocumentKind.INVOICE, doc_id="inv-1")]
    # Re-dated: queued again only after another grace, not by every sweep.
    assert marks() == {"invoice#inv-1": since + 61}
    assert sweep.run() == 0
