"""The invoice sync engine over real tables (moto server) and an in-memory provider with faults."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind
from booksync.errors import Conflict, NeedsReconnection, RateLimited, TransientError
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync
from booksync.sync.jobs import SyncJob
from booksync.sync.records import DocumentService

from tests import builders
from tests.fakes.provider import FakeProvider, Recording
from tests.threads import run_threads

COMPANY = "acme"


class ListQueue:
    def __init__(self) -> None:
        self.jobs: list[SyncJob] = []

    def enqueue(self, jobs: list[SyncJob]) -> None:
        self.jobs.extend(jobs)


@pytest.fixture
def world(tables: SimpleNamespace) -> SimpleNamespace:
    ConnectionModel(
        COMPANY, "quickbooks", connection_id="c1", status="connected", account_id="realm-1"
    ).save()
    provider = FakeProvider()
    seen = Recording(provider)  # what the engine asks of the provider, every call counted
    queue = ListQueue()
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(documents=docs, connections=conns, runs=runs, queue=queue)

    def engine(
        owner: str | None = None,
        notifications: NotificationRepository | None = None,
        clock: Callable[[], float] = time.time,
    ) -> InvoiceSync:
        return builders.invoice_sync(
            docs, conns, runs, seen, notifications=notifications, clock=clock, owner=owner
        )

    service.put_customer(COMPANY, builders.customer())
    service.put_item(COMPANY, builders.item("i-1"))
    service.put_item(COMPANY, builders.item("i-2", name="Trip\tcharge", price="80.00"))
    # The customer's own job (auto_sync_customers): left unrun, the invoices' jobs push it.
    assert [(j.kind, j.invoice_id) for j in queue.jobs] == [("customer", "c-1")]
    queue.jobs.clear()
    return SimpleNamespace(
        provider=provider, seen=seen, queue=queue, docs=docs, service=service, engine=engine, runs=runs
    )


def job(invoice_id: str = "inv-1") -> SyncJob:
    return SyncJob(company_id=COMPANY, invoice_id=invoice_id, provider="quickbooks")


def test_a_draft_never_syncs(world: SimpleNamespace) -> None:
    accepted = world.service.put_invoice(COMPANY, builders.invoice(status="DRAFT"))
    assert not accepted.pending and world.queue.jobs == []
    report = world.engine().run(job())
    assert report.outcome == "skipped"
    assert sum(world.provider.writes.values()) == 0


def test_sent_invoice_pushes_customer_items_invoice_and_payments_once(world: SimpleNamespace) -> None:
    accepted = world.service.put_invoice(COMPANY, builders.invoice())
    assert accepted.pending and len(world.queue.jobs) == 1
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_payment(COMPANY, builders.payment("p-2", "280.00"))

    report = world.engine().run(job())
    assert report.outcome == "synced"
    assert world.provider.writes == {
        "create_customer": 1,
        "create_item": 2,
        "create_invoice": 1,
        "create_payment": 2,
    }
    remote_invoice = world.provider.objects["invoice"][report.remote_invoice_id]
    assert remote_invoice.data["total"] == Decimal("380.00")
    assert remote_invoice.data["balance"] == Decimal("0.00")

    world.seen.calls.clear()
    again = world.engine().run(job())
    assert again.outcome == "synced" and again.counts["unchanged"] == 6
    assert world.seen.calls == {}, "an unchanged invoice costs no provider call, not even a read"
    assert sum(world.provider.writes.values()) == 6, "a repeat creates nothing"
    row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert row.pending_bucket is None
    assert row.link("quickbooks").pushed_hash == row.content_hash


def test_an_edit_after_sync_is_out_of_date_then_updated(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    edited = builders.invoice(memo="Gate code 1234")
    accepted = world.service.put_invoice(COMPANY, edited)
    assert accepted.changed and accepted.pending
    row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert row.link("quickbooks").pushed_hash != row.content_hash
    world.engine().run(job())
    assert world.provider.writes["update_invoice"] == 1
    assert world.provider.writes["create_invoice"] == 1


def test_existing_customer_is_linked_by_email_not_duplicated(world: SimpleNamespace) -> None:
    # The same mailbox and the same person, written the other way round.
    world.provider._create("customer", {"name": "LOVELACE, Ada", "email": "ada@example.com"})
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    assert world.provider.writes["create_customer"] == 1  # only the seeded one
    assert len(world.provider.objects["customer"]) == 1


def test_duplicate_name_on_create_links_the_existing_item(world: SimpleNamespace) -> None:
    # QuickBooks created the item but the answer was lost before booksync stored it.
    world.provider.fail_next("create_item", "lost_answer")
    world.service.put_invoice(COMPANY, builders.invoice())
    with pytest.raises(TransientError):
        world.engine().run(job())
    world.engine().run(job())
    names = sorted(o.data["name"] for o in world.provider.objects["item"].values())
    assert names == ["Drain cleaning", "Tripcharge"]  # stored as QuickBooks stores it


@pytest.mark.parametrize("operation", ["create_customer", "create_invoice", "create_payment"])
def test_committed_but_answer_lost_never_duplicates(world: SimpleNamespace, operation: str) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment())
    world.provider.fail_next(operation, "lost_answer")
    with pytest.raises(TransientError):
        world.engine().run(job())
    world.engine().run(job())
    kind = operation.removeprefix("create_")
    assert len(world.provider.objects[kind]) == 1
    assert (
        world.docs.get(
            COMPANY, DocumentKind(kind), {"customer": "c-1", "invoice": "inv-1", "payment": "p-1"}[kind]
        )
        .link("quickbooks")
        .remote_id
    )


def test_rate_limit_propagates_for_the_queue_to_delay(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.provider.fail_next("create_invoice", "rate_limited")
    with pytest.raises(RateLimited) as info:
        world.engine().run(job())
    assert info.value.retry_after == 3
    runs = world.runs.recent(COMPANY)
    assert any(r.status == "retrying" for r in runs)


def test_rejected_invoice_is_failed_with_the_reason_and_not_swept_again(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.provider.fail_next("create_invoice", "rejected")
    report = world.engine().run(job())
    assert report.outcome == "failed"
    row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert row.link("quickbooks").error_message == "refused"
    assert row.pending_bucket is None


def test_stale_version_is_reread_and_retried(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    # Someone edits it in QuickBooks: the stored SyncToken is now stale.
    remote_id = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1").link("quickbooks").remote_id
    world.provider.objects["invoice"][remote_id].version += 1
    world.service.put_invoice(COMPANY, builders.invoice(memo="changed"))
    assert world.engine().run(job()).outcome == "synced"
    assert world.provider.writes["update_invoice"] == 1


def test_a_stale_version_is_reread_up_to_three_times_then_the_conflict_is_the_answer(
    world: SimpleNamespace,
) -> None:
    """Two edits racing ours in the provider are outlasted; a third makes the job fail as a
    Conflict (the queue retries it), not as an internal error, and after exactly three tries."""
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    world.service.put_invoice(COMPANY, builders.invoice(memo="changed"))
    for _ in range(2):
        world.provider.fail_next("update_invoice", "conflict")
    assert world.engine().run(job()).outcome == "synced"
    assert (world.provider.calls["update_invoice"], world.provider.writes["update_invoice"]) == (3, 1)
    world.service.put_invoice(COMPANY, builders.invoice(memo="changed again"))
    for _ in range(3):
        world.provider.fail_next("update_invoice", "conflict")
    with pytest.raises(Conflict):
        world.engine().run(job())
    assert (world.provider.calls["update_invoice"], world.provider.writes["update_invoice"]) == (6, 1)


def test_an_invoice_parked_after_it_reached_the_books_shows_synced_once_its_job_completes(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grant went away between the invoice and its payment: the job is parked with the invoice
    already in the books. Once reconnected, the unchanged invoice is not pushed again, and its
    status stops saying it is blocked."""
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment())
    create_payment = world.provider.create_payment

    def revoked(*args: object, **kwargs: object) -> object:
        monkeypatch.setattr(world.provider, "create_payment", create_payment)
        raise NeedsReconnection("invalid_grant", provider="quickbooks")

    monkeypatch.setattr(world.provider, "create_payment", revoked)
    assert world.engine().run(job()).outcome == "blocked"
    parked = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1").link("quickbooks")
    assert parked.remote_id and parked.outcome == "blocked"
    assert world.engine().run(job()).outcome == "synced"
    link = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1").link("quickbooks")
    assert (link.outcome, link.error_code, link.error_message) == ("synced", None, None)
    assert world.provider.writes["create_invoice"] == 1 and world.provider.writes["create_payment"] == 1


def test_edits_a_b_a_b_all_reach_a_provider_without_versions(world: SimpleNamespace) -> None:
    """Issue 14: a provider with no version on its objects (Xero, FreshBooks and Wave have no
    SyncToken). Keyed by content hash and version, the second B found the first B's update done
    and pushed nothing, while the invoice showed Synced: every push has a key of its own."""
    world.provider.versioned = False
    world.service.put_invoice(COMPANY, builders.invoice(memo="A"))
    world.engine().run(job())
    remote_id = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1").link("quickbooks").remote_id
    for memo in ("B", "A", "B"):
        world.service.put_invoice(COMPANY, builders.invoice(memo=memo))
        assert world.engine().run(job()).outcome == "synced"
        assert world.provider.objects["invoice"][remote_id].data["memo"] == memo
    assert world.provider.writes["update_invoice"] == 3


def test_deleted_in_provider_is_recreated(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    customer_id = world.docs.get(COMPANY, DocumentKind.CUSTOMER, "c-1").link("quickbooks").remote_id
    world.provider.delete("customer", customer_id)
    world.service.put_customer(COMPANY, builders.customer(phone="555-0100"))
    world.service.put_invoice(COMPANY, builders.invoice(memo="again"))
    world.engine().run(job())
    assert world.provider.writes["create_customer"] == 2
    assert len(world.provider.objects["customer"]) == 1


def test_concurrent_workers_and_redeliveries_make_one_remote_object_each(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "50.00"))
    world.service.put_payment(COMPANY, builders.payment("p-2", "60.00"))
    outcomes: list[str] = []

    def attempt(worker: str) -> None:
        try:
            outcomes.append(world.engine(worker).run(job()).outcome)
        except TransientError:  # "another worker is writing this record": retried later
            outcomes.append("busy")

    run_threads(*(functools.partial(attempt, f"w{i}") for i in range(6)))  # any other error fails
    # The worker furthest along never waits on one behind it: at least one finishes the job.
    assert len(outcomes) == 6 and "synced" in outcomes, outcomes
    world.engine().run(job())  # the redelivery after any busy refusals
    assert {k: len(v) for k, v in world.provider.objects.items() if v} == {
        "customer": 1,
        "item": 2,
        "invoice": 1,
        "payment": 2,
    }


def test_a_payment_edited_after_sync_is_reported_not_silently_dropped(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.engine().run(job())
    # The door refuses such an edit (tests/integration/test_door.py); one stored while the sync
    # was writing the payment got past it, and is reported.
    world.docs.put(COMPANY, DocumentKind.PAYMENT, builders.payment("p-1", "120.00"), now=1.0, pending=True)
    report = world.engine().run(job())
    assert report.outcome == "failed"
    assert "changed after it reached" in report.error
    assert world.provider.writes["create_payment"] == 1
    row = world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1")
    assert row.link("quickbooks").outcome == "failed"


def test_a_total_the_provider_computes_differently_is_reported(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    original = world.provider._invoice_data

    def taxed(invoice, refs):  # the provider adds tax the business never charged
        data = original(invoice, refs)
        data["total"] += Decimal("7.00")
        return data

    world.provider._invoice_data = taxed
    report = world.engine().run(job())
    assert report.outcome == "failed"
    assert "booksync sent 380.00" in report.error
    assert world.provider.writes["create_invoice"] == 1


def test_a_put_never_drops_a_payment_or_link_written_meanwhile(world: SimpleNamespace) -> None:
    import time

    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    stale = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")  # what a slow PUT read
    world.service.put_payment(COMPANY, builders.payment("p-1"))  # lands before that PUT writes
    original_get = world.docs.get
    world.docs.get = lambda company, kind, doc_id: (
        stale if kind == DocumentKind.INVOICE else original_get(company, kind, doc_id)
    )
    world.docs.put(
        COMPANY,
        DocumentKind.INVOICE,
        builders.invoice(memo="late edit"),
        now=time.time(),
        status="SENT",
        pending=True,
        sent=True,
    )
    world.docs.get = original_get
    row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert row.payment_ids == {"p-1"}
    assert row.link("quickbooks").remote_id, "the worker's link survives the PUT"
    assert row.body["memo"] == "late edit"


def test_an_edit_between_a_lost_create_answer_and_the_retry_reaches_the_books(world: SimpleNamespace) -> None:
    # Found by the soak: the retry found the object its first attempt created, with the old content,
    # and linked it as if it held the new one.
    world.service.put_invoice(COMPANY, builders.invoice())
    world.provider.fail_next("create_invoice", "lost_answer")
    with pytest.raises(TransientError):
        world.engine().run(job())
    edited = builders.invoice(lines=[{"item_id": "i-1", "quantity": "3", "unit_price": "150.00"}])
    world.service.put_invoice(COMPANY, edited)
    assert world.engine().run(job()).outcome == "synced"
    (remote,) = world.provider.objects["invoice"].values()
    assert remote.data["total"] == edited.total == Decimal("450.00")
    assert world.provider.writes["create_invoice"] == 1


def test_a_job_that_read_the_invoice_before_another_synced_it_sends_no_update(
    world: SimpleNamespace,
) -> None:
    # Found by the Xero soak: a job that read the invoice unlinked (a redelivery racing its twin)
    # found the create already done by the twin, which had also recorded a payment on it, and
    # "brought it up to date" with the very content it holds: an update that changes nothing costs
    # a call, and Xero refuses any update of an invoice with a payment on it.
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment())
    stale = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")  # what the slow twin read
    assert world.engine().run(job()).outcome == "synced"
    original_get = world.docs.get
    reads = [stale]  # the job's first read of the invoice is the stale one; later reads are fresh
    world.docs.get = lambda company, kind, doc_id: (
        reads.pop()
        if reads and (kind, doc_id) == (DocumentKind.INVOICE, "inv-1")
        else original_get(company, kind, doc_id)
    )
    calls = dict(world.provider.writes)
    assert world.engine().run(job()).outcome == "synced"
    world.docs.get = original_get
    assert world.provider.writes == calls, "an unchanged invoice costs no write"
    assert len(world.provider.objects["invoice"]) == len(world.provider.objects["payment"]) == 1


def test_an_update_the_books_refuse_is_said_once_and_the_edit_lands_when_synced_again(
    world: SimpleNamespace,
) -> None:
    # Xero refuses any change to an invoice with a payment on it, until the payment is removed there.
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    edited = builders.invoice(lines=[{"item_id": "i-1", "quantity": "3", "unit_price": "150.00"}])
    world.service.put_invoice(COMPANY, edited)
    world.provider.fail_next("update_invoice", "rejected")
    assert world.engine().run(job()).outcome == "failed"
    row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert row.pending_bucket is None, "said once: no sweep sends it again by itself"
    assert row.link("quickbooks").pushed_hash != row.content_hash, "the edit is kept, not marked sent"
    assert world.engine().run(job()).outcome == "synced"  # synced again once the books take it
    (remote,) = world.provider.objects["invoice"].values()
    assert remote.data["total"] == edited.total == Decimal("450.00")
