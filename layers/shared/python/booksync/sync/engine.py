"""Push one invoice with everything it needs: customer, items, the invoice, its payments, their refunds.

Each step links before it creates (customer by e-mail then name, item by cleaned name, invoice by
DocNumber and marker, payment by customer, date and marker), records an intent before every write,
and stores the remote id and the hash of what was pushed. A second run with nothing changed makes
no write at all; an edit after a sync makes the invoice Out of Date until the next run updates it.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from booksync import observability
from booksync.documents import Customer, DocumentKind, Invoice, InvoiceStatus, Item, Payment, Refund, marker
from booksync.errors import (
    BooksyncError,
    Conflict,
    ConnectionDown,
    CurrencyNotBookable,
    DailyLimitReached,
    DuplicateName,
    NeedsReconnection,
    OrganisationNotChosen,
    ProviderError,
    Rejected,
    RemoteNotFound,
    error_entry,
)
from booksync.providers.declaration import AnyDeclaration, Capability, NotSupported
from booksync.providers.port import (
    AccountingProvider,
    CompanyCurrencies,
    InvoiceRefs,
    ItemRefs,
    Named,
    PaymentRefs,
    RefundRefs,
    RemoteObject,
)
from booksync.providers.profile import profile, provider_label
from booksync.providers.registry import declaration
from booksync.store.claims import LinkClaims, LinkScope
from booksync.store.connections import ConnectionRepository, ConnectionStatus, organisation_not_chosen
from booksync.store.documents import DELETED, DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import (
    ConnectionModel,
    DocumentModel,
    LinkMap,
    link_generation,
    link_pushes,
    new_link,
    refused_link,
)
from booksync.store.notifications import NotificationRepository
from booksync.store.runs import RunRepository, add_note
from booksync.sync.accounts import item_income_account
from booksync.sync.currencies import company_currencies
from booksync.sync.jobs import SyncJob
from booksync.sync.naming import name_link
from booksync.sync.once import ExactlyOnce, WriteResult

logger = logging.getLogger(__name__)

T = TypeVar("T")
CONFLICT_RETRIES = 3


class Outcome:
    SYNCED = "synced"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    DELETED = "deleted"
    # The provider cannot do it (its declaration says so): said on the document and in history,
    # never retried nor notified.
    NOT_SUPPORTED = "not_supported"


@dataclass
class SyncReport:
    invoice_id: str
    outcome: str
    run_id: str | None
    counts: Counter[str] = field(default_factory=Counter)
    remote_invoice_id: str | None = None
    error: str | None = None
    # Documents refused on their own (a payment) while the rest of the invoice synced.
    failures: list[dict[str, str | None]] = field(default_factory=list)
    # Documents the provider cannot take (a payment where it has none): the run's notes.
    unsupported: list[dict[str, str | None]] = field(default_factory=list)


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
            if isinstance(exc, ConnectionDown):
                self._mark_connection_down(job, exc)
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
        if report.failures and report.outcome == Outcome.SYNCED:
            report.outcome, report.error = Outcome.FAILED, report.failures[0]["message"]
            errors.extend(report.failures)
        status = {
            Outcome.SYNCED: "succeeded",
            Outcome.SKIPPED: "skipped",
            Outcome.BLOCKED: "parked",
            Outcome.NOT_SUPPORTED: "not_supported",
        }.get(report.outcome, "failed")
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
                f"{job.provider} refuses booksync's access; the {job.kind} waits until it is reconnected.",
                provider=job.provider,
                fix="Reconnect the integration; waiting work resumes by itself.",
            )
        if connection is not None and connection.status == ConnectionStatus.CHOOSE_ORGANISATION:
            raise organisation_not_chosen(job.provider, f"the {job.kind}")
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            raise NeedsReconnection(
                f"{job.provider} is not connected; the {job.kind} waits until it is.",
                provider=job.provider,
                fix="Reconnect the integration; waiting work resumes by itself.",
            )
        if job.kind == "customer":
            row = self._docs.get(job.company_id, DocumentKind.CUSTOMER, job.invoice_id)
            if row is None:
                raise Rejected(
                    f"Customer {job.invoice_id} does not exist in booksync.",
                    provider=job.provider,
                    fix=f"Send the customer with PUT /customers/{job.invoice_id} first.",
                )
            _Step(self, job, self._provider_for(connection), connection, report).customer_alone(row)
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
            _Step(self, job, self._provider_for(connection), connection, report).deleted(inv_row)
            return
        invoice: Invoice = self._docs.parse(inv_row)
        if invoice.status == InvoiceStatus.DRAFT:
            report.outcome = Outcome.SKIPPED
            return
        provider = self._provider_for(connection)
        step = _Step(self, job, provider, connection, report)
        step.invoice_and_payments(inv_row, invoice)
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
            # The documents it is about: once each of them syncs, it resolves itself (_settle).
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

    def _settle(self, job: SyncJob, row: DocumentModel, failed: LinkMap | None) -> None:
        """``row`` synced after it had failed: its failure's notification no longer counts it."""
        if self._notifications is None or failed is None or failed.outcome != Outcome.FAILED:
            return
        if failed.error_code:
            kind = f"{job.provider}:sync_failed:{failed.error_code}"
            self._notifications.settle(job.company_id, kind, f"{row.kind} {row.doc_id}", self._clock())

    def _mark_connection_down(self, job: SyncJob, exc: ConnectionDown) -> None:
        """A 401 right after a refresh: stop auto-sync trying until the user reconnects."""
        row = self._connections.get(job.company_id, job.provider)
        if row is not None and row.status == ConnectionStatus.CONNECTED:
            self._connections.mark_broken(
                row, status=ConnectionStatus.CONNECTION_DOWN, code="unauthorized", message=exc.message
            )

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


def _apply_update(
    update: Callable[[RemoteObject, str], RemoteObject], current: RemoteObject, request_id: str
) -> RemoteObject:
    return update(current, request_id)


def _failing(errors: list[dict[str, str | None]], code: str | None) -> list[str]:
    """The documents (``invoice inv-1``, ``payment p-1``) that failed with ``code``."""
    return [str(e["document"]) for e in errors if e["code"] == code and e["document"]]


class _Step:
    """One job's walk through the documents; holds what the job has learnt so far."""

    def __init__(
        self,
        engine: InvoiceSync,
        job: SyncJob,
        provider: AccountingProvider,
        connection: ConnectionModel,
        report: SyncReport,
    ) -> None:
        self.e = engine
        self.job = job
        self.p = provider
        self.connection = connection
        self.report = report
        self.declared = engine._declarations(job.provider)
        self.once = ExactlyOnce(
            engine._intents, owner=engine._owner, provider=job.provider, clock=engine._clock
        )
        self._income_account: str | None = None
        self._currencies: CompanyCurrencies | None = None
        self.currency = "USD"  # the invoice's (its payments' and refunds' too: checked on receipt)

    @property
    def company(self) -> str:
        return self.job.company_id

    def key(self, kind: DocumentKind, doc_id: str, op: str) -> str:
        return f"{self.company}#{self.job.provider}#{kind.value}#{doc_id}#{op}"

    # -- invoice and payments ------------------------------------------------------------------
    def invoice_and_payments(self, row: DocumentModel, invoice: Invoice) -> None:
        link = row.link(self.job.provider)
        if invoice.status == InvoiceStatus.VOID:
            self._void(row, link)
            return
        self.declared.refuse_too_long(DocumentKind.INVOICE, invoice, invoice.id)
        currencies = self.bookable(invoice)
        self.currency = invoice.currency
        customer_id = self.customer(invoice.customer_id, invoice, currencies)
        item_ids = {item_id: self.item(item_id) for item_id in invoice.item_ids}
        refs = InvoiceRefs(
            customer_id=customer_id,
            item_ids=item_ids,
            marker=marker(self.company, DocumentKind.INVOICE, invoice.id),
        )
        remote = self._push(
            row,
            link,
            DocumentKind.INVOICE,
            get=self.p.get_invoice,
            find=lambda: self.p.find_invoice(invoice, refs.marker),
            create=lambda rid: self.p.create_invoice(invoice, refs, idempotency_key=rid),
            update=lambda current, rid: self.p.update_invoice(current, invoice, refs, idempotency_key=rid),
        )
        self.report.remote_invoice_id = remote.id
        self._check_total(invoice, remote)
        self._clear_failure(row)
        self.payments(row, customer_id, remote.id)

    def bookable(self, invoice: Invoice) -> CompanyCurrencies:
        """The company's currencies, once they can hold the invoice's; else the invoice is held
        (read afresh first: the user may just have turned multicurrency on)."""
        if self._currencies is None or not self._currencies.books(invoice.currency):
            self._currencies = self.e.currencies(self.connection, self.p)
            if not self._currencies.books(invoice.currency):
                self._currencies = self.e.currencies(self.connection, self.p, fresh=True)
        found = self._currencies
        if found.books(invoice.currency):
            return found
        declared = profile(self.job.provider)
        name = declared.label
        why = f"the {name} company keeps its books in {found.home} only (multicurrency is off)"
        where = f" ({declared.multicurrency_setting})" if declared.multicurrency_setting else ""
        raise self._not_bookable(
            invoice,
            why,
            f"Turn on multicurrency in {name}{where}, then resync the invoice; "
            f"or send the invoice in {found.home}.",
        )

    def _not_bookable(self, invoice: Invoice, why: str, fix: str) -> CurrencyNotBookable:
        return CurrencyNotBookable(
            f"Invoice {invoice.number} is in {invoice.currency}, but {why}; it was not sent, so it is "
            "not booked in another currency.",
            provider=self.job.provider,
            fix=fix,
        )

    def _customer_currency(self, remote: RemoteObject, invoice: Invoice, customer: Customer) -> None:
        """A customer is booked in one currency: its invoices must be in it (multicurrency only)."""
        currency = remote.currency
        if currency is None:
            current = self.p.get_customer(remote.id)
            currency = current.currency if current is not None else None
        if currency is None or currency == invoice.currency:
            return
        name = provider_label(self.job.provider)
        raise self._not_bookable(
            invoice,
            f"customer {customer.display_name!r} is kept in {currency} in {name}, which books a "
            "customer's invoices in the customer's currency",
            f"Send {invoice.currency} invoices for this customer under a separate customer in your app "
            f"(e.g. '{customer.display_name} ({invoice.currency})'), or send this invoice in {currency}.",
        )

    def _check_total(self, invoice: Invoice, remote: RemoteObject) -> None:
        """The books must show what the customer was billed; say so when the provider disagrees."""
        if remote.total is None or remote.total == invoice.total:
            return
        declared = profile(self.job.provider)
        shown = f"{declared.label} shows a total of {remote.total} for invoice {invoice.number}"
        self.report.failures.append(
            {
                "document": f"invoice {invoice.id}",
                "code": "total_mismatch",
                "message": f"{shown}; booksync sent {invoice.total}.",
                "fix": f"Check {declared.tax_settings}, then resync the invoice.",
            }
        )

    def _clear_failure(self, row: DocumentModel) -> None:
        """An earlier run failed (say, on an item); this one pushed everything: show it synced."""
        link = row.link(self.job.provider)
        if link is not None and link.outcome != Outcome.SYNCED and link.pushed_hash == row.content_hash:
            self.e._settle(self.job, row, link)
            link.outcome, link.error_code, link.error_message, link.error_fix = (
                Outcome.SYNCED,
                None,
                None,
                None,
            )
            self.e._docs.save_link(row, self.job.provider, link)

    def deleted(self, row: DocumentModel) -> None:
        """The business deleted the invoice: delete it in the books too, once."""
        link = row.link(self.job.provider)
        if link is None or not link.remote_id or link.pushed_hash == row.content_hash:
            self.e._docs.clear_pending(row, row.content_hash)
            self.report.counts["unchanged"] += 1
            return
        remote_id = link.remote_id
        current = self.p.get_invoice(remote_id)
        if current is not None:

            def delete(request_id: str) -> RemoteObject:
                self.p.delete_invoice(current, idempotency_key=request_id)
                return RemoteObject(id=remote_id)

            self.once.write(
                self.key(DocumentKind.INVOICE, row.doc_id, f"delete#{link.generation or 0}"),
                perform=delete,
                # After an uncertain answer, the deletion happened if the invoice is gone.
                lookup=lambda: RemoteObject(id=remote_id) if self.p.get_invoice(remote_id) is None else None,
                fetch=lambda _id: RemoteObject(id=remote_id),
            )
        self._linked(row, RemoteObject(id=remote_id), link, "deleted")
        gone = row.link(self.job.provider)
        if gone is not None:
            gone.outcome = Outcome.DELETED
            self.e._docs.save_link(row, self.job.provider, gone)

    def _void(self, row: DocumentModel, link: LinkMap | None) -> None:
        if link is None or not link.remote_id:
            # Never reached the books: nothing to void there.
            self.e._docs.clear_pending(row, row.content_hash)
            self.report.counts["unchanged"] += 1
            return
        if link.pushed_hash == row.content_hash:
            self.report.counts["unchanged"] += 1
            return
        if not self.declared.supports(Capability.VOIDS):
            self.report.outcome = Outcome.NOT_SUPPORTED
            self.not_supported(row, self.declared.not_supported(Capability.VOIDS, f"invoice {row.doc_id}"))
            return
        remote_id = link.remote_id
        current = self.p.get_invoice(remote_id)
        if current is None:
            raise RemoteNotFound(
                f"Invoice {row.doc_id} was deleted in {self.job.provider}; there is nothing to void.",
                provider=self.job.provider,
            )
        result = self.once.write(
            self.key(DocumentKind.INVOICE, row.doc_id, f"void#{link.generation or 0}"),
            perform=lambda rid: self.p.void_invoice(current, idempotency_key=rid),
            lookup=lambda: None,
            fetch=self.p.get_invoice,
        )
        self._linked(row, result.remote, link, "updated")

    def payments(self, invoice_row: DocumentModel, customer_id: str, remote_invoice_id: str) -> None:
        payment_ids = sorted(invoice_row.payment_ids or ())
        rows = self.e._docs.get_many(self.company, DocumentKind.PAYMENT, payment_ids)
        for payment_id in payment_ids:
            row = rows.get(payment_id)
            if row is None:
                continue
            if self._said_not_supported(row):
                continue
            if not self._in_books(row):
                try:
                    pushed = self._new_payment(row, invoice_row.doc_id, customer_id, remote_invoice_id)
                except NotSupported as exc:
                    self._payment_not_supported(row, exc)
                    continue
                except (Rejected, RemoteNotFound) as exc:
                    self._payment_refused(row, row.link(self.job.provider), exc)
                    continue
                if pushed is None:
                    continue  # waits for an invoice still in draft
                row = pushed
            self.refunds(row, customer_id)

    def _in_books(self, row: DocumentModel) -> bool:
        """Already pushed (payments and refunds are pushed once): report an edit, clear pending."""
        link = row.link(self.job.provider)
        if link is None or not link.remote_id:
            return False
        if link.pushed_hash != row.content_hash and link.outcome != Outcome.FAILED:
            self._payment_refused(row, link, self._edited(DocumentKind(row.kind), row.doc_id))
        elif row.pending_bucket:
            self.e._docs.clear_pending(row, row.content_hash)
        self.report.counts["unchanged"] += 1
        return True

    def _new_payment(
        self, row: DocumentModel, invoice_id: str, customer_id: str, remote_invoice_id: str
    ) -> DocumentModel | None:
        """Push a payment not yet in the books, once every invoice it pays is there.

        Returns its row as it now stands, or None while it waits for an invoice in draft.
        """
        payment: Payment = self.e._docs.parse(row)
        self._payable(payment)
        remote_invoices = self._remote_invoices(payment, invoice_id, remote_invoice_id)
        if remote_invoices is None:
            if row.pending_bucket:
                self.e._docs.clear_pending(row, row.content_hash)  # the draft's own sync pushes it
            self.report.counts["waiting"] += 1
            return None
        if len(remote_invoices) > 1:
            # Syncing its other invoices may have pushed it (their jobs push their payments).
            row = self.e._docs.get(self.company, DocumentKind.PAYMENT, payment.id) or row
            if self._in_books(row):
                return row
        self._payment(row, row.link(self.job.provider), payment, customer_id, remote_invoices)
        return row

    def _payable(self, payment: Payment) -> None:
        """Raises ``NotSupported`` for a payment the provider cannot record, and ``TextTooLong`` for
        one whose text it would cut, before anything is sent."""
        label = self.declared.label
        if not self.declared.supports(Capability.PAYMENTS):
            raise self.declared.not_supported(Capability.PAYMENTS, f"payment {payment.id}")
        self.declared.refuse_too_long(DocumentKind.PAYMENT, payment, payment.id)
        if len(payment.invoice_ids) > 1 and not self.declared.supports(Capability.PAYMENTS_ACROSS_INVOICES):
            raise self.declared.not_supported(
                Capability.PAYMENTS_ACROSS_INVOICES,
                f"payment {payment.id} pays {len(payment.invoice_ids)} invoices",
                fix=f"Record one payment per invoice in your app, or this one in {label} yourself.",
            )

    def not_supported(self, row: DocumentModel, exc: NotSupported) -> None:
        """Said once, on the document (its content judged: not sent again until it changes) and
        in this run's notes: no admin notification, no pending marker for the sweep to re-queue."""
        link = refused_link(row.link(self.job.provider), exc, Outcome.NOT_SUPPORTED)
        link.pushed_hash = row.content_hash
        self.e._docs.save_link(row, self.job.provider, link)
        row.set_link(self.job.provider, link)
        self.e._docs.clear_pending(row, row.content_hash)
        self.report.counts["not_supported"] += 1
        self.report.unsupported.append(error_entry(f"{row.kind} {row.doc_id}", exc))

    def _said_not_supported(self, row: DocumentModel) -> bool:
        """Judged not supported as it stands: nothing more to say or send (an edit judges it again)."""
        link = row.link(self.job.provider)
        judged = link is not None and link.outcome == Outcome.NOT_SUPPORTED
        if judged and link is not None and link.pushed_hash == row.content_hash:
            self.report.counts["not_supported"] += 1
            return True
        return False

    def _payment_not_supported(self, row: DocumentModel, exc: NotSupported) -> None:
        """The payment, and its refunds with it (a refund needs its payment in the books)."""
        self.not_supported(row, exc)
        refunds = self.e._docs.get_many(self.company, DocumentKind.REFUND, sorted(row.refund_ids or ()))
        for refund in refunds.values():
            if not self._said_not_supported(refund):
                self.not_supported(
                    refund,
                    NotSupported(
                        f"Refund {refund.doc_id} is of payment {row.doc_id}, which is not in "
                        f"{self.declared.label}: {exc.message}",
                        provider=exc.provider,
                        fix=exc.fix,
                    ),
                )

    def _remote_invoices(self, payment: Payment, here: str, remote_here: str) -> dict[str, str] | None:
        """The remote id of every invoice ``payment`` pays (local id -> remote id).

        An invoice of a split payment that is not in the books yet is synced first (QuickBooks
        records one payment across invoices only once they all exist); while one is a draft the
        payment waits (None): sending that invoice syncs it.
        """
        remote = {here: remote_here}
        others = [invoice_id for invoice_id in payment.invoice_ids if invoice_id != here]
        rows = self.e._docs.get_many(self.company, DocumentKind.INVOICE, others)
        for invoice_id in others:
            row = rows.get(invoice_id)
            if row is None or row.status in (DELETED, InvoiceStatus.VOID):
                state = "missing" if row is None else ("deleted" if row.status == DELETED else "void")
                raise Rejected(
                    f"Payment {payment.id} also pays invoice {invoice_id}, which is {state}.",
                    provider=self.job.provider,
                    fix="Record the payment again on live invoices, or split it per invoice.",
                )
            link = row.link(self.job.provider)
            if link is not None and link.remote_id and link.outcome != Outcome.DELETED:
                remote[invoice_id] = link.remote_id
            elif row.status == InvoiceStatus.DRAFT:
                return None
            else:
                remote[invoice_id] = self._other_invoice(row, payment.id)
        return remote

    def _other_invoice(self, row: DocumentModel, payment_id: str) -> str:
        """Sync another invoice of a split payment within this job; its remote id."""
        shown = self.report.remote_invoice_id
        try:
            self.invoice_and_payments(row, self.e._docs.parse(row))
        except (Rejected, RemoteNotFound) as exc:
            raise Rejected(
                f"Payment {payment_id} waits for invoice {row.doc_id}, which could not be synced: "
                f"{exc.message}",
                provider=self.job.provider,
                fix=exc.fix or "Fix the invoice, then sync it again.",
            ) from exc
        finally:
            self.report.remote_invoice_id = shown
        link = row.link(self.job.provider)
        if link is None or not link.remote_id:
            raise AssertionError("an invoice synced without error is linked")
        return link.remote_id

    def _edited(self, kind: DocumentKind, doc_id: str) -> Rejected:
        what = "refund receipt" if kind == DocumentKind.REFUND else kind.value
        books = provider_label(self.job.provider)
        return Rejected(
            f"{kind.value.capitalize()} {doc_id} changed after it reached {books}; "
            f"booksync records each {kind.value} once and does not edit it there.",
            provider=self.job.provider,
            fix=f"Make the same change to the {what} in {books}, or record a correcting {kind.value}.",
        )

    def _payment_refused(self, row: DocumentModel, link: LinkMap | None, exc: ProviderError) -> None:
        """One refused payment (or refund) does not hold back the others; a person must act on it."""
        self.e._docs.save_link(row, self.job.provider, refused_link(link, exc))
        self.e._docs.clear_pending(row, row.content_hash)
        self.report.counts["failed"] += 1
        self.report.failures.append(error_entry(f"{row.kind} {row.doc_id}", exc))

    def _payment(
        self,
        row: DocumentModel,
        link: LinkMap | None,
        payment: Payment,
        customer_id: str,
        remote_invoices: dict[str, str],
    ) -> None:
        refs = PaymentRefs(
            customer_id=customer_id,
            invoice_id=remote_invoices[payment.invoice_ids[0]],
            marker=marker(self.company, DocumentKind.PAYMENT, payment.id),
            currency=payment.currency or self.currency,
            applications=tuple((remote_invoices[a.invoice_id], a.amount) for a in payment.applied)
            if payment.applications is not None
            else (),
        )

        def create(request_id: str) -> RemoteObject:
            return self.p.create_payment(payment, refs, idempotency_key=request_id)

        result = self.once.write(
            # Keyed by the payment, not the invoice: a split payment is one write whichever of its
            # invoices' jobs gets there first. Deleted in the provider: a new generation recreates it.
            self.key(DocumentKind.PAYMENT, payment.id, f"create#{int(link.generation or 0) if link else 0}"),
            perform=create,
            lookup=lambda: self.p.find_payment(payment, refs),
            fetch=lambda remote_id: RemoteObject(id=remote_id),
        )
        self._linked(row, result.remote, link, "created" if result.created else "linked")

    # -- refunds ---------------------------------------------------------------------------------
    def refunds(self, payment_row: DocumentModel, customer_id: str) -> None:
        """Each refund of a payment in the books, once, as a refund receipt."""
        refund_ids = sorted(payment_row.refund_ids or ())
        if not refund_ids:
            return
        rows = self.e._docs.get_many(self.company, DocumentKind.REFUND, refund_ids)
        payment: Payment | None = None
        for refund_id in refund_ids:
            row = rows.get(refund_id)
            if row is None or self._said_not_supported(row) or self._in_books(row):
                continue
            if not self.declared.supports(Capability.REFUNDS):
                self.not_supported(
                    row, self.declared.not_supported(Capability.REFUNDS, f"refund {refund_id}")
                )
                continue
            payment = payment or self.e._docs.parse(payment_row)
            try:
                self._refund(row, self.e._docs.parse(row), payment, customer_id)
            except (Rejected, RemoteNotFound) as exc:
                self._payment_refused(row, row.link(self.job.provider), exc)

    def _refund(self, row: DocumentModel, refund: Refund, payment: Payment, customer_id: str) -> None:
        self.declared.refuse_too_long(DocumentKind.REFUND, refund, refund.id)
        link = row.link(self.job.provider)
        settings = self.connection.settings
        refs = RefundRefs(
            customer_id=customer_id,
            marker=marker(self.company, DocumentKind.REFUND, refund.id),
            method=payment.method,
            from_account_id=settings.refunds_from_account_id if settings is not None else None,
            currency=refund.currency or payment.currency or self.currency,
        )
        result = self.once.write(
            self.key(DocumentKind.REFUND, refund.id, f"create#{int(link.generation or 0) if link else 0}"),
            perform=lambda request_id: self.p.create_refund(refund, refs, idempotency_key=request_id),
            lookup=lambda: self.p.find_refund(refund, refs),
            fetch=lambda remote_id: RemoteObject(id=remote_id),
        )
        self._linked(row, result.remote, link, "created" if result.created else "linked")

    # -- customers and items -----------------------------------------------------------------
    def customer(self, customer_id: str, invoice: Invoice, currencies: CompanyCurrencies) -> str:
        row = self._required(DocumentKind.CUSTOMER, customer_id)
        customer: Customer = self.e._docs.parse(row)
        # Created in the invoice's currency (QuickBooks keeps it for good); the home one goes unsaid.
        currency = invoice.currency if invoice.currency != currencies.home else None
        remote = self._customer(row, customer, currency)
        if currencies.multicurrency:
            self._customer_currency(remote, invoice, customer)
        return remote.id

    def customer_alone(self, row: DocumentModel) -> None:
        """A customer job (auto_sync_customers): the customer as an invoice's job pushes it; one
        already in sync costs no provider call. In a multicurrency company a customer not yet in
        the books waits for its first invoice: the books set a customer's currency when it is
        created, and only an invoice says which (created alone, it would be in the home currency
        and its first invoice in another one would be held)."""
        link = row.link(self.job.provider)
        if (link is None or not link.remote_id) and self.e.currencies(self.connection, self.p).multicurrency:
            if row.pending_bucket:
                self.e._docs.clear_pending(row, row.content_hash)  # its first invoice's job pushes it
            self.report.counts["waiting"] += 1
            if self.report.run_id:
                message = f"Customer {row.doc_id} waits for its first invoice, which sets its currency."
                note = {
                    "document": f"customer {row.doc_id}",
                    "code": "waiting",
                    "message": message,
                    "fix": None,
                }
                add_note(self.company, self.report.run_id, note)
            return
        self._customer(row, self.e._docs.parse(row), None)
        if row.pending_bucket:
            # Unchanged since its last push (a redelivery, a sweep after a send that did land).
            self.e._docs.clear_pending(row, row.content_hash)

    def _customer(self, row: DocumentModel, customer: Customer, currency: str | None) -> RemoteObject:
        return self._named(
            row,
            DocumentKind.CUSTOMER,
            customer,
            customer.display_name,
            get=self.p.get_customer,
            find=self.p.find_customer,
            create=lambda doc, rid: self.p.create_customer(doc, idempotency_key=rid, currency=currency),
            update=lambda current, doc, rid: self.p.update_customer(current, doc, idempotency_key=rid),
        )

    def item(self, item_id: str) -> str:
        row = self._required(DocumentKind.ITEM, item_id)
        item: Item = self.e._docs.parse(row)

        def refs() -> ItemRefs:
            # Resolved when the item is written, not before: an unchanged or linked item needs
            # no account, and the default is looked up in the provider only if it is used.
            account = item_income_account(row, item.name, self.declared, self.income_account)
            return ItemRefs(income_account_id=account)

        remote = self._named(
            row,
            DocumentKind.ITEM,
            item,
            item.name,
            get=self.p.get_item,
            find=self.p.find_item,
            create=lambda doc, rid: self.p.create_item(doc, refs(), idempotency_key=rid),
            update=lambda current, doc, rid: self.p.update_item(current, doc, refs(), idempotency_key=rid),
        )
        return remote.id

    def income_account(self) -> str | None:
        if self._income_account is None:
            self._income_account = self.e._income_account_for(self.connection, self.p)
        return self._income_account

    def _required(self, kind: DocumentKind, doc_id: str) -> DocumentModel:
        row = self.e._docs.get(self.company, kind, doc_id)
        if row is None:
            raise Rejected(
                f"The invoice refers to {kind.value} {doc_id}, which booksync has not received.",
                provider=self.job.provider,
                fix=f"Send it with PUT /{kind.value}s/{doc_id}, then sync the invoice again.",
            )
        return row

    # -- the one push pattern ------------------------------------------------------------------
    def _push(
        self,
        row: DocumentModel,
        link: LinkMap | None,
        kind: DocumentKind,
        *,
        get: Callable[[str], RemoteObject | None],
        find: Callable[[], RemoteObject | None],
        create: Callable[[str], RemoteObject],
        update: Callable[[RemoteObject, str], RemoteObject],
    ) -> RemoteObject:
        """Create, update or leave alone one document's remote object, exactly once."""
        kept = self._kept(row, link, kind, get, update)
        if kept is not None:
            return kept
        result = self.once.write(
            self.key(kind, row.doc_id, f"create#{link_generation(link)}"),
            perform=create,
            lookup=find,
            fetch=get,
        )
        remote = self._brought_up_to_date(row, kind, result, get, update)
        self._linked(row, remote, link, "created" if result.created else "linked")
        return remote

    def _kept(
        self,
        row: DocumentModel,
        link: LinkMap | None,
        kind: DocumentKind,
        get: Callable[[str], RemoteObject | None],
        update: Callable[[RemoteObject, str], RemoteObject],
        named: _Naming | None = None,
    ) -> RemoteObject | None:
        """The linked object, updated if the document changed; None when there is none to keep
        (never linked, or deleted or made inactive in the provider: then the next generation)."""
        if link is None or not link.remote_id:
            return None
        if link.pushed_hash == row.content_hash:
            self.report.counts["unchanged"] += 1
            return RemoteObject(id=link.remote_id, version=link.version)
        current = get(link.remote_id)
        if current is not None and current.active:
            remote = self._update(row, kind, current, get, update)
            self._linked(row, remote, link, "updated", named)
            return remote
        link.generation = int(link.generation or 0) + 1
        return None

    def _brought_up_to_date(
        self,
        row: DocumentModel,
        kind: DocumentKind,
        result: WriteResult[RemoteObject],
        get: Callable[[str], RemoteObject | None],
        update: Callable[[RemoteObject, str], RemoteObject],
    ) -> RemoteObject:
        if result.created:
            return result.remote
        # Created by an earlier attempt (found by lookup, or its intent already done): it holds
        # the content of that attempt, which an edit since may have changed. Push ours on top.
        current = get(result.remote.id)
        return self._update(row, kind, current, get, update) if current is not None else result.remote

    def _named(
        self,
        row: DocumentModel,
        kind: DocumentKind,
        document: Named,
        own_name: str,
        *,
        get: Callable[[str], RemoteObject | None],
        find: Callable[[Named], RemoteObject | None],
        create: Callable[[Named, str], RemoteObject],
        update: Callable[[RemoteObject, Named, str], RemoteObject],
    ) -> RemoteObject:
        """A customer or an item: linked to what the provider has only when it surely is this
        document and no other document holds it (a claim per remote object, taken before the
        link); otherwise created, under a name of its own when its cleaned name is taken.

        The provider finds by exactly the name it stores (and a customer only when the rest of
        the record agrees); two documents whose cleaned names collide ("a:b" and "a-b", two
        500-character names cut to the same 100) get two objects, the second with a suffix.
        Once a document has a name of its own, its updates keep it.
        """
        link = row.link(self.job.provider)
        if link is not None and link.remote_id and not link.claimed:
            self.e._claims.claim_stored(
                LinkScope.of(self.connection), kind, row, link, self.e._docs, now=self.e._clock()
            )
        namings = [_Naming(own_name, True)] if link is not None and link.distinct_name else []
        namings = namings or [_Naming(own_name, False), _Naming(own_name, True)]
        if link is not None and link.remote_id:
            for named in namings:
                put = _put(update, self.p.distinct(document) if named.distinct else document)
                try:
                    kept = self._kept(row, link, kind, get, put, named)
                except DuplicateName:
                    continue  # renamed onto a name another record holds: a name of its own
                if kept is not None:
                    return kept
                break  # gone from the provider: created again below
            else:
                raise self._no_name(kind, row)
        for named in namings:
            doc = self.p.distinct(document) if named.distinct else document
            put = _put(update, doc)
            found = find(doc)
            if found is not None and self._claim(kind, row, found.id):
                remote = self._update(row, kind, found, get, put) if not found.active else found
                self._linked(row, remote, link, "linked", named)
                return remote
            # Nothing found, or what was found (by name, e-mail or SKU) is another document's:
            # that record is not ours, which says nothing of the name. Ours is created under it;
            # a DuplicateName answer alone says the name is held and another one is needed.
            try:
                result = self.once.write(
                    self.key(
                        kind, row.doc_id, f"create#{link_generation(link)}{'#distinct' * named.distinct}"
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
            self._linked(row, remote, link, "created" if result.created else "linked", named)
            return remote
        raise self._no_name(kind, row)

    def _no_name(self, kind: DocumentKind, row: DocumentModel) -> Rejected:
        label = provider_label(self.job.provider)
        return Rejected(
            f"{label} refuses every name booksync tried for {kind.value} {row.doc_id}.",
            provider=self.job.provider,
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
        return self.e._claims.claim(
            LinkScope.of(self.connection), kind, remote_id, row.doc_id, now=self.e._clock()
        )

    def _update(
        self,
        row: DocumentModel,
        kind: DocumentKind,
        current: RemoteObject,
        get: Callable[[str], RemoteObject | None],
        update: Callable[[RemoteObject, str], RemoteObject],
    ) -> RemoteObject:
        link = row.link(self.job.provider)
        for attempt in range(CONFLICT_RETRIES):
            perform = functools.partial(_apply_update, update, current)
            try:
                return self.once.write(
                    # The link's push count only grows, so no edit history (A->B->A->B) meets an
                    # earlier push's key, versions or none; a retry of this push (same content,
                    # same version) reuses it, as QuickBooks' requestid wants.
                    self.key(
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
        return f"#{current.version}" if self.declared.supports(Capability.VERSIONS) else ""

    def _linked(
        self,
        row: DocumentModel,
        remote: RemoteObject,
        link: LinkMap | None,
        counted_as: str,
        named: _Naming | None = None,
    ) -> None:
        new = new_link(
            remote_id=remote.id,
            version=remote.version,
            pushed_hash=row.content_hash,
            synced_at=self.e._clock(),
            outcome=Outcome.SYNCED,
            generation=link_generation(link),
            pushes=link_pushes(link) + 1,
        )
        if named is not None:
            new.claimed = True
            note = name_link(
                new,
                remote,
                kind=row.kind,
                doc_id=row.doc_id,
                own=named.own,
                distinct=named.distinct,
                provider=self.job.provider,
                was_distinct=bool(link is not None and link.distinct_name),
            )
            if note is not None and self.report.run_id:
                self.report.counts["renamed"] += 1
                add_note(self.company, self.report.run_id, note)
        self.e._docs.save_link(row, self.job.provider, new)
        row.set_link(self.job.provider, new)
        self.e._settle(self.job, row, link)
        if row.pending_bucket:
            self.e._docs.clear_pending(row, row.content_hash)
        self.report.counts[counted_as] += 1
        logger.info(
            "document synced",
            extra={"company_id": self.company, "doc": row.doc_key, "remote_id": remote.id, "how": counted_as},
        )


@dataclass(frozen=True)
class _Naming:
    own: str  # the document's own name, as the business wrote it
    distinct: bool  # booksync made it unique (its cleaned name was held by another record)


def _put(
    update: Callable[[RemoteObject, Named, str], RemoteObject], doc: Named
) -> Callable[[RemoteObject, str], RemoteObject]:
    return lambda current, request_id: update(current, doc, request_id)
