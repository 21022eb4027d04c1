"""Push one invoice with everything it needs: customer, items, the invoice, its payments, their refunds.

Each step links before it creates (customer by e-mail then name, item by cleaned name, invoice by
DocNumber and marker, payment by customer, date and marker), records an intent before every write,
and stores the remote id and the hash of what was pushed. A second run with nothing changed makes
no write at all; an edit after a sync makes the invoice Out of Date until the next run updates it.

``InvoiceSync`` runs a job: it checks the connection, walks the documents and records the outcome
(history, notifications, the document's badge). The walk is made of parts, each given what it
needs: the push pattern (``push.py``), the invoice with its customer and items (``invoices.py``),
payments (``payments.py``), refunds (``refunds.py``), what is recorded once (``recorded.py``),
void and delete (``voids.py``) and what the provider cannot take (``unsupported.py``).
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable

from booksync import observability
from booksync.documents import DocumentKind, Invoice, InvoiceStatus
from booksync.errors import (
    BooksyncError,
    ConnectionDown,
    CurrencyNotBookable,
    DailyLimitReached,
    NeedsReconnection,
    OrganisationNotChosen,
    PaymentAccountNotChosen,
    ProviderError,
    Rejected,
    RemoteNotFound,
    TransientError,
    error_entry,
)
from booksync.providers.declaration import AnyDeclaration
from booksync.providers.port import AccountingProvider, CompanyCurrencies
from booksync.providers.profile import provider_label
from booksync.providers.registry import declaration
from booksync.store.claims import LinkClaims, LinkScope
from booksync.store.connections import ConnectionRepository, ConnectionStatus, organisation_not_chosen
from booksync.store.documents import DELETED, DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import ConnectionModel, DocumentModel, LinkMap, refused_link
from booksync.store.notifications import NotificationRepository
from booksync.store.runs import RunRepository, add_note
from booksync.sync.context import JobContext
from booksync.sync.currencies import company_currencies
from booksync.sync.invoices import InvoicePush
from booksync.sync.jobs import SyncJob
from booksync.sync.once import ExactlyOnce
from booksync.sync.payments import PaymentSync
from booksync.sync.push import Pusher
from booksync.sync.recorded import RecordedOnce
from booksync.sync.refunds import RefundSync
from booksync.sync.report import Outcome, SyncReport
from booksync.sync.unsupported import Unsupported
from booksync.sync.voids import InvoiceEnd

__all__ = ["AccountResolver", "InvoiceSync", "InvoiceWalk", "Outcome", "ProviderFactory", "SyncReport"]

logger = logging.getLogger(__name__)


ProviderFactory = Callable[[ConnectionModel], AccountingProvider]
AccountResolver = Callable[[ConnectionModel, AccountingProvider], str | None]


class InvoiceSync:
    """Runs one sync job. Raises only for what a retry can fix (rate limits, transient faults)."""

    def __init__(
        self,
        *,
        documents: DocumentRepository,
        connections: ConnectionRepository,
        intents: IntentRepository,
        runs: RunRepository,
        provider_for: ProviderFactory,
        income_account_for: AccountResolver,
        notifications: NotificationRepository | None = None,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        claims: LinkClaims | None = None,
        declarations: Callable[[str], AnyDeclaration] = declaration,
    ) -> None:
        self._declarations = declarations
        self._notifications = notifications
        self._claims = claims or LinkClaims()
        self._docs = documents
        self._connections = connections
        self._intents = intents
        self._runs = runs
        self._provider_for = provider_for
        self._income_account_for = income_account_for
        self._clock = clock
        self._owner = owner or uuid.uuid4().hex

    def run(self, job: SyncJob) -> SyncReport:
        now = self._clock()
        run = (
            self._runs.resume(job.company_id, job.run_id, now) if job.run_id else None
        ) or self._runs.start(
            job.company_id,
            provider=job.provider,
            kind=job.kind,
            trigger=job.trigger,
            subject=job.invoice_id,
            now=now,
            run_id=job.run_id,
        )
        report = SyncReport(invoice_id=job.invoice_id, outcome=Outcome.SYNCED, run_id=run.run_id)
        errors: list[dict[str, str | None]] = []
        try:
            self._run(job, report)
        except (NeedsReconnection, ConnectionDown, DailyLimitReached) as exc:
            if isinstance(exc, DailyLimitReached):  # left pending: the sweep queues it tomorrow
                self._connections.hold_until(job.company_id, job.provider, exc.resume_at, exc.message)
            report.outcome, report.error = Outcome.BLOCKED, exc.message
            self._record_invoice_error(job, exc, Outcome.BLOCKED)
            errors.append(error_entry(job.document, exc))
        except CurrencyNotBookable as exc:
            # Held until a person acts (multicurrency turned on, then Resync, which pushes its
            # payments too): not retried by the sweep, admins told once while it lasts.
            report.outcome, report.error = Outcome.BLOCKED, exc.message
            self._record_invoice_error(job, exc, Outcome.BLOCKED, settled=True)
            self._settle_payments(job)
            errors.append(error_entry(job.document, exc))
        except (Rejected, RemoteNotFound) as exc:
            report.outcome, report.error = Outcome.FAILED, exc.message
            self._record_invoice_error(job, exc, Outcome.FAILED)
            errors.append(error_entry(getattr(exc, "document", job.document), exc))
        except BaseException as exc:
            # Retryable: the message comes back; history shows the attempt and why.
            status = "retrying" if isinstance(exc, ProviderError) and exc.retryable else "failed"
            entry = (
                error_entry(job.document, exc)
                if isinstance(exc, BooksyncError)
                else {
                    "document": job.document,
                    "code": "internal_error",
                    "message": "An unexpected error stopped this sync; it will be retried.",
                    "fix": None,
                }
            )
            self._runs.finish(run, status=status, counts=report.counts, errors=[entry], now=self._clock())
            observability.documents_synced(report.counts)
            observability.sync_failed([entry["code"]])
            raise
        self._notify(job, report.outcome, errors + report.failures, run_id=report.run_id)
        if report.held:  # payments waiting for an admin's setting: one notification while it lasts
            self._notify(job, Outcome.BLOCKED, report.held, run_id=report.run_id)
        if report.failures and report.outcome == Outcome.SYNCED:
            report.outcome, report.error = Outcome.FAILED, report.failures[0]["message"]
            errors.extend(report.failures)
        status = {
            Outcome.SYNCED: "succeeded",
            Outcome.SKIPPED: "skipped",
            Outcome.BLOCKED: "parked",
            Outcome.NOT_SUPPORTED: "not_supported",
        }.get(report.outcome, "failed")
        if report.held:
            errors.extend(report.held)
            status = "parked" if status == "succeeded" else status
        for note in report.unsupported:
            add_note(job.company_id, run.run_id, note)
        self._runs.finish(run, status=status, counts=report.counts, errors=errors, now=self._clock())
        observability.documents_synced(report.counts)
        if status == "parked":
            observability.sync_parked()
        else:
            observability.sync_failed(error["code"] for error in errors)
        return report

    # -- the steps -------------------------------------------------------------------------------
    def _run(self, job: SyncJob, report: SyncReport) -> None:
        connection = self._connections.get(job.company_id, job.provider)
        if connection is not None and connection.status == ConnectionStatus.CONNECTION_DOWN:
            # The same failure as the job that found it (one notification for both), not "not connected".
            raise ConnectionDown(
                f"{provider_label(job.provider)} refuses booksync's access; the {job.kind} waits until it is "
                "reconnected.",
                provider=job.provider,
                fix="Reconnect the integration; waiting work resumes by itself.",
            )
        if connection is not None and connection.status == ConnectionStatus.CHOOSE_ORGANISATION:
            raise organisation_not_chosen(job.provider, f"the {job.kind}")
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            raise NeedsReconnection(
                f"{provider_label(job.provider)} is not connected; the {job.kind} waits until it is.",
                provider=job.provider,
                fix="Reconnect the integration; waiting work resumes by itself.",
            )
        try:
            self._sync(job, connection, report)
        except ConnectionDown as exc:
            self._mark_connection_down(job, connection, exc)
            raise

    def _sync(self, job: SyncJob, connection: ConnectionModel, report: SyncReport) -> None:
        if job.kind == "customer":
            row = self._docs.get(job.company_id, DocumentKind.CUSTOMER, job.invoice_id)
            if row is None:
                raise Rejected(
                    f"Customer {job.invoice_id} does not exist in booksync.",
                    provider=job.provider,
                    fix=f"Send the customer with PUT /customers/{job.invoice_id} first.",
                )
            self._walk(job, connection, report).invoices.customer_alone(row)
            self._connections.record_sync(job.company_id, job.provider, self._clock())
            return
        inv_row = self._docs.get(job.company_id, DocumentKind.INVOICE, job.invoice_id)
        if inv_row is None:
            raise Rejected(
                f"Invoice {job.invoice_id} does not exist in booksync.",
                provider=job.provider,
                fix="Send the invoice with PUT /invoices/{id} first.",
            )
        if inv_row.status == DELETED:
            self._walk(job, connection, report).ends.deleted(inv_row)
            return
        invoice: Invoice = self._docs.parse(inv_row)
        if invoice.status == InvoiceStatus.DRAFT:
            report.outcome = Outcome.SKIPPED
            return
        self._walk(job, connection, report).invoice_and_payments(inv_row, invoice)
        self._connections.record_sync(job.company_id, job.provider, self._clock())

    def _notify(
        self, job: SyncJob, outcome: str, errors: list[dict[str, str | None]], *, run_id: str | None
    ) -> None:
        """Admins hear once per failure type while it lasts, not once per failed job; the log hears
        every failed job."""
        if not errors:
            return
        first = errors[0]
        name = provider_label(job.provider)
        if outcome == Outcome.BLOCKED:
            # One per failure type: the provider's own code (3200...) does not make another type.
            kind = f"{job.provider}:{str(first['code']).partition(':')[0]}"
            title = {
                NeedsReconnection.code: f"{name} needs to be reconnected",
                OrganisationNotChosen.code: f"Choose which {name} organisation to connect",
                CurrencyNotBookable.code: f"An invoice's currency cannot be booked in {name}",
                DailyLimitReached.code: f"{name}'s daily limit reached: syncing resumes tomorrow",
                PaymentAccountNotChosen.code: f"Choose the account payments go into in {name}",
            }.get(kind.partition(":")[2], f"{name} connection is down")
        else:
            kind = f"{job.provider}:sync_failed:{first['code']}"
            title = f"A {first['document']} could not be synced to {name}"
        opened = self._notifications is not None and self._notifications.raise_once(
            job.company_id,
            kind,
            title=title,
            message=str(first["message"]),
            fix=first["fix"],
            now=self._clock(),
            # The documents it is about: once each of them syncs, it resolves itself (settle).
            subjects=[] if outcome == Outcome.BLOCKED else _failing(errors, first["code"]),
        )
        # One line a person can act on: which document of which company, where, what kind of
        # error and why (the messages are the ones users see: no token or secret is in them).
        logger.warning(
            "sync failed",
            extra={
                "company_id": job.company_id,
                "provider": job.provider,
                "invoice_id": job.invoice_id,
                "document": first["document"],
                "error_kind": first["code"],
                "reason": first["message"],
                "fix": first["fix"],
                "outcome": outcome,
                "run_id": run_id,
                "trigger": job.trigger,
                "other_errors": errors[1:],
                "notification": kind,
                "new_notification": opened,
            },
        )

    def _walk(self, job: SyncJob, connection: ConnectionModel, report: SyncReport) -> InvoiceWalk:
        """The parts one job's walk through its documents is made of, over the connection's provider."""
        provider = self._provider_for(connection)
        declared = self._declarations(job.provider)
        context = JobContext(
            company=job.company_id,
            provider=job.provider,
            documents=self._docs,
            report=report,
            clock=self._clock,
        )
        once = ExactlyOnce(self._intents, owner=self._owner, provider=job.provider, clock=self._clock)
        settle = functools.partial(self.settle, job)
        pusher = Pusher(
            context,
            once=once,
            declared=declared,
            claims=self._claims,
            scope=LinkScope.of(connection),
            settle=settle,
        )
        unsupported = Unsupported(context)
        recorded = RecordedOnce(context, once=once, pusher=pusher)
        settings = connection.settings
        payment_account = settings.payment_account_id if settings is not None else None
        refunds = RefundSync(
            context,
            provider=provider,
            declared=declared,
            recorded=recorded,
            unsupported=unsupported,
            # Refunds come out of their own account, else the one payments go into.
            from_account_id=(settings.refunds_from_account_id if settings is not None else None)
            or payment_account,
        )
        invoices = InvoicePush(
            context,
            provider=provider,
            declared=declared,
            pusher=pusher,
            currencies=lambda fresh: self.currencies(connection, provider, fresh=fresh),
            income_account_for=lambda: self._income_account_for(connection, provider),
            settle=settle,
        )
        ends = InvoiceEnd(
            context, provider=provider, declared=declared, once=once, pusher=pusher, unsupported=unsupported
        )
        return InvoiceWalk(
            context,
            invoices=invoices,
            ends=ends,
            payments=lambda walk: PaymentSync(
                context,
                provider=provider,
                declared=declared,
                recorded=recorded,
                unsupported=unsupported,
                refunds=refunds,
                sync_invoice=walk.invoice_and_payments,
                payment_account_id=payment_account,
            ),
        )

    def settle(self, job: SyncJob, row: DocumentModel, failed: LinkMap | None) -> None:
        """``row`` synced after it had failed: its failure's notification no longer counts it."""
        if self._notifications is None or failed is None or failed.outcome != Outcome.FAILED:
            return
        if failed.error_code:
            kind = f"{job.provider}:sync_failed:{failed.error_code}"
            self._notifications.settle(job.company_id, kind, f"{row.kind} {row.doc_id}", self._clock())

    def _mark_connection_down(self, job: SyncJob, used: ConnectionModel, exc: ConnectionDown) -> None:
        """A 401/403 right after a refresh: stop auto-sync trying until the user reconnects; unless
        an admin reconnected since the job read ``used``: the refusal was the old connection's, and
        the job is retried (the message comes back) on the new one, which stays Connected."""
        if not self._connections.mark_down(used, message=exc.message):
            raise TransientError(
                f"{provider_label(job.provider)} refused the connection this {job.kind}'s sync used, "
                "and it was reconnected since; the sync is retried with the new connection.",
                provider=job.provider,
            ) from exc

    def currencies(
        self, connection: ConnectionModel, provider: AccountingProvider, *, fresh: bool = False
    ) -> CompanyCurrencies:
        return company_currencies(self._connections, connection, provider, self._clock(), fresh=fresh)

    def _record_invoice_error(
        self, job: SyncJob, exc: BooksyncError, outcome: str, *, settled: bool = False
    ) -> None:
        row = self._docs.get(job.company_id, DocumentKind(job.kind), job.invoice_id)
        if row is None:
            return
        link = refused_link(row.link(job.provider), exc, outcome)
        self._docs.save_link(row, job.provider, link)
        if outcome == Outcome.FAILED or settled:
            # A person must act (edit, map, rename); the sweep would only repeat the refusal.
            self._docs.clear_pending(row, row.content_hash)

    def _settle_payments(self, job: SyncJob) -> None:
        """The held invoice's payments and refunds wait with it: no sweep re-queues them."""
        row = self._docs.get(job.company_id, DocumentKind.INVOICE, job.invoice_id)
        if row is None or not row.payment_ids:
            return
        payments = self._docs.get_many(job.company_id, DocumentKind.PAYMENT, sorted(row.payment_ids))
        refund_ids = sorted({rid for payment in payments.values() for rid in payment.refund_ids or ()})
        refunds = self._docs.get_many(job.company_id, DocumentKind.REFUND, refund_ids)
        for waiting in [*payments.values(), *refunds.values()]:
            if waiting.pending_bucket:
                self._docs.clear_pending(waiting, waiting.content_hash)


def _failing(errors: list[dict[str, str | None]], code: str | None) -> list[str]:
    """The documents (``invoice inv-1``, ``payment p-1``) that failed with ``code``."""
    return [str(e["document"]) for e in errors if e["code"] == code and e["document"]]


class InvoiceWalk:
    """One job's walk through an invoice's documents: the invoice with its customer and items, then
    its payments (which may sync another invoice of a payment across invoices first, through this
    walk) and their refunds; or the invoice's end in the books (void, deleted)."""

    def __init__(
        self,
        context: JobContext,
        *,
        invoices: InvoicePush,
        ends: InvoiceEnd,
        payments: Callable[[InvoiceWalk], PaymentSync],
    ) -> None:
        self._context = context
        self.invoices = invoices
        self.ends = ends
        self.payments = payments(self)

    def invoice_and_payments(self, row: DocumentModel, invoice: Invoice) -> None:
        link = self._context.link(row)
        if invoice.status == InvoiceStatus.VOID:
            self.ends.void(row, link)
            return
        customer_id, remote_invoice_id = self.invoices.push(row, link, invoice)
        self.payments.push_all(row, customer_id, remote_invoice_id, invoice.currency)
