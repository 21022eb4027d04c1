"""The engine asks the provider's declaration before it writes (issue 14): what a provider cannot
do is said as "not supported by <label>" on the document and in history, never tried and failed,
never notified to admins, never re-queued by the sweep; customers, items and invoices still sync.

The provider is the in-memory one declared as "Plain Books" (tests/fakes/provider.py): no
versions, no batch writes, no payments. It refuses what it did not declare, so an engine that
did not ask first would fail there (and notify, and retry)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind, Payment
from booksync.errors import TransientError
from booksync.integrations import Integrations
from booksync.providers.declaration import Capability
from booksync.providers.port import PaymentRefs, RemoteObject
from booksync.store.connections import ConnectionRepository
from booksync.store.links import LinkRepository
from booksync.store.models import IntentModel, link_parts
from booksync.store.notifications import NotificationRepository
from booksync.sync.sweep import Sweep

from tests import builders
from tests.fakes.provider import FakeProvider, plain_books
from tests.integration.test_invoice_sync_engine import COMPANY, job, world
from tests.integration.test_payments_and_refunds import refund, split_payment

__all__ = ["world"]  # the fixture, shared with the engine tests


def engine_over(world: SimpleNamespace, books: FakeProvider) -> SimpleNamespace:
    notifications = NotificationRepository()
    engine = builders.invoice_sync(
        world.docs,
        ConnectionRepository(),
        world.runs,
        books,
        notifications=notifications,
        declarations=lambda _provider: books.declaration(),
    )
    return SimpleNamespace(engine=engine, notifications=notifications, books=books)


def state(world: SimpleNamespace, kind: DocumentKind, doc_id: str) -> dict[str, object]:
    row = world.docs.get(COMPANY, kind, doc_id)
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    dependents = None
    if kind == DocumentKind.INVOICE:
        payments = world.docs.get_many(COMPANY, DocumentKind.PAYMENT, sorted(row.payment_ids or ()))
        dependents = {doc_id: list(payments.values())}
    return Integrations.sync_state(row, "quickbooks", connection, dependents)


def notes(world: SimpleNamespace, run_id: str | None) -> list[tuple[str, str, str]]:
    run = world.runs.get(COMPANY, str(run_id))
    return [(n.document, n.code, n.message) for n in run.notes or []]


def swept(world: SimpleNamespace) -> list[str]:
    """What the five-minute sweep queues now (pending work older than no grace at all)."""
    world.queue.jobs.clear()
    Sweep(
        documents=world.docs,
        connections=ConnectionRepository(),
        runs=world.runs,
        queue=world.queue,
        grace_seconds=-60,
    ).run()
    return [f"{j.kind} {j.invoice_id}" for j in world.queue.jobs]


def test_payments_not_supported_are_said_once_and_the_rest_syncs(world: SimpleNamespace) -> None:
    plain = engine_over(world, plain_books())
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", "40.00"))

    report = plain.engine.run(job())
    assert report.outcome == "synced" and report.error is None
    assert plain.books.writes == {"create_customer": 1, "create_item": 2, "create_invoice": 1}
    said = "Recording payments is not supported by Plain Books (payment p-1)."
    assert notes(world, report.run_id) == [
        ("payment p-1", "not_supported", said),
        ("refund r-1", "not_supported", f"Refund r-1 is of payment p-1, which is not in Plain Books: {said}"),
    ]
    assert world.runs.get(COMPANY, str(report.run_id)).status == "succeeded"
    assert plain.notifications.for_company(COMPANY) == [], "not a failure: no admin is told"
    payment = state(world, DocumentKind.PAYMENT, "p-1")
    assert payment["badge"] == "Not Supported" and payment["error"]["message"] == said  # type: ignore[index]
    assert state(world, DocumentKind.REFUND, "r-1")["badge"] == "Not Supported"
    assert state(world, DocumentKind.INVOICE, "inv-1")["badge"] == "Synced"
    assert swept(world) == [], "nothing is left pending for the sweep to re-queue"

    again = plain.engine.run(job())  # a Resync: nothing written, nothing said again
    assert again.outcome == "synced" and again.counts["not_supported"] == 1  # its refund waits with it
    assert notes(world, again.run_id) == [] and sum(plain.books.writes.values()) == 4
    assert plain.notifications.for_company(COMPANY) == []


def remote_id(world: SimpleNamespace, kind: DocumentKind, doc_id: str) -> str:
    row = world.docs.get(COMPANY, kind, doc_id)
    link = row.link("quickbooks") if row is not None else None
    assert link is not None and link.remote_id, f"{kind.value} {doc_id} is not linked"
    return str(link.remote_id)


def payment_parts(world: SimpleNamespace, payment_id: str) -> dict[str, str]:
    """What the payment's link says it is in the books: local invoice id -> remote payment id."""
    row = world.docs.get(COMPANY, DocumentKind.PAYMENT, payment_id)
    parts = link_parts(row.link("quickbooks") if row is not None else None)
    assert parts, f"payment {payment_id} has no parts"
    return parts


def test_a_payment_across_invoices_is_one_payment_per_invoice_where_the_books_take_one_invoice_each(
    world: SimpleNamespace,
) -> None:
    """Books with payments but none across invoices (Xero records a payment per invoice): the
    split payment is one payment per invoice it pays, with that invoice's amount, its link keeps
    each; nothing is "not supported", nothing failed, nothing is left for the sweep."""
    plain = engine_over(world, plain_books(Capability.PAYMENTS))
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="1002"))
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_payment(COMPANY, split_payment("p-9", "80.00", "100.00"))

    report = plain.engine.run(job())
    assert report.outcome == "synced" and notes(world, report.run_id) == []
    assert plain.books.writes["create_invoice"] == 2, "the split payment's other invoice is synced first"
    assert plain.books.writes["create_payment"] == 3, "the single payment, and one per invoice of p-9"
    parts = payment_parts(world, "p-9")
    assert remote_id(world, DocumentKind.PAYMENT, "p-9") == parts["inv-1"]
    first, second = (remote_id(world, DocumentKind.INVOICE, i) for i in ("inv-1", "inv-2"))
    paid = {
        invoice_id: plain.books.objects["payment"][remote].data["lines"]
        for invoice_id, remote in parts.items()
    }
    assert paid == {"inv-1": [(first, Decimal("80.00"))], "inv-2": [(second, Decimal("100.00"))]}
    assert state(world, DocumentKind.PAYMENT, "p-9")["badge"] == "Synced"
    assert plain.notifications.for_company(COMPANY) == [] and swept(world) == []

    other = plain.engine.run(job("inv-2"))
    assert other.outcome == "synced" and plain.books.writes["create_payment"] == 3, "each written once"


def split_per_invoice(
    world: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    nth: int,
    fault: str,
    synced_first: str | None = None,
    *more: Capability,
) -> SimpleNamespace:
    """Books with payments each on one invoice (and ``more``), whose ``nth`` payment create meets
    ``fault``; two invoices (``synced_first``, if given, synced before the payment is sent) and a
    payment across them (80.00 on inv-1, 100.00 on inv-2)."""
    books = plain_books(Capability.PAYMENTS, *more)
    create, sent = books.create_payment, []

    def create_payment(payment: Payment, refs: PaymentRefs, *, idempotency_key: str) -> RemoteObject:
        sent.append(refs.invoice_id)
        if len(sent) == nth:
            books.fail_next("create_payment", fault)
        return create(payment, refs, idempotency_key=idempotency_key)

    monkeypatch.setattr(books, "create_payment", create_payment)
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="1002"))
    plain = engine_over(world, books)
    if synced_first:
        assert plain.engine.run(job(synced_first)).outcome == "synced"
    world.service.put_payment(COMPANY, split_payment("p-9", "80.00", "100.00"))
    return plain


def assert_one_payment_per_invoice(world: SimpleNamespace, books: FakeProvider) -> None:
    remote = books.objects["payment"]
    assert len(remote) == 2 and sorted(payment_parts(world, "p-9").values()) == sorted(remote)
    assert books.paid(remote_id(world, DocumentKind.INVOICE, "inv-1")) == Decimal("80.00")
    assert books.paid(remote_id(world, DocumentKind.INVOICE, "inv-2")) == Decimal("100.00")


@pytest.mark.parametrize("lost", [1, 2], ids=["first-answer-lost", "second-answer-lost"])
def test_each_payment_of_a_payment_split_per_invoice_is_written_once_after_a_lost_answer(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, lost: int
) -> None:
    """Exactly once per remote payment: each has a key and a marker of its own, so whichever one's
    answer was lost (committed, the answer never heard), the retry finds that one and writes only
    what is missing; a redelivery writes nothing."""
    plain = split_per_invoice(world, monkeypatch, lost, "lost_answer")
    with pytest.raises(TransientError):
        plain.engine.run(job())

    assert plain.engine.run(job()).outcome == "synced"
    assert plain.engine.run(job("inv-2")).outcome == "synced"
    assert_one_payment_per_invoice(world, plain.books)


def test_a_payment_split_per_invoice_refused_halfway_keeps_what_is_in_the_books(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second invoice's payment refused: the payment fails (a person must act) and its link
    keeps the first invoice's, which is in the books; a resync writes only the missing one."""
    # inv-2 in the books already: no job syncs it within another (whose own payments would
    # retry the refused one in the same job).
    plain = split_per_invoice(world, monkeypatch, 2, "rejected", synced_first="inv-2")

    assert plain.engine.run(job()).outcome == "failed"
    (first,) = plain.books.objects["payment"]
    assert payment_parts(world, "p-9") == {"inv-1": first}
    assert state(world, DocumentKind.PAYMENT, "p-9")["badge"] == "Failed"

    assert plain.engine.run(job()).outcome == "synced"
    assert payment_parts(world, "p-9")["inv-1"] == first
    assert_one_payment_per_invoice(world, plain.books)
    shown = state(world, DocumentKind.PAYMENT, "p-9")
    assert shown["remote_parts"] == payment_parts(world, "p-9"), "the API shows every part, not the first"


def test_a_part_in_the_books_is_not_written_again_once_its_intent_has_expired(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link, not only the intent, says a part is in the books: a payment left partly written
    (its second part refused) and fixed after its intents expired (DynamoDB's TTL, 90 days) gets
    only its missing part; the first is not written a second time."""
    plain = split_per_invoice(world, monkeypatch, 2, "rejected", synced_first="inv-2")
    assert plain.engine.run(job()).outcome == "failed"
    (first,) = plain.books.objects["payment"]
    for intent in IntentModel.scan():
        if "#payment#p-9#" in intent.intent_key:
            intent.delete()  # expired

    assert plain.engine.run(job()).outcome == "synced"
    assert payment_parts(world, "p-9")["inv-1"] == first
    assert_one_payment_per_invoice(world, plain.books)


@pytest.mark.parametrize("fault", ["rejected", "transient"])
def test_a_payment_split_per_invoice_edited_after_a_partial_write_is_refused_not_completed(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Written once, edits refused, for a payment partly in the books too: inv-1's payment is
    written (80.00), inv-2's fails, then the payment is edited (70.00 on inv-1). Completing it would
    put 80.00 + 100.00 in the books for a payment of 170.00: the edit is refused with what to do,
    nothing more is written, and inv-1's payment stays on the link. Put back as it was, the rest
    is written."""
    plain = split_per_invoice(world, monkeypatch, 2, fault, "inv-2", Capability.REFUNDS)
    if fault == "transient":
        with pytest.raises(TransientError):
            plain.engine.run(job())
    else:
        assert plain.engine.run(job()).outcome == "failed"
    (first,) = plain.books.objects["payment"]
    assert state(world, DocumentKind.INVOICE, "inv-1")["badge"] in ("Out of Date", "Failed")
    world.service.put_refund(COMPANY, refund("r-1", "40.00", payment_id="p-9"))

    world.service.put_payment(COMPANY, split_payment("p-9", "70.00", "100.00"))
    report = plain.engine.run(job())
    assert report.outcome == "failed"
    assert list(plain.books.objects["payment"]) == [first], "nothing written against the edited payment"
    assert "create_refund" not in plain.books.writes, "a refund waits for its payment whole in the books"
    assert payment_parts(world, "p-9") == {"inv-1": first}
    shown = state(world, DocumentKind.PAYMENT, "p-9")
    error = shown["error"]
    assert shown["badge"] == "Failed" and isinstance(error, dict)
    assert "changed after part of it reached" in error["message"]
    assert "invoice inv-1" in error["message"] and "back as it was" in error["fix"]
    assert shown["remote_parts"] == {"inv-1": first} and shown["remote_id"] is None
    assert state(world, DocumentKind.INVOICE, "inv-1")["badge"] == "Failed"
    assert swept(world) == [], "refused: nothing pending for the sweep to retry"

    plain.engine.run(job("inv-2"))  # its other invoice's job writes nothing either
    assert list(plain.books.objects["payment"]) == [first]
    assert state(world, DocumentKind.PAYMENT, "p-9")["error"] == error, "said once, still shown"

    world.service.put_payment(COMPANY, split_payment("p-9", "80.00", "100.00"))  # put back
    assert plain.engine.run(job()).outcome == "synced"
    assert payment_parts(world, "p-9")["inv-1"] == first
    assert_one_payment_per_invoice(world, plain.books)
    assert plain.books.writes["create_refund"] == 1, "its refund follows it, whole in the books"


@pytest.mark.parametrize("deleted", ["inv-1", "inv-2"], ids=["first-part", "second-part"])
def test_a_part_of_a_payment_split_per_invoice_deleted_in_the_books_is_the_only_one_written_again(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, deleted: str
) -> None:
    """A payment split per invoice, whole in the books; someone deletes one of its payments there
    and the webhook consumer says so. The consumer finds the document by that part's own id (the
    first's or not), and the resync writes that part alone, under a new key: the other invoice's
    payment is not written a second time."""
    plain = split_per_invoice(world, monkeypatch, 0, "rejected")  # no create meets a fault
    assert plain.engine.run(job()).outcome == "synced"
    before = payment_parts(world, "p-9")
    (kept,) = set(before) - {deleted}
    plain.books.delete("payment", before[deleted])

    links = LinkRepository("quickbooks")
    (row,) = links.linked(COMPANY, DocumentKind.PAYMENT, [before[deleted]])
    assert row.doc_id == "p-9", "found by the deleted part's own id"
    assert links.mark_deleted(row, before[deleted], message="gone", fix="none", at=None, now=2.0)
    assert payment_parts(world, "p-9") == {kept: before[kept]}, "only the deleted part is dropped"

    written = plain.books.writes["create_payment"]
    assert plain.engine.run(job()).outcome == "synced"
    assert plain.books.writes["create_payment"] == written + 1, "the missing part alone"
    after = payment_parts(world, "p-9")
    assert after[kept] == before[kept] and after[deleted] not in before.values()
    assert_one_payment_per_invoice(world, plain.books)
    assert remote_id(world, DocumentKind.PAYMENT, "p-9") == after["inv-1"]
    assert plain.engine.run(job("inv-2")).outcome == "synced"
    assert plain.books.writes["create_payment"] == written + 1, "written once"


def test_refunds_not_supported_leave_their_payment_recorded(world: SimpleNamespace) -> None:
    plain = engine_over(world, plain_books(Capability.PAYMENTS))
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", "40.00"))

    report = plain.engine.run(job())
    assert report.outcome == "synced" and plain.books.writes["create_payment"] == 1
    assert "create_refund" not in plain.books.writes
    assert notes(world, report.run_id) == [
        ("refund r-1", "not_supported", "Recording refunds is not supported by Plain Books (refund r-1).")
    ]
    assert plain.notifications.for_company(COMPANY) == [] and swept(world) == []


def test_a_void_not_supported_is_said_on_the_invoice_not_failed(world: SimpleNamespace) -> None:
    plain = engine_over(world, plain_books(less=Capability.VOIDS))
    world.service.put_invoice(COMPANY, builders.invoice())
    assert plain.engine.run(job()).outcome == "synced"
    world.service.put_invoice(COMPANY, builders.invoice(status="VOID"))

    report = plain.engine.run(job())
    assert report.outcome == "not_supported"
    assert "void_invoice" not in plain.books.calls and "update_invoice" not in plain.books.writes
    assert world.runs.get(COMPANY, str(report.run_id)).status == "not_supported"
    said = "Voiding an invoice is not supported by Plain Books (invoice inv-1)."
    assert notes(world, report.run_id) == [("invoice inv-1", "not_supported", said)]
    invoice = state(world, DocumentKind.INVOICE, "inv-1")
    assert invoice["badge"] == "Not Supported" and invoice["error"]["message"] == said  # type: ignore[index]
    assert plain.notifications.for_company(COMPANY) == [] and swept(world) == []


@pytest.mark.parametrize("versioned", [True, False])
def test_an_update_names_a_version_only_where_the_provider_keeps_one(
    world: SimpleNamespace, versioned: bool
) -> None:
    """The key of an update holds the version it applies to (QuickBooks' SyncToken); a provider
    that declares none has no version to name, and its key does not pretend one."""
    books = plain_books()
    books.versioned = versioned
    plain = engine_over(world, books)
    world.service.put_invoice(COMPANY, builders.invoice(memo="A"))
    plain.engine.run(job())
    world.service.put_invoice(COMPANY, builders.invoice(memo="B"))
    plain.engine.run(job())
    assert books.writes["update_invoice"] == 1
    (update,) = [i.intent_key for i in IntentModel.scan() if "#invoice#inv-1#update#" in i.intent_key]
    assert update.endswith("#0") == versioned and "None" not in update, update
