"""Square payouts become one QuickBooks deposit each: the job over real tables (moto) and the
QuickBooks sandbox, with Square's side in memory (tests/fakes/square_payouts.py). Books of another
provider (the in-memory one, declared under ``memory``) book a payout, or say they cannot."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind, Refund
from booksync.errors import TransientError
from booksync.payouts.deposits import PayoutDeposits, PayoutMessage, PayoutResult, marker
from booksync.providers.declaration import Capability
from booksync.providers.port import AccountingProvider
from booksync.providers.registry import REGISTRY
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import ConnectionModel, ConnectionSettingsMap
from booksync.store.notifications import NotificationRepository
from booksync.store.payouts import PayoutRepository
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync
from booksync.sync.limiter import Limits
from booksync.sync.once import ExactlyOnce
from booksync.sync.rate_limits import ConnectionGate, InMemoryRateLimiter
from booksync.sync.records import DocumentService

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests import builders
from tests.fakes.provider import FakeProvider, plain_books
from tests.fakes.square_payouts import InMemorySquare, entry_object, payout_object
from tests.integration.test_invoice_sync_engine import ListQueue
from tests.integration.test_quickbooks_adapter_sandbox import connect, control, oauth, sandbox
from tests.threads import run_threads

__all__ = ["control", "oauth", "sandbox"]  # the sandbox fixtures, shared with the adapter tests

COMPANY = "acme"
# Two card payments on two invoices: 380.00 + 15.00 tip and 480.00; Square kept 11.32 and 14.22.
PAYOUT_CENTS = 39500 - 1132 + 48000 - 1422


@pytest.fixture
def world(
    tables: SimpleNamespace, oauth: Any, control: SandboxControl, sandbox: QuickBooksSandbox
) -> SimpleNamespace:
    qbo = connect(oauth, control, sandbox)
    chart = qbo.provider.list_accounts()
    bank = next(a for a in chart if a.account_type == "Bank")
    fees = next(a for a in chart if a.classification == "Expense")
    tips = next(a for a in chart if a.classification == "Revenue")
    return SimpleNamespace(
        **books_world(
            "quickbooks", qbo.realm, qbo.provider, qbo.income_account_id, bank.id, fees.id, tips.id
        ),
        qbo=qbo,
        control=control,
        bank=bank,
        fees=fees,
        tips=tips,
    )


def books_world(
    provider: str,
    account_id: str,
    books: AccountingProvider,
    income_account_id: str,
    bank_id: str,
    fees_id: str,
    tips_id: str,
) -> dict[str, Any]:
    """A company whose books (``provider``) are connected with the deposit settings chosen, two
    card payments recorded on two invoices, and Square's payout po_1 of them (in memory)."""
    ConnectionModel(
        COMPANY,
        provider,
        connection_id="c1",
        status="connected",
        account_id=account_id,
        settings=ConnectionSettingsMap(
            deposit_bank_account_id=bank_id, merchant_fees_account_id=fees_id, tips_account_id=tips_id
        ),
    ).save()
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(documents=docs, connections=conns, runs=runs, queue=ListQueue())
    service.put_customer(COMPANY, builders.customer())
    service.put_item(COMPANY, builders.item("i-1"))
    service.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    for invoice_id in ("inv-1", "inv-2"):
        service.put_invoice(COMPANY, builders.invoice(invoice_id))
    service.put_invoice(
        COMPANY,
        builders.invoice(
            "inv-2", lines=[{"item_id": "i-1", "quantity": "3", "unit_price": "160.00", "taxable": False}]
        ),
    )
    # Recorded as the Square payments consumer records them: document id square-<square id>.
    service.put_payment(COMPANY, builders.payment("square-sq-a", "380.00", "inv-1"))
    service.put_payment(COMPANY, builders.payment("square-sq-b", "480.00", "inv-2"))
    square = InMemorySquare()
    square.entries["po_1"] = [
        entry_object(1, "po_1", "CHARGE", 39500, 1132, payment_id="sq-a"),
        entry_object(2, "po_1", "CHARGE", 48000, 1422, payment_id="sq-b"),
    ]
    notifications, payouts = NotificationRepository(), PayoutRepository()
    engine = InvoiceSync(
        documents=docs,
        connections=conns,
        intents=IntentRepository(),
        runs=runs,
        provider_for=lambda _c: books,
        income_account_for=lambda _c, _p: income_account_id,
    )

    def job(**kw: Any) -> PayoutDeposits:
        parts: dict[str, Any] = {
            "payouts": payouts,
            "connections": conns,
            "documents": docs,
            "intents": IntentRepository(),
            "runs": runs,
            "notifications": notifications,
            "provider_for": lambda _c: books,
            "square_for": lambda _company: square,
            "sync_invoice": engine.run,
        }
        return PayoutDeposits(**{**parts, **kw})

    return {
        "docs": docs,
        "service": service,
        "runs": runs,
        "square": square,
        "notifications": notifications,
        "payouts": payouts,
        "job": job,
    }


def message(
    payout_id: str = "po_1", cents: int = PAYOUT_CENTS, event: str = "payout.sent", **kw: Any
) -> PayoutMessage:
    status = {"payout.sent": "SENT", "payout.paid": "PAID", "payout.failed": "FAILED"}[event]
    return PayoutMessage(
        company_id=COMPANY,
        merchant_id="M1",
        payout_id=payout_id,
        event_type=event,  # type: ignore[arg-type]
        event_id=f"ev-{event}-{payout_id}",
        payout=payout_object(payout_id, cents, status=status, **kw),
    )


def deposits(world: SimpleNamespace) -> list[dict[str, Any]]:
    """Every Deposit in the sandbox company (as QuickBooks answers a query)."""
    rows: list[dict[str, Any]] = world.qbo.provider._client.select_all("Deposit")
    return rows


def deliver(world: SimpleNamespace, msg: PayoutMessage) -> PayoutResult:
    """As SQS does: a delivery that fails with a retryable error comes back until it succeeds."""
    for _ in range(10):
        try:
            return world.job().handle(msg)
        except TransientError:
            continue
    raise AssertionError("still failing after 10 deliveries")


def notification_kinds(world: SimpleNamespace) -> set[str]:
    """The open ones (a resolved notification stays listed until it expires)."""
    return {n.kind for n in world.notifications.for_company(COMPANY) if n.resolved_at is None}


def test_payout_sent_five_times_some_at_once_gives_one_deposit_of_the_payout_amount(
    world: SimpleNamespace,
) -> None:
    results: list[PayoutResult] = [deliver(world, message())]
    run_threads(*[lambda: results.append(deliver(world, message()))] * 3)
    results.append(deliver(world, message(event="payout.paid")))
    assert len(results) == 5 and {r.status for r in results} == {"deposited"}
    assert sum(r.created for r in results) == 1
    [deposit] = deposits(world)
    assert {r.deposit_id for r in results} == {deposit["Id"]}
    # What reaches the bank, dated on arrival, memo with the payout and its bank reference.
    assert Decimal(str(deposit["TotalAmt"])) == Decimal(PAYOUT_CENTS).scaleb(-2)
    assert deposit["TxnDate"] == "2026-11-20"
    assert deposit["DepositToAccountRef"]["value"] == world.bank.id
    assert deposit["PrivateNote"] == (
        f"{marker(COMPANY, 'po_1')} | Square payout po_1, bank reference L2100000005"
    )
    lines = [
        (
            Decimal(str(line["Amount"])),
            line.get("LinkedTxn", [{}])[0].get("TxnType"),
            line.get("DepositLineDetail", {}).get("AccountRef", {}).get("value"),
        )
        for line in deposit["Line"]
    ]
    payment_ids = {
        world.docs.get(COMPANY, DocumentKind.PAYMENT, f"square-sq-{sq}").link("quickbooks").remote_id
        for sq in "ab"
    }
    assert lines == [
        (Decimal("380.00"), "Payment", None),
        (Decimal("15.00"), None, world.tips.id),
        (Decimal("480.00"), "Payment", None),
        (Decimal("-25.54"), None, world.fees.id),
    ]
    assert {line["LinkedTxn"][0]["TxnId"] for line in deposit["Line"] if "LinkedTxn" in line} == payment_ids
    row = world.payouts.get(COMPANY, "po_1")
    assert row.status == "deposited" and row.deposit_id == deposit["Id"] and row.lines_total == row.amount
    runs = [r for r in world.runs.recent(COMPANY) if r.kind == "deposit"]
    assert [r.status for r in runs if r.status == "succeeded"] and all(
        r.status in ("succeeded", "retrying") for r in runs
    )


def test_payments_not_yet_in_quickbooks_are_synced_first(world: SimpleNamespace) -> None:
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "square-sq-a").link("quickbooks") is None
    result = deliver(world, message())
    assert result.status == "deposited" and result.created
    for sq in "ab":
        link = world.docs.get(COMPANY, DocumentKind.PAYMENT, f"square-sq-{sq}").link("quickbooks")
        assert link is not None and link.remote_id
    invoice_runs = [r for r in world.runs.recent(COMPANY) if r.kind == "invoice" and r.status == "succeeded"]
    assert sorted(r.subject for r in invoice_runs) == ["inv-1", "inv-2"]


def test_a_lost_create_answer_is_found_by_its_memo_and_not_made_twice(world: SimpleNamespace) -> None:
    world.control.add_fault("commit_then_reset", entity="Deposit", operation="create", times=1)
    with pytest.raises(TransientError):
        world.job().handle(message())
    assert len(deposits(world)) == 1, "the sandbox committed it; the answer was lost"
    again = world.job().handle(message())
    assert again.status == "deposited" and not again.created
    assert len(deposits(world)) == 1
    assert world.payouts.get(COMPANY, "po_1").deposit_id == deposits(world)[0]["Id"]


def test_an_unmatched_payment_waits_by_name_and_the_sweep_deposits_it_once_resolved(
    world: SimpleNamespace,
) -> None:
    world.square.entries["po_1"].append(entry_object(3, "po_1", "CHARGE", 10000, 290, payment_id="sq-c"))
    first = world.job().handle(message(cents=PAYOUT_CENTS + 9710))
    assert first.status == "waiting"
    assert first.waiting_for == ["payment sq-c (not recorded in booksync; match it to an invoice)"]
    row = world.payouts.get(COMPANY, "po_1")
    assert row.status == "waiting" and row.waiting_for == first.waiting_for
    assert deposits(world) == []
    assert not any("payout" in k for k in notification_kinds(world)), "no notice within the grace period"
    # Still waiting after the grace period: admins hear, once.
    late = world.job(grace_seconds=0)
    assert late.retry_waiting() == 1
    assert "quickbooks:payout:po_1:waiting" in notification_kinds(world)
    # The payment is matched (recorded on an invoice): the next sweep deposits the payout.
    world.service.put_invoice(COMPANY, builders.invoice("inv-3"))
    world.service.put_payment(COMPANY, builders.payment("square-sq-c", "100.00", "inv-3"))
    assert world.job().retry_waiting() == 1
    assert world.job().retry_waiting() == 0, "deposited payouts are no longer swept"
    [deposit] = deposits(world)
    assert Decimal(str(deposit["TotalAmt"])) == Decimal(PAYOUT_CENTS + 9710).scaleb(-2)
    assert world.payouts.get(COMPANY, "po_1").status == "deposited"
    assert not any("payout" in k for k in notification_kinds(world)), "resolved once deposited"


def test_a_refund_taken_from_the_payout_nets_its_refund_receipt_out_of_undeposited_funds(
    world: SimpleNamespace,
) -> None:
    # Square refunded 40.00 of payment sq-a (and gave back 1.19 of its fee) out of this payout.
    world.service.put_refund(
        COMPANY,
        Refund.model_validate(
            {"id": "square-rf-1", "payment_id": "square-sq-a", "amount": "40.00", "date": "2026-11-05"}
        ),
    )
    world.square.entries["po_1"].append(
        entry_object(3, "po_1", "REFUND", -4000, -119, payment_id="sq-a", refund_id="rf-1")
    )
    result = deliver(world, message(cents=PAYOUT_CENTS - 4000 + 119))
    assert result.status == "deposited", result.reason
    [deposit] = deposits(world)
    receipt = world.docs.get(COMPANY, DocumentKind.REFUND, "square-rf-1").link("quickbooks").remote_id
    [refund_line] = [
        line for line in deposit["Line"] if line.get("LinkedTxn", [{}])[0].get("TxnType") == "RefundReceipt"
    ]
    assert refund_line["LinkedTxn"][0]["TxnId"] == receipt
    assert Decimal(str(refund_line["Amount"])) == Decimal("-40.00")
    assert Decimal(str(deposit["TotalAmt"])) == Decimal(PAYOUT_CENTS - 4000 + 119).scaleb(-2)
    # Everything that waited in Undeposited Funds for this payout has left it.
    undeposited = next(a for a in world.qbo.provider.list_accounts() if a.sub_type == "UndepositedFunds")
    row = world.qbo.provider._client.read("Account", undeposited.id)
    assert Decimal(str(row["CurrentBalance"])) == 0


def test_payout_failed_creates_no_deposit_and_notifies(world: SimpleNamespace) -> None:
    result = world.job().handle(message(event="payout.failed"))
    assert result.status == "failed" and "did not reach the bank" in (result.reason or "")
    assert deposits(world) == [] and world.square.reads["po_1"] == 0
    assert "quickbooks:payout:po_1:failed" in notification_kinds(world)
    [run] = [r for r in world.runs.recent(COMPANY) if r.kind == "deposit"]
    assert run.status == "failed" and run.errors[0].code == "payout_failed"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "disconnected"}, "No accounting system is connected"),
        ({"settings": ConnectionSettingsMap(auto_sync_deposits=False)}, "Deposit auto-sync is off"),
    ],
)
def test_not_connected_or_auto_sync_off_is_recorded_and_skipped_with_the_reason(
    world: SimpleNamespace, change: dict[str, Any], reason: str
) -> None:
    row = ConnectionModel.get(COMPANY, "quickbooks")
    for key, value in change.items():
        setattr(row, key, value)
    row.save()
    result = world.job().handle(message())
    assert result.status == "skipped" and reason in (result.reason or "")
    assert deposits(world) == []
    assert world.payouts.get(COMPANY, "po_1").status == "skipped"
    [run] = [r for r in world.runs.recent(COMPANY) if r.kind == "deposit"]
    assert run.status == "skipped" and reason in run.errors[0].message


def test_a_payout_that_does_not_add_up_makes_no_deposit_and_says_by_how_much(world: SimpleNamespace) -> None:
    result = world.job().handle(message(cents=PAYOUT_CENTS + 100))
    assert result.status == "not_balanced"
    expected = Decimal(PAYOUT_CENTS).scaleb(-2)
    said = f"The deposit lines total {expected}, the payout is {expected + 1}: difference -1.00."
    assert said in (result.reason or "")
    assert deposits(world) == []
    row = world.payouts.get(COMPANY, "po_1")
    assert row.status == "not_balanced" and row.lines_total == str(expected) and len(row.lines) == 4
    assert "quickbooks:payout:po_1:not_balanced" in notification_kinds(world)
    [run] = [r for r in world.runs.recent(COMPANY) if r.kind == "deposit"]
    assert run.status == "failed" and said in run.errors[0].message


def test_a_payout_in_another_currency_than_the_company_is_held_not_deposited(world: SimpleNamespace) -> None:
    """A USD payout into a company that keeps its books in CAD would be booked as CAD: held, with
    the reason, admins told once (issue 10, item 4)."""
    world.control.set_currency(world.qbo.realm, home_currency="CAD")
    for _ in range(2):
        result = world.job().handle(message())
        assert result.status == "failed"
        assert "is in USD, but the QuickBooks company's home currency is CAD" in (result.reason or "")
    assert deposits(world) == [] and world.square.reads["po_1"] == 0, "nothing read, nothing written"
    assert "quickbooks:payout:po_1:currency" in notification_kinds(world)
    assert len([n for n in world.notifications.for_company(COMPANY) if n.kind.endswith(":currency")]) == 1


def test_a_payout_that_meets_the_daily_limit_waits_for_the_next_day(world: SimpleNamespace) -> None:
    """QuickBooks' daily limit reached: the payout waits with the reason (not a failure that comes
    back five times and dead-letters), and the sweep deposits it once the limit allows again."""
    spent = ConnectionGate(
        InMemoryRateLimiter(),
        provider="quickbooks",
        account_id=world.qbo.realm,
        limits=Limits(max_concurrent=10, requests_per_minute=500, requests_per_day=0),
    )

    class Limited:
        def __getattr__(self, name: str) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                with spent.slot(batch=False):
                    return getattr(world.qbo.provider, name)(*args, **kwargs)

            return call

    first = world.job(provider_for=lambda _c: Limited()).handle(message())
    assert first.status == "waiting"
    assert first.waiting_for[0].startswith("QuickBooks' next day (Daily limit reached: QuickBooks allows")
    assert world.payouts.get(COMPANY, "po_1").status == "waiting" and deposits(world) == []
    assert world.job().retry_waiting() == 1  # the next day: the sweep retries it
    assert world.payouts.get(COMPANY, "po_1").status == "deposited" and len(deposits(world)) == 1


def test_a_connection_waiting_for_its_organisation_says_so_and_the_payout_waits(
    world: SimpleNamespace,
) -> None:
    """Worded as the choose_organisation state (the invoice badges' words and route), not as a
    reconnection; the sweep deposits it once an organisation is chosen."""
    row = ConnectionModel.get(COMPANY, "quickbooks")
    row.status = "choose_organisation"
    row.save()
    result = world.job().handle(message())
    assert result.status == "waiting"
    assert result.waiting_for == ["an admin to choose the QuickBooks organisation (choose_organisation)"]
    assert result.reason == (
        "QuickBooks is connected for several organisations and none is chosen yet; Square payout po_1 "
        "waits until one is. An admin chooses one with POST /integrations/quickbooks/organisation "
        "(GET /integrations/quickbooks lists them); waiting work then resumes by itself."
    )
    assert world.payouts.get(COMPANY, "po_1").reason == result.reason
    assert deposits(world) == [] and world.square.reads["po_1"] == 0
    row.status = "connected"
    row.save()
    assert world.job().retry_waiting() == 1
    assert world.payouts.get(COMPANY, "po_1").status == "deposited" and len(deposits(world)) == 1


@pytest.fixture
def memory_books(tables: SimpleNamespace, request: pytest.FixtureRequest) -> Callable[..., SimpleNamespace]:
    """Opens books of the in-memory provider, declared as ``memory`` with the capabilities given
    beside its plain ones, connected for the company as QuickBooks is in ``world``."""

    def open_books(*capabilities: Capability) -> SimpleNamespace:
        books = plain_books(*capabilities, name="memory")
        request.addfinalizer(REGISTRY.declare(books.declaration()))
        return SimpleNamespace(**books_world("memory", "books-1", books, "1", "2", "4", "1"), books=books)

    return open_books


def test_books_that_cannot_book_a_payout_say_so_once_and_are_never_retried(memory_books: Any) -> None:
    world = memory_books(Capability.PAYMENTS)
    books: FakeProvider = world.books
    result = world.job().handle(message())
    said = "Booking a payout is not supported by Plain Books (Square payout po_1)."
    assert (result.status, result.reason, result.deposit_id) == ("not_supported", said, None)
    row = world.payouts.get(COMPANY, "po_1")
    assert (row.status, row.reason, row.waiting_for) == ("not_supported", said, None)
    [run] = [r for r in world.runs.recent(COMPANY) if r.kind == "deposit"]
    assert (run.status, run.provider, run.errors[0].code, run.errors[0].message) == (
        "not_supported",
        "memory",
        "not_supported",
        said,
    )
    assert run.errors[0].fix == "Record the payout's deposit in Plain Books yourself."
    # Nothing asked of Square or the books, no admin told, nothing for the sweep to retry.
    assert world.square.reads["po_1"] == 0 and sum(books.calls.values()) == 0 and not books.writes
    assert world.notifications.for_company(COMPANY) == []
    assert world.job(grace_seconds=0).retry_waiting() == 0


def test_books_of_any_provider_that_book_payouts_get_one_deposit_through_their_port(
    memory_books: Any,
) -> None:
    world = memory_books(Capability.PAYMENTS, Capability.DEPOSITS)
    books: FakeProvider = world.books
    books.fail_next("create_deposit", "lost_answer")  # made, but its answer never came back
    results = [deliver(world, message()) for _ in range(3)]
    assert [r.status for r in results] == ["deposited"] * 3
    assert not any(r.created for r in results), "found by its marker after the lost answer"
    assert books.calls["create_deposit"] == 1
    [deposit] = books.objects["deposit"].values()
    assert results[0].deposit_id == deposit.id and deposit.data["total"] == Decimal(PAYOUT_CENTS).scaleb(-2)
    assert deposit.data["marker"] == marker(COMPANY, "po_1") and deposit.data["bank"] == "2"
    links = {
        world.docs.get(COMPANY, DocumentKind.PAYMENT, f"square-sq-{sq}").link("memory").remote_id
        for sq in "ab"
    }
    assert {line.payment_id for line in deposit.data["lines"] if line.payment_id} == links
    assert {r.provider for r in world.runs.recent(COMPANY)} == {"memory"}


def test_with_several_books_connected_the_payout_waits_and_is_booked_once_one_remains(
    memory_books: Any,
) -> None:
    """Which books a payout belongs in is not guessed: its intent is keyed by provider, so a retry
    that picked the other connection would book it twice."""
    world = memory_books(Capability.PAYMENTS, Capability.DEPOSITS)
    books: FakeProvider = world.books
    ConnectionModel(
        COMPANY, "quickbooks", connection_id="c2", status="connected", account_id="realm-9"
    ).save()
    result = world.job().handle(message())
    assert result.status == "waiting" and result.deposit_id is None
    assert "Plain Books and QuickBooks are connected" in world.payouts.get(COMPANY, "po_1").waiting_for[0]
    assert books.calls["create_deposit"] == 0 and world.square.reads["po_1"] == 0
    ConnectionModel.get(COMPANY, "quickbooks").delete()
    assert world.job(grace_seconds=0).retry_waiting() == 1
    assert world.payouts.get(COMPANY, "po_1").status == "deposited" and books.calls["create_deposit"] == 1


def test_the_deposit_write_ends_before_its_claim_does(world: SimpleNamespace) -> None:
    """A deposit whose claim is about to lapse is not sent (another worker may take the claim and
    book it): the attempt fails retryably with nothing sent, and the next one books it once."""
    late = {"by": 0.0}

    def clock() -> float:
        return time.time() + late["by"]

    class ClaimRunsOut:
        """The books, with the claim's time spent while the deposit is being sent."""

        def __getattr__(self, name: str) -> Any:
            attr = getattr(world.qbo.provider, name)
            if name != "create_deposit":
                return attr

            def create(*args: Any, **kwargs: Any) -> Any:
                late["by"] = 120.0 * (1 - ExactlyOnce.LEASE_MARGIN) - 0.5
                try:
                    return attr(*args, **kwargs)
                finally:
                    late["by"] = 0.0

            return create

    with pytest.raises(TransientError) as caught:
        world.job(provider_for=lambda _c: ClaimRunsOut(), clock=clock).handle(message())
    assert "QuickBooks was not called: this write's claim is out of time" in caught.value.message
    assert not caught.value.uncertain and deposits(world) == []
    assert [r.status for r in world.runs.recent(COMPANY) if r.kind == "deposit"] == ["retrying"]
    again = world.job().handle(message())
    assert again.status == "deposited" and again.created and len(deposits(world)) == 1
