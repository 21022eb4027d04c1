"""The billing memory's feed over moto: status changes marked and queued (never every save), a
lost queue write recovered by the sweep, and queue -> EmbedBillingFunction -> MemoryTable."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.memory.feed import EmbedFeed, EmbedJob, SqsEmbedQueue
from booksync.memory.ingest import EmbedSweep
from booksync.memory.ports import Embedded, InputType
from booksync.memory.prices import PriceBook, PriceQuery
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.memory import DynamoRecordStore
from booksync.store.models import DocumentModel
from booksync.store.runs import RunRepository
from booksync.sync.records import DocumentService

from tests import builders
from tests.integration.test_invoice_sync_engine import ListQueue
from tests.lambda_env import Context, handlers, receive_sqs_event
from tests.unit.test_memory_feed import Queue as EmbedQueue

COMPANY = "acme"


def service(embeds: EmbedFeed | None, clock: Callable[[], float] = time.time) -> DocumentService:
    return DocumentService(
        documents=DocumentRepository(),
        connections=ConnectionRepository(),
        runs=RunRepository(),
        queue=ListQueue(),
        clock=clock,
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
    assert queued_by(lambda: docs.put_estimate(COMPANY, estimate("ACCEPTED"))) == ["estimate:est-1"]
    assert queued_by(lambda: docs.put_estimate(COMPANY, estimate("ACCEPTED"))) == []  # re-send
    assert queued_by(lambda: docs.put_payment(COMPANY, builders.payment())) == ["payment:p-1"]
    assert queued_by(lambda: docs.put_payment(COMPANY, builders.payment())) == []  # re-send
    assert queued_by(lambda: docs.put_payment(COMPANY, builders.payment(memo="cheque"))) == []
    paid = builders.invoice(status="PAID", memo="Thanks")
    assert queued_by(lambda: docs.put_invoice(COMPANY, paid)) == ["invoice:inv-1"]  # its new stage
    assert queued_by(lambda: docs.put_invoice(COMPANY, paid)) == []  # re-send
    # Each queued document was marked on its row until it was embedded, and no other.
    assert embedded == {"invoice#inv-1", "estimate#est-1", "payment#p-1"}


def test_a_stage_reached_while_the_last_one_is_embedded_is_embedded_too(tables: SimpleNamespace) -> None:
    """Marked SENT at t1, its job reads the row (the t1 mark); the invoice is saved PAID at t2
    before that job ends. The PAID save re-dates the mark and queues its own job, and the first
    job's clear fails its condition (the mark is no longer the one it read): the PAID stage is
    embedded, never dropped between two jobs."""
    queue = EmbedQueue()
    now = [1.0]
    docs = service(EmbedFeed(queue), clock=lambda: now[0])
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    assert len(queue.sent) == 1
    read_by_first_job = DocumentRepository().get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert read_by_first_job is not None and read_by_first_job.embed_since == 1.0
    now[0] = 2.0
    docs.put_invoice(COMPANY, builders.invoice(status="PAID"))
    assert queue.sent == [EmbedJob(company_id=COMPANY, kind=DocumentKind.INVOICE, doc_id="inv-1")] * 2
    assert DocumentRepository().clear_embed(read_by_first_job) is False
    assert marks() == {"invoice#inv-1": 2.0}


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


# -- queue -> EmbedBillingFunction -> MemoryTable --------------------------------------------------


class CountingEmbedder:
    """The local embedder, counting what it is asked."""

    def __init__(self) -> None:
        from booksync.memory.local_embedder import HashedNgramEmbedder

        self.inner = HashedNgramEmbedder()
        self.texts: list[str] = []
        self.meanwhile: Callable[[], None] | None = None  # run once, inside the next embed call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        self.texts += texts
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self.inner.embed(texts, input_type)


@pytest.fixture
def embed_stack(
    tables: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[SimpleNamespace]:
    on = getattr(request, "param", True)
    url = boto3.client("sqs").create_queue(QueueName=f"embed-{id(request)}")["QueueUrl"]
    embedder = CountingEmbedder()
    monkeypatch.setattr("booksync.wiring.memory_embedder", lambda: embedder)
    env = {
        "STAGE": "dev",
        "POWERTOOLS_SERVICE_NAME": "booksync-test",
        "RAG_BILLING_EMBED_ENABLED": "true" if on else "false",
        "DOCUMENTS_TABLE": tables.documents_table,
        "MEMORY_TABLE": tables.memory_table,
        "EMBED_BILLING_QUEUE_URL": url,
    }
    with handlers(env, {"embed_billing": "functions.embed_billing.handler"}) as fns:
        docs = service(EmbedFeed(SqsEmbedQueue(url)))
        yield SimpleNamespace(fns=fns, docs=docs, url=url, embedder=embedder)


def test_sent_documents_and_a_payment_reach_the_memory_once(embed_stack: SimpleNamespace) -> None:
    docs = embed_stack.docs
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    docs.put_estimate(COMPANY, estimate("SENT"))
    event = receive_sqs_event(embed_stack.url)
    assert len(event["Records"]) == 2
    assert embed_stack.fns.embed_billing.handler(event, Context()) == {"batchItemFailures": []}
    store = DynamoRecordStore()
    invoice = store.get(COMPANY, "invoice#inv-1")
    assert invoice is not None and invoice.status == "sent" and invoice.customer_name == "Ada Lovelace"
    assert [line.item_name for line in invoice.lines] == ["Water heater install", "Trip charge"]
    assert (
        invoice.lines[0].unit_cost is not None and str(invoice.lines[0].unit_cost) == "900.00"
    )  # the item's
    quoted = store.get(COMPANY, "estimate#est-1")
    assert quoted is not None and str(quoted.lines[1].unit_cost) == "35.00"  # the estimate line's own
    assert len(embed_stack.embedder.texts) == 2 and marks() == {}
    # A redelivery (or a sweep's duplicate) embeds nothing again: the content is unchanged.
    assert embed_stack.fns.embed_billing.handler(event, Context()) == {"batchItemFailures": []}
    assert len(embed_stack.embedder.texts) == 2
    # Paid: the payment is embedded, and its invoice (now PAID) once more; that is its whole life.
    docs.put_invoice(COMPANY, builders.invoice(status="PAID"))
    docs.put_payment(COMPANY, builders.payment(amount="380.00"))
    event = receive_sqs_event(embed_stack.url)
    assert sorted(json.loads(r["body"])["kind"] for r in event["Records"]) == ["invoice", "payment"]
    assert embed_stack.fns.embed_billing.handler(event, Context()) == {"batchItemFailures": []}
    payment = store.get(COMPANY, "payment#p-1")
    assert payment is not None and payment.invoice_id == "inv-1" and payment.customer_name == "Ada Lovelace"
    paid = store.get(COMPANY, "invoice#inv-1")
    assert paid is not None and paid.status == "paid"
    assert len(embed_stack.embedder.texts) == 4  # invoice twice, estimate once, payment once


def embed_all_queued(embed_stack: SimpleNamespace) -> None:
    event = receive_sqs_event(embed_stack.url)
    assert event["Records"], "the save queued nothing to embed"
    assert embed_stack.fns.embed_billing.handler(event, Context()) == {"batchItemFailures": []}


def test_an_invoice_paid_after_its_payment_or_voided_is_never_kept_as_sent(
    embed_stack: SimpleNamespace,
) -> None:
    """The usual order: the payment is recorded while the invoice is SENT (its re-read finds it
    sent), then the invoice is saved PAID; and a sent invoice voided. The memory holds each as it
    is now, and a void one is no charge in the price facts."""
    docs = embed_stack.docs
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    docs.put_invoice(COMPANY, builders.invoice("inv-2", status="SENT"))
    embed_all_queued(embed_stack)
    docs.put_payment(COMPANY, builders.payment(amount="380.00"))
    embed_all_queued(embed_stack)
    docs.put_invoice(COMPANY, builders.invoice(status="PAID"))
    docs.put_invoice(COMPANY, builders.invoice("inv-2", status="VOID"))
    embed_all_queued(embed_stack)
    store = DynamoRecordStore()
    paid, void = store.get(COMPANY, "invoice#inv-1"), store.get(COMPANY, "invoice#inv-2")
    assert paid is not None and paid.status == "paid"
    assert void is not None and void.status == "void"
    facts = PriceBook(store).facts(COMPANY, PriceQuery(item="i-1"))
    assert [f.times_charged for f in facts.by_currency] == [1]  # inv-1 only: inv-2 was voided


@pytest.mark.parametrize("slow", ["invoice", "payment"])
def test_a_slow_job_never_leaves_an_older_stage_over_a_newer_one(
    embed_stack: SimpleNamespace, slow: str
) -> None:
    """The SENT invoice's job (or the job of a payment recorded on it while SENT, which embeds the
    invoice too) is still embedding when the invoice is saved PAID and the PAID job runs and
    finishes first. The slow job then writes its SENT record over the PAID one; it reads the
    invoice again, finds it changed, and indexes it as it is now: the memory ends PAID."""
    docs = embed_stack.docs
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    sent_job = receive_sqs_event(embed_stack.url)
    if slow == "payment":  # recorded before the invoice's own SENT job ran (that one is dropped)
        docs.put_payment(COMPANY, builders.payment(amount="380.00"))
        sent_job = receive_sqs_event(embed_stack.url)
        assert [json.loads(r["body"])["kind"] for r in sent_job["Records"]] == ["payment"]

    def paid_and_embedded_meanwhile() -> None:
        docs.put_invoice(COMPANY, builders.invoice(status="PAID"))
        (paid_job,) = receive_sqs_event(embed_stack.url)["Records"]
        assert embed_stack.fns.embed_billing.worker().handle(paid_job["body"]) == 1
        stored = DynamoRecordStore().get(COMPANY, "invoice#inv-1")
        assert stored is not None and stored.status == "paid"

    embed_stack.embedder.meanwhile = paid_and_embedded_meanwhile
    assert embed_stack.fns.embed_billing.handler(sent_job, Context()) == {"batchItemFailures": []}
    assert embed_stack.embedder.meanwhile is None  # the PAID job did run inside the SENT one
    stored = DynamoRecordStore().get(COMPANY, "invoice#inv-1")
    assert stored is not None and stored.status == "paid"
    assert marks() == {}


def test_a_document_that_keeps_changing_fails_its_message_and_keeps_its_mark(tables: SimpleNamespace) -> None:
    """Edited again during every indexing: after ``ROUNDS`` the job gives up with a typed error
    (the message is received again later), never clearing a mark whose document it did not index
    as stored."""
    from booksync.errors import ConcurrentChange
    from booksync.memory.ingest import ROUNDS, EmbedWorker

    docs = service(EmbedFeed(EmbedQueue()))
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    edits: list[int] = []

    class EditingIndexer:
        def index(self, records: Sequence[Any]) -> None:
            edits.append(len(records))
            docs.put_invoice(COMPANY, builders.invoice(status="SENT", memo=f"edit {len(edits)}"))

    worker = EmbedWorker(documents=DocumentRepository(), indexer=EditingIndexer, enabled=True)
    job = EmbedJob(company_id=COMPANY, kind=DocumentKind.INVOICE, doc_id="inv-1")
    with pytest.raises(ConcurrentChange, match="kept changing"):
        worker.handle(job.model_dump_json())
    assert edits == [1] * ROUNDS
    assert list(marks()) == ["invoice#inv-1"]


def test_a_bad_message_fails_alone(embed_stack: SimpleNamespace) -> None:
    seed(embed_stack.docs)
    embed_stack.docs.put_invoice(COMPANY, builders.invoice(status="SENT"))
    event = receive_sqs_event(embed_stack.url)
    bad = {
        **event["Records"][0],
        "messageId": "bad-1",
        "body": json.dumps({"company_id": COMPANY, "kind": "customer", "doc_id": "c-1"}),
    }
    answer = embed_stack.fns.embed_billing.handler({"Records": [*event["Records"], bad]}, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert DynamoRecordStore().get(COMPANY, "invoice#inv-1") is not None


@pytest.mark.parametrize("embed_stack", [False], indirect=True)
def test_off_a_message_embeds_nothing_and_no_embedding_call_is_made(embed_stack: SimpleNamespace) -> None:
    seed(embed_stack.docs)
    embed_stack.docs.put_invoice(COMPANY, builders.invoice(status="SENT"))  # queued by a feed built on
    event = receive_sqs_event(embed_stack.url)
    assert embed_stack.fns.embed_billing.handler(event, Context()) == {"batchItemFailures": []}
    assert embed_stack.embedder.texts == []
    assert DynamoRecordStore().get(COMPANY, "invoice#inv-1") is None


def test_the_scheduler_queues_a_document_whose_embed_message_was_lost(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str
) -> None:
    """The deployed path of the recovery: SchedulerFunction's sweep task, the feed on."""
    from tests.lambda_env import environment

    url = boto3.client("sqs").create_queue(QueueName="embed-lost")["QueueUrl"]
    queue = EmbedQueue()
    queue.fail = True
    docs = service(EmbedFeed(queue))
    seed(docs)
    docs.put_invoice(COMPANY, builders.invoice(status="SENT"))  # saved; its message lost
    env = environment(
        tables,
        queue_url=sqs_queue,
        key_id=kms_key,
        qbo_url="http://127.0.0.1:9",
        client_id="client-id-for-tests",
        client_secret="secret-for-tests",
        idempotency_table="unused",
    ) | {
        "RAG_BILLING_EMBED_ENABLED": "true",
        "EMBED_BILLING_QUEUE_URL": url,
        "EMBED_SWEEP_GRACE_SECONDS": "0",
    }
    with handlers(env, {"scheduler": "functions.scheduler.handler"}) as fns:
        result = fns.scheduler.handler({"task": "sweep"}, Context())
    assert result["embeds_requeued"] == 1
    bodies = [json.loads(r["body"]) for r in receive_sqs_event(url)["Records"]]
    assert bodies == [{"company_id": COMPANY, "kind": "invoice", "doc_id": "inv-1"}]
