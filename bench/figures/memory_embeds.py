"""How often the billing memory embeds a document over its whole life (``memory.embeds_per_document``).

The feed as the API runs it (``DocumentService`` with ``EmbedFeed``, RAG_BILLING_EMBED_ENABLED on)
and the embed job (``EmbedWorker`` with ``MemoryIndexer``, the local embedder, MemoryTable), on
moto server. Each message is delivered twice (SQS delivers at least once). Each invoice lives as
an app drives one: saved as a draft, edited, sent, sent again unchanged, edited while sent, paid
by two payments, then saved PAID; each estimate: a draft, sent, accepted. The figure is the texts
the embedder received, per document (invoices, estimates and payments); goal 2 (issue 18: once
when sent, once more when paid).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from bench.figure import Figure, Goal

INVOICES = 20
ESTIMATES = 10
COMPANY = "co-bench-embeds"


def measure() -> list[Figure]:
    from booksync.documents import Estimate
    from booksync.memory.feed import EmbedFeed, EmbedJob
    from booksync.memory.indexer import MemoryIndexer
    from booksync.memory.ingest import EmbedWorker
    from booksync.memory.local_embedder import HashedNgramEmbedder
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.memory import DynamoRecordStore, DynamoVectorStore
    from booksync.store.runs import RunRepository
    from booksync.sync.jobs import SyncJob
    from booksync.sync.records import DocumentService

    from bench.figures.catalog_sync import _aws
    from tests import builders
    from tests.conftest import fresh_tables
    from tests.fakes.memory import CountingEmbedder

    class Queues:
        """The service's two queues, in memory: sync jobs (none here, no books are connected) and
        embed jobs."""

        def __init__(self) -> None:
            self.jobs: list[SyncJob] = []
            self.sent: list[EmbedJob] = []

        def enqueue(self, jobs: Sequence[SyncJob]) -> None:
            self.jobs += jobs

        def send(self, jobs: Sequence[EmbedJob]) -> None:
            self.sent += jobs

    with _aws(), fresh_tables():
        queue = Queues()
        docs = DocumentService(
            documents=DocumentRepository(),
            connections=ConnectionRepository(),
            runs=RunRepository(),
            queue=queue,
            embeds=EmbedFeed(queue),
        )
        embedder = CountingEmbedder(HashedNgramEmbedder())
        indexer = MemoryIndexer(embedder, DynamoRecordStore(), DynamoVectorStore())
        worker = EmbedWorker(documents=DocumentRepository(), indexer=lambda: indexer, enabled=True)
        delivered = 0

        def deliver() -> None:
            nonlocal delivered
            for job in queue.sent[delivered:]:
                for _ in range(2):  # at least once: every message twice
                    worker.handle(job.model_dump_json())
            delivered = len(queue.sent)

        docs.put_customer(COMPANY, builders.customer())
        docs.put_item(COMPANY, builders.item("i-1", name="Water heater install", unit_cost="900.00"))
        docs.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
        tag = uuid.uuid4().hex[:6]
        for n in range(INVOICES):
            iid = f"inv-{tag}-{n}"
            for status, memo in (("DRAFT", None), ("DRAFT", "Edited"), ("SENT", "Edited")):
                docs.put_invoice(COMPANY, builders.invoice(iid, status=status, memo=memo))
            deliver()
            docs.put_invoice(COMPANY, builders.invoice(iid, status="SENT", memo="Edited"))  # sent again
            docs.put_invoice(COMPANY, builders.invoice(iid, status="SENT", memo="Edited while sent"))
            deliver()
            for pid, amount in ((f"p-{iid}-1", "200.00"), (f"p-{iid}-2", "180.00")):
                docs.put_payment(COMPANY, builders.payment(pid, amount, invoice_id=iid))
                deliver()
            docs.put_invoice(COMPANY, builders.invoice(iid, status="PAID", memo="Edited while sent"))
            deliver()
        for n in range(ESTIMATES):
            body = builders.invoice(f"est-{tag}-{n}").model_dump(mode="json")
            del body["due_date"]
            for status in ("DRAFT", "SENT", "ACCEPTED"):
                docs.put_estimate(COMPANY, Estimate.model_validate({**body, "status": status}))
                deliver()

    by_kind: Counter[str] = Counter(
        text.split(" ", 1)[0].lower() for texts, _ in embedder.calls for text in texts
    )
    documents = {"invoice": INVOICES, "payment": 2 * INVOICES, "estimate": ESTIMATES}
    embeds = sum(by_kind.values())
    each = ", ".join(f"{kind} {by_kind[kind] / count:g}" for kind, count in documents.items())
    return [
        Figure(
            "memory.embeds_per_document",
            round(embeds / sum(documents.values()), 3),
            "embeds",
            Goal("<=", 2),
            note=f"{embeds} texts embedded for {sum(documents.values())} documents over their life "
            f"(each message delivered twice); per document: {each}",
        )
    ]
