"""One Square payout event in, at most one deposit in the company's books out.

``PayoutDeposits.handle`` records the payout, then (when the company's accounting connection can
book a payout, ``Capability.DEPOSITS``, is connected and deposit auto-sync is on) reads the
payout's entries from Square, makes sure each payment is in the books (syncing its invoice first
when it is not), plans the deposit (``payouts/plan.py``) and books it through the adapter's
``PayoutBooks`` port exactly once: the intent is keyed by company, provider and payout id, and
after an uncertain answer the deposit is looked up by the memo marker before anything is created
again.

Every outcome is a sync-history run (kind ``deposit``) and a state on the payout row: deposited,
waiting (naming what for; the sweep retries it and admins hear after the grace period),
not_balanced (the numbers), failed (``payout.failed``, or the books refused), not_supported (the
provider cannot book a payout: said once per attempt, never retried or notified) or skipped (why).
Only what a retry can fix raises (rate limits, transient faults, another worker on it).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booksync.documents import DocumentKind, Payment, Refund, payment_invoice_ids
from booksync.errors import (
    BooksyncError,
    ConnectionDown,
    CurrencyNotBookable,
    DailyLimitReached,
    InvalidRequest,
    NeedsReconnection,
    NotFoundError,
    OrganisationNotChosen,
    ProviderError,
    Rejected,
    RemoteNotFound,
)
from booksync.payouts.plan import (
    KnownPayment,
    KnownRefund,
    NotADeposit,
    NotBalanced,
    PayoutAccounts,
    Planned,
    Waiting,
    plan,
)
from booksync.providers.declaration import AnyDeclaration, Capability, NotSupported
from booksync.providers.port import AccountingProvider, Deposit, DepositLine, PayoutBooks
from booksync.providers.registry import declaration
from booksync.providers.square.models import Payout, PayoutEntry
from booksync.store.connections import ConnectionRepository, ConnectionStatus, organisation_not_chosen
from booksync.store.documents import DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import ConnectionModel, DocumentModel, PayoutModel
from booksync.store.notifications import NotificationRepository
from booksync.store.payouts import PayoutRepository, PayoutStatus
from booksync.store.runs import RunRepository
from booksync.sync.currencies import company_currencies
from booksync.sync.engine import SyncReport
from booksync.sync.jobs import SyncJob
from booksync.sync.once import ExactlyOnce

logger = logging.getLogger(__name__)

# Where payouts come from: a payout's run is kept under it while no books are connected.
SOURCE = "square"
EventType = Literal["payout.sent", "payout.failed", "payout.paid"]
Trigger = Literal["webhook", "sweep", "manual"]


class PayoutMessage(BaseModel):
    """The body of a PayoutDepositQueue message (sent by the Square webhook consumer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    company_id: str = Field(min_length=1, max_length=128)
    merchant_id: str = Field(min_length=1, max_length=128)
    payout_id: str = Field(min_length=1, max_length=192)
    event_type: EventType
    event_id: str = Field(min_length=1, max_length=192)
    payout: dict[str, Any]


def parse_message(body: str) -> PayoutMessage:
    """The message, or InvalidRequest saying what is wrong (the message then goes to the DLQ)."""
    try:
        message = PayoutMessage.model_validate_json(body)
        payout = Payout.from_square(message.payout)
    except (ValueError, ValidationError, KeyError, TypeError) as exc:
        raise InvalidRequest(
            f"The payout deposit message is not valid: {exc}",
            fix='Send {"company_id", "merchant_id", "payout_id", "event_type" (payout.sent, '
            'payout.failed or payout.paid), "event_id", "payout": <Square Payout>}.',
        ) from None
    if payout.id != message.payout_id:
        raise InvalidRequest(
            f"payout_id {message.payout_id!r} is not the payout's id {payout.id!r}.",
            fix="Send the payout object the event carried (data.object.payout).",
        )
    return message


class PayoutEntries(Protocol):
    """What the job reads from Square (``providers/square/client.py`` SquareClient has it)."""

    def iter_payout_entries(self, payout_id: str) -> Iterable[PayoutEntry]: ...


SquareFor = Callable[[str], PayoutEntries]  # company id -> its Square client
ProviderFor = Callable[[ConnectionModel], AccountingProvider]
InvoiceSyncer = Callable[[SyncJob], SyncReport]


@dataclass
class PayoutResult:
    payout_id: str
    status: str
    run_id: str | None
    deposit_id: str | None = None
    created: bool = False
    reason: str | None = None
    waiting_for: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "payout_id": self.payout_id,
            "status": self.status,
            "run_id": self.run_id,
            "deposit_id": self.deposit_id,
            "created": self.created,
            "reason": self.reason,
            "waiting_for": self.waiting_for,
        }


def marker(company_id: str, payout_id: str) -> str:
    """The memo's first line: what ``find_deposit`` matches after an uncertain answer."""
    return f"booksync:{company_id}:payout:{payout_id}"


def intent_key(company_id: str, provider: str, payout_id: str) -> str:
    return f"{company_id}#{provider}#deposit#{payout_id}"


@dataclass(frozen=True)
class DepositParts:
    """What a payout's deposit works with, by name: its stores, the company's accounting provider
    and Square client, the in-process invoice sync, the wait's grace, its clock. A
    ``PayoutDeposits`` holds one; each attempt reads it."""

    payouts: PayoutRepository
    connections: ConnectionRepository
    documents: DocumentRepository
    intents: IntentRepository
    runs: RunRepository
    notifications: NotificationRepository
    provider_for: ProviderFor
    square_for: SquareFor
    sync_invoice: InvoiceSyncer | None
    grace_seconds: float
    clock: Callable[[], float]
    owner: str  # this process's name on the deposit's intent
    declarations: Callable[[str], AnyDeclaration]


class PayoutDeposits:
    def __init__(
        self,
        *,
        payouts: PayoutRepository,
        connections: ConnectionRepository,
        documents: DocumentRepository,
        intents: IntentRepository,
        runs: RunRepository,
        notifications: NotificationRepository,
        provider_for: ProviderFor,
        square_for: SquareFor,
        sync_invoice: InvoiceSyncer | None = None,
        grace_seconds: float = 24 * 3600,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        declarations: Callable[[str], AnyDeclaration] = declaration,
    ) -> None:
        self.parts = DepositParts(
            payouts=payouts,
            connections=connections,
            documents=documents,
            intents=intents,
            runs=runs,
            notifications=notifications,
            provider_for=provider_for,
            square_for=square_for,
            sync_invoice=sync_invoice,
            grace_seconds=grace_seconds,
            clock=clock,
            owner=owner or uuid.uuid4().hex,
            declarations=declarations,
        )

    # -- entry points ----------------------------------------------------------------------------
    def handle(self, message: PayoutMessage, *, trigger: Trigger = "webhook") -> PayoutResult:
        row = self.parts.payouts.received(
            message.company_id,
            message.payout,
            merchant_id=message.merchant_id,
            event_type=message.event_type,
            event_id=message.event_id,
            now=self.parts.clock(),
        )
        return self._process(row, message.event_type, trigger)

    def retry(self, company_id: str, payout_id: str, *, trigger: Trigger = "manual") -> PayoutResult:
        """Try a recorded payout again (the sweep for waiting ones; an admin for any)."""
        row = self.parts.payouts.get(company_id, payout_id)
        if row is None or row.payout is None:
            raise NotFoundError(
                f"booksync has not received Square payout {payout_id}.",
                fix="Payouts arrive with Square's payout.sent webhook; see GET /payouts.",
            )
        event = "payout.failed" if row.square_status == "FAILED" else "payout.sent"
        return self._process(row, event, trigger)

    def retry_waiting(self) -> int:
        """The sweep: every waiting payout once more. Returns how many were retried."""
        retried = 0
        for row in self.parts.payouts.waiting():
            try:
                self.retry(row.company_id, row.payout_id, trigger="sweep")
            except BooksyncError as exc:  # a retryable fault: the next sweep tries again
                logger.warning("payout retry failed", extra={"payout_id": row.payout_id, "error": str(exc)})
            retried += 1
        return retried

    # -- one attempt -----------------------------------------------------------------------------
    def _process(self, row: PayoutModel, event_type: str, trigger: Trigger) -> PayoutResult:
        payout = Payout.from_square(row.payout or {})
        if row.status == PayoutStatus.DEPOSITED and event_type != "payout.failed":
            # Redelivered, or payout.paid after payout.sent: the deposit is there; no run, no call.
            return PayoutResult(payout.id, row.status, row.last_run_id, deposit_id=row.deposit_id)
        now = self.parts.clock()
        # The company's books, whichever provider keeps them (None: none connected).
        books = self.parts.connections.accounting_connections(row.company_id)
        connection = books[0] if books else None
        provider = str(connection.provider) if connection is not None else SOURCE
        run = self.parts.runs.start(
            row.company_id, provider=provider, kind="deposit", trigger=trigger, subject=payout.id, now=now
        )
        others = [str(b.provider) for b in books[1:]]
        attempt = _Attempt(self.parts, row, payout, run.run_id, connection, also=others)
        try:
            result = attempt.run(event_type)
        except BaseException as exc:
            status = "retrying" if isinstance(exc, ProviderError) and exc.retryable else "failed"
            error = _entry(payout.id, exc)
            self.parts.runs.finish(run, status=status, counts={}, errors=[error], now=self.parts.clock())
            raise
        run_status = {
            PayoutStatus.DEPOSITED: "succeeded",
            PayoutStatus.SKIPPED: "skipped",
            PayoutStatus.WAITING: "waiting",
            PayoutStatus.NOT_SUPPORTED: "not_supported",
        }.get(result.status, "failed")
        errors = [] if result.status == PayoutStatus.DEPOSITED else [attempt.error_entry(result)]
        counts = {"created": 1} if result.created else ({"unchanged": 1} if result.deposit_id else {})
        self.parts.runs.finish(run, status=run_status, counts=counts, errors=errors, now=self.parts.clock())
        # Nested: keys such as "created" would clash with LogRecord's own attributes.
        logger.info("payout processed", extra={"payout": result.to_json()})
        return result


class _Attempt:
    """One payout's walk: connection, entries, payments, plan, deposit."""

    def __init__(
        self,
        parts: DepositParts,
        row: PayoutModel,
        payout: Payout,
        run_id: str,
        connection: ConnectionModel | None,
        *,
        also: list[str],
    ) -> None:
        self.parts = parts
        # The company's other accounting connections: with several, which books the deposit
        # belongs in is not known, and the intent is keyed by provider, so a retry that chose
        # another one would book the payout twice. It waits until one remains.
        self.also = also
        self.row = row
        self.payout = payout
        self.run_id = run_id
        self.company = row.company_id
        self.connection = connection
        # The books' provider: its key for links, intents and notifications, its name in messages.
        self.provider = str(connection.provider) if connection is not None else SOURCE
        self.label = parts.declarations(self.provider).label if connection is not None else "the books"
        self.fix: str | None = None  # what the history's entry says to do (not supported)

    def run(self, event_type: str) -> PayoutResult:
        if event_type == "payout.failed" or self.payout.status == "FAILED":
            return self._failed()
        connection = self.connection
        if connection is None:
            return self._skip("No accounting system is connected: no deposit is made for this payout.")
        if self.also:
            labels = " and ".join(self.parts.declarations(p).label for p in [self.provider, *self.also])
            return self._wait(
                [
                    f"one accounting system to keep the company's books ({labels} are connected: "
                    "disconnect the other)"
                ]
            )
        declared = self.parts.declarations(self.provider)
        if not declared.supports(Capability.DEPOSITS):
            return self._not_supported(
                declared.not_supported(
                    Capability.DEPOSITS,
                    f"Square payout {self.payout.id}",
                    fix=f"Record the payout's deposit in {self.label} yourself.",
                )
            )
        if connection.settings is not None and connection.settings.auto_sync_deposits is False:
            return self._skip(f"Deposit auto-sync is off in the {self.label} settings (auto_sync_deposits).")
        if connection.status == ConnectionStatus.CHOOSE_ORGANISATION:
            return self._choosing()
        if connection.status != ConnectionStatus.CONNECTED:
            return self._wait([f"{self.label} to be reconnected"])
        try:
            return self._deposit(connection)
        except OrganisationNotChosen:
            return self._choosing()
        except (NeedsReconnection, ConnectionDown) as exc:
            return self._wait([f"{self.label} to be reconnected ({exc.message})"])
        except DailyLimitReached as exc:  # the sweep retries it; it goes through the next day
            return self._wait([f"{_possessive(self.label)} next day ({exc.message})"])
        except CurrencyNotBookable as exc:
            return self._held(exc)
        except NotSupported as exc:
            return self._not_supported(exc)
        except (Rejected, RemoteNotFound) as exc:
            return self._refused(exc)

    def _deposit(self, connection: ConnectionModel) -> PayoutResult:
        provider = self.parts.provider_for(connection)
        # Its declaration says it books payouts: its adapter is a PayoutBooks (each adapter's tests
        # check it; an isinstance here would refuse the tests' wrapping proxies on Python 3.12).
        books = cast(PayoutBooks, provider)
        self._check_currency(connection, provider)
        entries = list(self.parts.square_for(self.company).iter_payout_entries(self.payout.id))
        payments = {pid: self._payment(pid) for pid in _charged(entries)}
        refunds = {rid: self._refund(connection, rid) for rid in _refunded(entries)}
        accounts = self._accounts(connection)
        outcome = plan(self.payout, entries, payments, accounts, refunds)
        if isinstance(outcome, NotADeposit):
            return self._skip(outcome.reason)
        if isinstance(outcome, Waiting):
            return self._wait(list(outcome.waiting_for))
        if isinstance(outcome, NotBalanced):
            return self._not_balanced(outcome)
        return self._write(books, outcome, accounts)

    def _check_currency(self, connection: ConnectionModel, provider: AccountingProvider) -> None:
        """A deposit is booked in the home currency: a payout in another is never deposited as it."""
        currency = self.payout.amount.currency
        for fresh in (False, True):  # read afresh before holding it
            home = company_currencies(
                self.parts.connections, connection, provider, self.parts.clock(), fresh=fresh
            ).home
            if currency == home:
                return
        raise CurrencyNotBookable(
            f"Square payout {self.payout.id} is in {currency}, but the {self.label} company's home "
            f"currency is {home}: booksync deposits payouts in the home currency only, so no "
            f"deposit was made (it would be booked as {home}).",
            provider=self.provider,
            fix=f"Record this deposit by hand in {self.label} at its converted amount, or pay out to a "
            f"bank account in {home} in Square.",
        )

    # -- payments --------------------------------------------------------------------------------
    def _payment(self, square_id: str) -> KnownPayment:
        """The books' payment of a Square payment, syncing its invoice first if need be."""
        doc_id = f"square-{square_id}"
        row = self.parts.documents.get(self.company, DocumentKind.PAYMENT, doc_id)
        if row is None:
            return KnownPayment(square_id, problem="not recorded in booksync; match it to an invoice")
        recorded = row
        row, remote_id, problem = self._pushed(
            DocumentKind.PAYMENT, doc_id, row, lambda: payment_invoice_ids(recorded.body)
        )
        if remote_id is None:
            return KnownPayment(square_id, problem=problem)
        payment: Payment = self.parts.documents.parse(row)
        return KnownPayment(square_id, remote_id=remote_id, amount=payment.amount)

    def _refund(self, connection: ConnectionModel, square_id: str) -> KnownRefund:
        """The refund of a Square refund in the books (synced first if need be), when a deposit can
        net it: booksync pays card refunds out of the account payments wait in for their deposit
        (the provider's default) unless refunds_from_account_id says otherwise."""
        doc_id = f"square-{square_id}"
        row = self.parts.documents.get(self.company, DocumentKind.REFUND, doc_id)
        if row is None:
            return KnownRefund(square_id, problem="not recorded in booksync")
        if connection.settings is not None and connection.settings.refunds_from_account_id:
            return KnownRefund(
                square_id,
                problem="its refund is paid from refunds_from_account_id, "
                "not where payments wait for their deposit",
            )
        recorded = row

        def invoice_ids() -> list[str]:  # the refunded payment's invoices
            payment_id = str(recorded.body.get("payment_id"))
            payment = self.parts.documents.get(self.company, DocumentKind.PAYMENT, payment_id)
            return payment_invoice_ids(payment.body) if payment is not None else []

        row, remote_id, problem = self._pushed(DocumentKind.REFUND, doc_id, row, invoice_ids)
        if remote_id is None:
            return KnownRefund(square_id, problem=problem)
        refund: Refund = self.parts.documents.parse(row)
        return KnownRefund(square_id, remote_id=remote_id, amount=refund.amount)

    def _pushed(
        self, kind: DocumentKind, doc_id: str, row: DocumentModel, invoice_ids: Callable[[], list[str]]
    ) -> tuple[DocumentModel, str | None, str | None]:
        """The row and its id in the books, syncing the invoice that pushes it first when it has
        none (re-read after); or no id and why it is not in the books."""
        link = row.link(self.provider)
        if link is not None and link.remote_id:
            return row, link.remote_id, None
        problem = self._sync_first(invoice_ids())
        row = self.parts.documents.get(self.company, kind, doc_id) or row
        link = row.link(self.provider)
        if link is None or not link.remote_id:
            return row, None, problem or f"not in {self.label} after its sync"
        return row, link.remote_id, None

    def _sync_first(self, invoice_ids: list[str]) -> str | None:
        """Sync the invoice that pushes a payment (and its refunds), as the sync worker would.
        Returns why the document may still not be in the books."""
        if not invoice_ids:
            return "not matched to an invoice"
        if self.parts.sync_invoice is None:
            return f"invoice {invoice_ids[0]} not synced yet"
        report = self.parts.sync_invoice(
            SyncJob(company_id=self.company, invoice_id=invoice_ids[0], provider=self.provider)
        )
        why = report.error or (report.failures[0]["message"] if report.failures else None)
        return f"its invoice {invoice_ids[0]} did not sync: {why}" if why else None

    def _accounts(self, connection: ConnectionModel) -> PayoutAccounts:
        s = connection.settings
        if s is None:
            return PayoutAccounts(bank=None, merchant_fees=None)
        return PayoutAccounts(
            bank=s.deposit_bank_account_id,
            merchant_fees=s.merchant_fees_account_id,
            tips=s.tips_account_id,
            refunds=s.refunds_account_id,
            adjustments=s.adjustments_account_id,
            payout_fees=s.payout_fees_account_id,
        )

    # -- the write -------------------------------------------------------------------------------
    def _write(self, provider: PayoutBooks, planned: Planned, accounts: PayoutAccounts) -> PayoutResult:
        deposit = Deposit(
            bank_account_id=str(accounts.bank),
            date=date.fromisoformat(self.payout.arrival_date) if self.payout.arrival_date else date.today(),
            marker=marker(self.company, self.payout.id),
            memo=_memo(self.payout),
            lines=tuple(
                DepositLine(
                    amount=line.amount,
                    description=line.description,
                    payment_id=line.payment_id,
                    account_id=line.account_id,
                    refund_id=line.refund_id,
                )
                for line in planned.lines
            ),
        )
        once = ExactlyOnce(
            self.parts.intents, owner=self.parts.owner, provider=self.provider, clock=self.parts.clock
        )
        written = once.write(
            intent_key(self.company, self.provider, self.payout.id),
            perform=lambda request_id: provider.create_deposit(deposit, idempotency_key=request_id),
            lookup=lambda: provider.find_deposit(deposit),
            fetch=provider.get_deposit,
        )
        self.parts.payouts.settle(
            self.row,
            status=PayoutStatus.DEPOSITED,
            now=self.parts.clock(),
            run_id=self.run_id,
            amount=str(planned.amount),
            lines=[line.to_json() for line in planned.lines],
            lines_total=str(planned.total),
            deposit_id=written.remote.id,
        )
        self.parts.notifications.resolve(
            self.company, f"{self.provider}:payout:{self.payout.id}", self.parts.clock()
        )
        return PayoutResult(
            self.payout.id, PayoutStatus.DEPOSITED, self.run_id, written.remote.id, created=written.created
        )

    # -- the other outcomes ----------------------------------------------------------------------
    def _settle(self, status: str, reason: str | None, **kw: Any) -> None:
        self.parts.payouts.settle(
            self.row,
            status=status,
            now=self.parts.clock(),
            run_id=self.run_id,
            amount=str(self.payout.amount.amount),
            reason=reason,
            **kw,
        )

    def _skip(self, reason: str) -> PayoutResult:
        self._settle(PayoutStatus.SKIPPED, reason)
        return PayoutResult(self.payout.id, PayoutStatus.SKIPPED, self.run_id, reason=reason)

    def _wait(self, waiting_for: list[str], reason: str | None = None) -> PayoutResult:
        reason = reason or "Waiting for " + "; ".join(waiting_for) + "."
        self._settle(PayoutStatus.WAITING, reason, waiting_for=waiting_for)
        if self.parts.clock() - float(self.row.first_seen_at) >= self.parts.grace_seconds:
            hours = round(self.parts.grace_seconds / 3600)
            self._notify(
                "waiting",
                f"Square payout {self.payout.id} is still not in {self.label}",
                f"It has waited over {hours} h. {reason}",
                "Resolve what it waits for (GET /payouts/{payout_id}); the sweep deposits it then.",
            )
        return PayoutResult(
            self.payout.id, PayoutStatus.WAITING, self.run_id, reason=reason, waiting_for=waiting_for
        )

    def _choosing(self) -> PayoutResult:
        """The connection waits for an admin's choice of organisation (choose_organisation), as the
        invoice badges say it: with the route that ends the wait."""
        waiting = organisation_not_chosen(self.provider, f"Square payout {self.payout.id}")
        return self._wait(
            [f"an admin to choose the {self.label} organisation (choose_organisation)"],
            reason=f"{waiting.message} {waiting.fix}",
        )

    def _not_supported(self, exc: NotSupported) -> PayoutResult:
        """The books cannot book a payout: said on the payout and in history, never retried by the
        sweep nor notified (nothing a retry or an admin's wait changes)."""
        self.fix = exc.fix or None
        self._settle(PayoutStatus.NOT_SUPPORTED, exc.message)
        return PayoutResult(self.payout.id, PayoutStatus.NOT_SUPPORTED, self.run_id, reason=exc.message)

    def _not_balanced(self, outcome: NotBalanced) -> PayoutResult:
        self._settle(
            PayoutStatus.NOT_BALANCED,
            outcome.message,
            lines=[line.to_json() for line in outcome.lines],
            lines_total=str(outcome.lines_total),
        )
        self._notify(
            "not_balanced",
            f"Square payout {self.payout.id} does not add up; no deposit was made",
            outcome.message,
            "Compare the payout in Square with booksync's payments, then POST /payouts/{id}/retry.",
        )
        return PayoutResult(self.payout.id, PayoutStatus.NOT_BALANCED, self.run_id, reason=outcome.message)

    def _failed(self) -> PayoutResult:
        reason = f"Square reports payout {self.payout.id} failed: the money did not reach the bank."
        if self.row.deposit_id:
            reason += f" Deposit {self.row.deposit_id} was made for it in {self.label}; delete it there."
        self._settle(PayoutStatus.FAILED, reason)
        self._notify(
            "failed",
            f"Square payout {self.payout.id} failed",
            reason,
            "Check the bank account in Square's dashboard; Square retries the payout.",
        )
        return PayoutResult(
            self.payout.id, PayoutStatus.FAILED, self.run_id, self.row.deposit_id, reason=reason
        )

    def _held(self, exc: CurrencyNotBookable) -> PayoutResult:
        self._settle(PayoutStatus.FAILED, exc.message)
        self._notify(
            "currency", f"Square payout {self.payout.id} is in another currency", exc.message, exc.fix
        )
        return PayoutResult(self.payout.id, PayoutStatus.FAILED, self.run_id, reason=exc.message)

    def _refused(self, exc: ProviderError) -> PayoutResult:
        reason = f"{self.label} refused the deposit: {exc.message}"
        self._settle(PayoutStatus.FAILED, reason)
        self._notify(
            "refused", f"Square payout {self.payout.id} could not be deposited", reason, exc.fix or None
        )
        return PayoutResult(self.payout.id, PayoutStatus.FAILED, self.run_id, reason=reason)

    def _notify(self, what: str, title: str, message: str, fix: str | None) -> None:
        self.parts.notifications.raise_once(
            self.company,
            f"{self.provider}:payout:{self.payout.id}:{what}",
            title=title,
            message=message,
            fix=fix,
            now=self.parts.clock(),
        )

    def error_entry(self, result: PayoutResult) -> dict[str, str | None]:
        code = {
            PayoutStatus.SKIPPED: "payout_skipped",
            PayoutStatus.WAITING: "payout_waiting",
            PayoutStatus.NOT_BALANCED: "payout_not_balanced",
            PayoutStatus.NOT_SUPPORTED: NotSupported.code,
        }.get(result.status, "payout_failed")
        return {
            "document": f"payout {self.payout.id}",
            "code": code,
            "message": result.reason,
            "fix": self.fix,
        }


def _charged(entries: list[PayoutEntry]) -> list[str]:
    return list(dict.fromkeys(e.payment_id for e in entries if e.type == "CHARGE" and e.payment_id))


def _refunded(entries: list[PayoutEntry]) -> list[str]:
    return list(dict.fromkeys(e.refund_id for e in entries if e.type == "REFUND" and e.refund_id))


def _possessive(label: str) -> str:
    return label + ("'" if label.endswith("s") else "'s")


def _memo(payout: Payout) -> str:
    parts = [f"Square payout {payout.id}"]
    if payout.end_to_end_id:
        parts.append(f"bank reference {payout.end_to_end_id}")
    return ", ".join(parts)


def _entry(payout_id: str, exc: BaseException) -> dict[str, str | None]:
    if isinstance(exc, BooksyncError):
        return {
            "document": f"payout {payout_id}",
            "code": exc.code,
            "message": exc.message,
            "fix": exc.fix or None,
        }
    return {
        "document": f"payout {payout_id}",
        "code": "internal_error",
        "message": "An unexpected error stopped this deposit; it will be retried.",
        "fix": None,
    }
