"""An invoice's badge tells its payments' and refunds' state, and a failure's notification resolves
itself once what failed is fixed and synced (issue 12)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from booksync.documents import DocumentKind
from booksync.integrations import Integrations
from booksync.store.connections import ConnectionRepository
from booksync.store.notifications import NotificationRepository
from booksync.sync.engine import InvoiceSync

from tests import builders
from tests.fakes.integrations import fake_integrations
from tests.integration.test_invoice_sync_engine import COMPANY, job
from tests.integration.test_payments_and_refunds import refund, world

__all__ = ["world"]  # the fixture, shared with the engine tests


def engine(world: SimpleNamespace) -> InvoiceSync:
    return world.engine(notifications=NotificationRepository())


def integrations(world: SimpleNamespace, kms_key: str) -> Integrations:
    return fake_integrations(ConnectionRepository(), world.docs, kms_key)


def badge(world: SimpleNamespace, kms_key: str) -> dict[str, object]:
    state = integrations(world, kms_key).document_state(COMPANY, DocumentKind.INVOICE, "inv-1", "quickbooks")
    (listed,) = integrations(world, kms_key).invoice_badges(COMPANY, "quickbooks")
    assert listed == state, "the 7-day list and the invoice's own status agree"
    return state


def open_notifications() -> list[str]:
    return [n.kind for n in NotificationRepository().for_company(COMPANY) if n.resolved_at is None]


def test_a_refused_payment_fails_its_invoice_and_its_fix_resolves_the_notification(
    world: SimpleNamespace, kms_key: str
) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.provider.fail_next("create_payment", "rejected")  # as QuickBooks' 6000 refuses it
    engine(world).run(job())
    state = badge(world, kms_key)
    assert state["badge"] == "Failed", "the invoice is in the books, its payment is not"
    assert state["error"] == {"code": "rejected", "message": "Payment p-1: refused", "fix": "fix it"}
    assert open_notifications() == ["quickbooks:sync_failed:rejected"]
    # The business corrects the payment; the next sync books it: nothing is left to tell.
    world.service.put_payment(COMPANY, builders.payment("p-1", "90.00"))
    assert badge(world, kms_key)["badge"] == "Out of Date", "a payment waits for the books"
    engine(world).run(job())
    assert badge(world, kms_key)["badge"] == "Synced"
    assert open_notifications() == []


def test_a_notification_stays_open_while_another_document_still_fails(
    world: SimpleNamespace, kms_key: str
) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-0", "50.00"))
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.provider.fail_next("create_payment", "rejected")
    world.provider.fail_next("create_payment", "rejected")
    engine(world).run(job())
    (note,) = NotificationRepository().for_company(COMPANY)
    assert note.subjects == {"payment p-0", "payment p-1"}
    world.service.put_payment(COMPANY, builders.payment("p-1", "90.00"))
    world.provider.fail_next("create_payment", "rejected")  # p-0 is refused again
    engine(world).run(job())  # p-1 books
    assert open_notifications() == ["quickbooks:sync_failed:rejected"]
    assert badge(world, kms_key)["badge"] == "Failed"
    engine(world).run(job())  # p-0 books at last
    assert open_notifications() == []


def test_a_notification_counts_only_the_documents_that_failed_its_way(world: SimpleNamespace) -> None:
    """Its subjects are what must sync for it to resolve: a document that failed otherwise in the
    same job (a refused payment beside the invoice's total) would hold it open for good, as that
    document's sync settles only its own failure's notification."""
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    original = world.provider._invoice_data

    def taxed(invoice: object, refs: object) -> dict[str, object]:  # tax the business never charged
        data = original(invoice, refs)
        data["total"] += Decimal("7.00")
        return data

    world.provider._invoice_data = taxed
    world.provider.fail_next("create_payment", "rejected")
    report = engine(world).run(job())
    assert [f["code"] for f in report.failures] == ["total_mismatch", "rejected"]
    subjects = {n.kind: n.subjects for n in NotificationRepository().for_company(COMPANY)}
    assert subjects["quickbooks:sync_failed:total_mismatch"] == {"invoice inv-1"}


def test_a_refused_refund_fails_its_invoice_too(world: SimpleNamespace, kms_key: str) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    engine(world).run(job())
    world.service.put_refund(COMPANY, refund("r-1", "40.00"))
    assert badge(world, kms_key)["badge"] == "Out of Date"
    world.provider.fail_next("create_refund", "rejected")
    engine(world).run(job())
    state = badge(world, kms_key)
    assert state["badge"] == "Failed" and "Refund r-1" in str(state["error"])
