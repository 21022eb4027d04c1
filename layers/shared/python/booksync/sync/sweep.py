"""The five-minute sweep: queue every out-of-date invoice and customer, and every unsynced payment or
refund, again.

It reads the sparse pending index only (never a scan). Work whose connection is not usable is
left pending (parked) and is picked up by the first sweep after the user reconnects; payments
(and their refunds) for books that need the account payments go into, while none is chosen, are
left pending too, and queued once an admin chooses it (``resume``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from booksync.documents import DocumentKind, payment_invoice_ids
from booksync.errors import SeveralBooks
from booksync.providers.registry import declaration
from booksync.store.connections import ConnectionRepository, ConnectionStatus, held
from booksync.store.documents import DocumentRepository, pending_bucket, pending_buckets
from booksync.store.models import ConnectionModel, DocumentModel
from booksync.store.runs import RunRepository
from booksync.sync.jobs import JobKind, JobQueue, SyncJob

# A payment or refund is pushed by its (first) invoice's job; a customer (auto_sync_customers) by its own.
SWEPT = (DocumentKind.INVOICE, DocumentKind.PAYMENT, DocumentKind.REFUND, DocumentKind.CUSTOMER)
# The setting that lets the sweep queue each kind of job.
SETTING: dict[JobKind, str] = {"invoice": "auto_sync_invoices", "customer": "auto_sync_customers"}


@dataclass
class SweepReport:
    queued: int = 0
    parked: int = 0
    skipped_auto_sync_off: int = 0
    companies: set[str] = field(default_factory=set)


class Sweep:
    def __init__(
        self,
        *,
        documents: DocumentRepository,
        connections: ConnectionRepository,
        runs: RunRepository,
        queue: JobQueue,
        grace_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._docs = documents
        self._connections = connections
        self._runs = runs
        self._queue = queue
        self._grace = grace_seconds
        self._clock = clock

    def run(self) -> SweepReport:
        now = self._clock()
        return self._queue_pending(self._pending(now - self._grace), now)

    def resume(self, company_id: str) -> SweepReport:
        """Right after a (re)connection: queue the company's parked work now, without the grace."""
        now = self._clock()
        rows = (
            row
            for kind in SWEPT
            for row in self._docs.pending(pending_bucket(kind, company_id), older_than=now)
            if row.company_id == company_id
        )
        return self._queue_pending(rows, now)

    def _queue_pending(self, rows: Iterable[DocumentModel], now: float) -> SweepReport:
        report = SweepReport()
        # Each job, and whether only payments or refunds want it (they may wait on their own).
        wanted: dict[tuple[str, JobKind, str], bool] = {}
        for row in rows:
            if row.kind == DocumentKind.CUSTOMER.value:
                wanted[(row.company_id, "customer", row.doc_id)] = False
                continue
            invoice_id = self._invoice_of(row)
            if invoice_id is not None:
                key: tuple[str, JobKind, str] = (row.company_id, "invoice", invoice_id)
                wanted[key] = wanted.get(key, True) and row.kind != DocumentKind.INVOICE.value
        connections: dict[str, ConnectionModel | None] = {}
        jobs: list[SyncJob] = []
        for (company_id, kind, doc_id), payments_only in wanted.items():
            if company_id not in connections:
                try:
                    connections[company_id] = self._connections.accounting_connection(company_id)
                except SeveralBooks:
                    connections[company_id] = None  # which keeps the books is not known: held
            connection = connections[company_id]
            # Not connected, several connected, or its provider's daily limit reached: left
            # pending (parked) until then.
            if connection is None or connection.status != ConnectionStatus.CONNECTED or held(connection, now):
                report.parked += 1
                continue
            if payments_only and _payments_wait(connection):
                report.parked += 1  # until an admin chooses the account payments go into
                continue
            if not getattr(connection.settings, SETTING[kind]):
                report.skipped_auto_sync_off += 1
                continue
            run = self._runs.start(
                company_id,
                provider=connection.provider,
                kind=kind,
                trigger="sweep",
                subject=doc_id,
                now=now,
                status="queued",
            )
            jobs.append(
                SyncJob(
                    company_id=company_id,
                    invoice_id=doc_id,
                    kind=kind,
                    provider=connection.provider,
                    trigger="sweep",
                    run_id=run.run_id,
                )
            )
            report.companies.add(company_id)
        self._queue.enqueue(jobs)
        report.queued = len(jobs)
        return report

    def _invoice_of(self, row: DocumentModel) -> str | None:
        """The invoice whose sync job pushes ``row`` (a payment's or refund's first invoice)."""
        if row.kind == DocumentKind.INVOICE.value:
            return row.doc_id
        body = row.body
        if row.kind == DocumentKind.REFUND.value:
            payment = self._docs.get(row.company_id, DocumentKind.PAYMENT, str(body.get("payment_id")))
            if payment is None:
                return None
            body = payment.body
        invoice_ids = payment_invoice_ids(body)
        return invoice_ids[0] if invoice_ids else None

    def _pending(self, older_than: float) -> Iterable[DocumentModel]:
        for kind in SWEPT:
            for bucket in pending_buckets(kind):
                yield from self._docs.pending(bucket, older_than=older_than)


def _payments_wait(connection: ConnectionModel) -> bool:
    """Payments to ``connection``'s books wait for the account they go into (required, none chosen)."""
    settings = connection.settings
    return declaration(connection.provider).payments_wait(settings.payment_account_id if settings else None)
