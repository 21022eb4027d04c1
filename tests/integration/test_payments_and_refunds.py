"""Payments applied across several invoices and refunds, through the sync engine over real tables."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind, Payment, Refund
from booksync.errors import FieldProblem, TransientError
from booksync.integrations import Integrations
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel
from booksync.sync.sweep import Sweep

from tests import builders
from tests.integration.test_invoice_sync_engine import COMPANY, job, world
from tests.threads import run_threads

__all__ = ["world"]  # the fixture, shared with the engine tests


def refund(rid: str = "r-1", amount: str = "40.00", payment_id: str = "p-1", **kw: object) -> Refund:
    return Refund.model_validate(
        {"id": rid, "payment_id": payment_id, "amount": amount, "date": "2026-11-05", **kw}
    )


def split_payment(pid: str = "p-9", first: str = "380.00", second: str = "100.00", **kw: object) -> Payment:
    total = Decimal(first) + Decimal(second)
    return Payment.model_validate(
        {
            "id": pid,
            "amount": str(total),
            "date": "2026-11-03",
            "applications": [
                {"invoice_id": "inv-1", "amount": first},
                {"invoice_id": "inv-2", "amount": second},
            ],
            **kw,
        }
    )


# ---------------------------------------------------------------------- recording refunds


def test_a_refund_is_recorded_on_its_payment_and_queues_the_invoice(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.queue.jobs.clear()
    accepted = world.service.put_refund(COMPANY, refund())
    assert accepted.created and accepted.pending
    assert [j.invoice_id for j in world.queue.jobs] == ["inv-1"]
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1").refund_ids == {"r-1"}
    again = world.service.put_refund(COMPANY, refund())
    assert not again.changed, "an identical re-send changes nothing"


def test_a_refund_of_an_unknown_payment_is_refused_naming_the_field(world: SimpleNamespace) -> None:
    with pytest.raises(FieldProblem) as refused:
        world.service.put_refund(COMPANY, refund(payment_id="p-404"))
    assert refused.value.field == "payment_id"
    assert "no payment 'p-404'" in refused.value.message and "PUT /payments/p-404" in (
        refused.value.fix or ""
    )
    assert world.docs.get(COMPANY, DocumentKind.REFUND, "r-1") is None, "nothing stored"


def test_refunds_over_the_payment_are_refused(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", "60.00"))
    with pytest.raises(FieldProblem) as refused:
        world.service.put_refund(COMPANY, refund("r-2", "40.01"))
    assert refused.value.field == "amount"
    assert "more than the payment's 100.00" in refused.value.message
    assert refused.value.fix == "Refund at most 40.00 on this payment."
    assert world.docs.get(COMPANY, DocumentKind.REFUND, "r-2") is None
    # Editing a refund counts the others, not itself.
    assert world.service.put_refund(COMPANY, refund("r-1", "100.00")).changed


def test_a_refund_cannot_move_to_another_payment(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_payment(COMPANY, builders.payment("p-2", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", payment_id="p-1"))
    with pytest.raises(FieldProblem) as refused:
        world.service.put_refund(COMPANY, refund("r-1", payment_id="p-2"))
    assert refused.value.field == "payment_id"


def test_refund_validation() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        refund(amount="0")
    with pytest.raises(ValueError, match="decimal places"):
        refund(amount="1.001")
    # booksync's own limit; QuickBooks' 21 is its declaration's, checked at the door (test_door.py).
    with pytest.raises(ValueError, match="at most 100"):
        refund(reference="x" * 101)
    assert refund(amount="5").amount == Decimal("5.00")


# ---------------------------------------------------------------------- recording split payments


def test_payment_forms_validate() -> None:
    assert builders.payment().invoice_ids == ["inv-1"]
    assert split_payment().invoice_ids == ["inv-1", "inv-2"]
    with pytest.raises(
        ValueError, match=r"applications\n.*add up to 480\.00, not the payment amount 500\.00"
    ):
        Payment.model_validate({**split_payment().model_dump(mode="json"), "amount": "500.00"})
    with pytest.raises(ValueError, match="only once"):
        Payment.model_validate(
            {
                "id": "p",
                "amount": "2",
                "date": "2026-11-03",
                "applications": [{"invoice_id": "a", "amount": "1"}, {"invoice_id": "a", "amount": "1"}],
            }
        )
    with pytest.raises(ValueError, match="not both"):
        Payment.model_validate({**split_payment().model_dump(mode="json"), "invoice_id": "inv-1"})
    with pytest.raises(ValueError, match="give invoice_id"):
        Payment(id="p", amount=Decimal(1), date=date(2026, 11, 3))
    with pytest.raises(ValueError, match="at least 1"):
        Payment.model_validate({"id": "p", "amount": "1", "date": "2026-11-03", "applications": []})


def test_the_single_form_keeps_its_hash() -> None:
    """Payments stored before ``applications`` existed must not look edited."""
    single = builders.payment()
    assert "applications" not in single.model_dump(mode="json", exclude_none=True)
    legacy: dict[str, str | None] = {
        "id": "p-1",
        "invoice_id": "inv-1",
        "amount": "100.00",
        "date": "2026-11-03",
    }
    legacy |= {"method": "other", "reference": None, "memo": None}
    canonical = json.dumps(legacy, sort_keys=True, separators=(",", ":"))
    assert single.content_hash() == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_split_payment_is_recorded_on_every_invoice(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_invoice(COMPANY, builders.invoice("inv-2"))
    world.queue.jobs.clear()
    accepted = world.service.put_payment(COMPANY, split_payment())
    assert accepted.pending and len(world.queue.jobs) == 1
    for invoice_id in ("inv-1", "inv-2"):
        assert "p-9" in world.docs.get(COMPANY, DocumentKind.INVOICE, invoice_id).payment_ids


def test_a_split_payment_needs_known_invoices_of_one_customer(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    with pytest.raises(FieldProblem) as refused:
        world.service.put_payment(COMPANY, split_payment())
    assert refused.value.field == "applications.invoice_id" and "'inv-2'" in refused.value.message
    world.service.put_customer(COMPANY, builders.customer("c-2", display_name="Bob"))
    world.service.put_invoice(COMPANY, builders.invoice("inv-2", customer_id="c-2"))
    with pytest.raises(FieldProblem, match="different customers"):
        world.service.put_payment(COMPANY, split_payment())
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-9") is None


def test_a_split_payment_cannot_move_to_other_invoices(world: SimpleNamespace) -> None:
    for invoice_id in ("inv-1", "inv-2"):
        world.service.put_invoice(COMPANY, builders.invoice(invoice_id))
    world.service.put_payment(COMPANY, builders.payment("p-9", "380.00"))
    with pytest.raises(FieldProblem, match="cannot move"):
        world.service.put_payment(COMPANY, split_payment())


# ---------------------------------------------------------------------- syncing split payments


def two_sent_invoices(world: SimpleNamespace, second_status: str = "SENT") -> None:
    world.service.put_invoice(COMPANY, builders.invoice())  # total 380.00
    world.service.put_invoice(COMPANY, builders.invoice("inv-2", status=second_status))


def remote_payment(world: SimpleNamespace) -> object:
    (stored,) = world.provider.objects["payment"].values()
    return stored


def remote_invoice(world: SimpleNamespace, invoice_id: str) -> object:
    link = world.docs.get(COMPANY, DocumentKind.INVOICE, invoice_id).link("quickbooks")
    return world.provider.objects["invoice"][link.remote_id]


def assert_one_split_payment(world: SimpleNamespace) -> None:
    stored = remote_payment(world)
    first, second = remote_invoice(world, "inv-1"), remote_invoice(world, "inv-2")
    assert stored.data["lines"] == [(first.id, Decimal("380.00")), (second.id, Decimal("100.00"))]
    assert first.data["balance"] == Decimal("0"), "paid in full"
    assert second.data["balance"] == Decimal("280.00")
    row = world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-9")
    assert row.link("quickbooks").remote_id == stored.id and row.pending_bucket is None
    assert len(world.provider.objects["invoice"]) == 2


@pytest.mark.parametrize("first_job", ["inv-1", "inv-2"])
def test_a_split_payment_syncs_once_whichever_invoice_syncs_first(
    world: SimpleNamespace, first_job: str
) -> None:
    two_sent_invoices(world)
    world.service.put_payment(COMPANY, split_payment())
    report = world.engine().run(job(first_job))
    assert report.outcome == "synced"
    assert world.provider.writes["create_invoice"] == 2, "the other invoice is synced first"
    assert report.remote_invoice_id == remote_invoice(world, first_job).id
    assert_one_split_payment(world)
    for invoice_id in ("inv-1", "inv-2"):
        assert world.engine().run(job(invoice_id)).outcome == "synced"
    assert world.provider.writes["create_payment"] == 1
    assert world.provider.writes["create_invoice"] == 2


def test_a_split_payment_waits_for_an_invoice_in_draft(world: SimpleNamespace) -> None:
    two_sent_invoices(world, second_status="DRAFT")
    accepted = world.service.put_payment(COMPANY, split_payment())
    assert not accepted.pending, "nothing to push while one of its invoices is a draft"
    report = world.engine().run(job("inv-1"))
    assert report.outcome == "synced" and report.counts["waiting"] == 1
    assert world.provider.writes["create_payment"] == 0
    assert world.provider.writes["create_invoice"] == 1, "a draft never syncs"
    world.service.put_invoice(COMPANY, builders.invoice("inv-2"))  # sent now
    world.engine().run(job("inv-2"))
    assert_one_split_payment(world)


def test_a_split_payment_after_a_lost_answer_is_found_by_the_other_invoice(world: SimpleNamespace) -> None:
    two_sent_invoices(world)
    world.service.put_payment(COMPANY, split_payment())
    world.provider.fail_next("create_payment", "lost_answer")
    with pytest.raises(TransientError):
        world.engine().run(job("inv-1"))
    # The retry comes through the other invoice's job: the intent is the payment's, not the invoice's.
    assert world.engine().run(job("inv-2")).outcome == "synced"
    assert world.provider.writes["create_payment"] == 1
    assert world.provider.calls["find_payment"] == 1
    assert_one_split_payment(world)


def test_concurrent_syncs_of_both_invoices_make_one_payment(world: SimpleNamespace) -> None:
    two_sent_invoices(world)
    world.service.put_payment(COMPANY, split_payment())
    busy: list[BaseException] = []

    def attempt(invoice_id: str, worker: str) -> None:
        try:
            world.engine(worker).run(job(invoice_id))
        except TransientError as exc:  # another worker holds the intent: the queue retries
            busy.append(exc)

    run_threads(
        *(
            functools.partial(attempt, invoice_id, f"w{n}-{invoice_id}")
            for n in range(3)
            for invoice_id in ("inv-1", "inv-2")
        )
    )
    for invoice_id in ("inv-1", "inv-2"):  # the redeliveries of any busy refusals
        world.engine().run(job(invoice_id))
    assert world.provider.writes["create_payment"] == 1
    assert world.provider.writes["create_invoice"] == 2
    assert_one_split_payment(world)


def test_a_split_payment_over_a_void_invoice_is_refused_with_the_reason(world: SimpleNamespace) -> None:
    two_sent_invoices(world)
    world.service.put_payment(COMPANY, split_payment())
    world.service.put_invoice(COMPANY, builders.invoice("inv-2", status="VOID"))
    report = world.engine().run(job("inv-1"))
    assert report.outcome == "failed"
    assert "also pays invoice inv-2, which is void" in (report.error or "")
    assert world.provider.writes["create_payment"] == 0


# ---------------------------------------------------------------------- syncing refunds


def test_a_refund_syncs_once_after_its_payment_even_when_the_answer_is_lost(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00", method="credit_card"))
    world.service.put_refund(COMPANY, refund())
    world.provider.fail_next("create_refund", "lost_answer")
    with pytest.raises(TransientError):
        world.engine().run(job())
    report = world.engine().run(job())
    assert report.outcome == "synced"
    (stored,) = world.provider.objects["refund"].values()
    assert stored.data["amount"] == Decimal("40.00") and stored.data["method"] == "credit_card"
    assert stored.data["account"] is None, "the provider's default: Undeposited Funds"
    customer = world.docs.get(COMPANY, DocumentKind.CUSTOMER, "c-1").link("quickbooks").remote_id
    assert stored.data["customer"] == customer
    row = world.docs.get(COMPANY, DocumentKind.REFUND, "r-1")
    assert row.link("quickbooks").remote_id == stored.id and row.pending_bucket is None
    assert world.engine().run(job()).outcome == "synced"
    assert world.provider.writes["create_refund"] == 1 and world.provider.writes["create_payment"] == 1


@pytest.mark.parametrize("kind", ["payment", "refund"])
def test_a_write_whose_answer_was_lost_is_looked_up_before_every_later_try_even_after_a_refusal(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The doubt a lost answer leaves stays with the write: a retry the provider refused (its
    lookup had missed the object, as a search not yet up to date does) is not the end of it, and
    the next try still looks before it creates."""
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    if kind == "refund":
        world.service.put_refund(COMPANY, refund())
    world.provider.fail_next(f"create_{kind}", "lost_answer")
    with pytest.raises(TransientError):
        world.engine().run(job())
    (created,) = world.provider.objects[kind]
    find, missed = getattr(world.provider, f"find_{kind}"), []

    def misses_once(*args: object) -> object:
        if not missed:
            missed.append(args)
            return None
        return find(*args)

    monkeypatch.setattr(world.provider, f"find_{kind}", misses_once)
    world.provider.fail_next(f"create_{kind}", "rejected")
    refused = world.engine().run(job())
    assert refused.outcome == "failed" and refused.failures[0]["document"] == f"{kind} {kind[0]}-1"
    assert world.engine().run(job()).outcome == "synced"
    assert len(missed) == 1 and list(world.provider.objects[kind]) == [created]
    row = world.docs.get(COMPANY, DocumentKind(kind), f"{kind[0]}-1")
    assert row.link("quickbooks").remote_id == created


def test_refunds_are_paid_from_the_connection_setting(world: SimpleNamespace) -> None:
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    connection.update(actions=[ConnectionModel.settings.refunds_from_account_id.set("2")])
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund())
    world.engine().run(job())
    (stored,) = world.provider.objects["refund"].values()
    assert stored.data["account"] == "2"


def test_payments_go_into_the_payment_account_and_refunds_come_out_of_it_unless_set_apart(
    world: SimpleNamespace,
) -> None:
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    connection.update(actions=[ConnectionModel.settings.payment_account_id.set("2")])
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund())
    assert world.engine().run(job()).outcome == "synced"
    ((payment,), (paid_back,)) = (world.provider.objects[kind].values() for kind in ("payment", "refund"))
    assert (payment.data["account"], paid_back.data["account"]) == ("2", "2")


def test_a_refund_edited_after_sync_is_reported_like_an_edited_payment(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund())
    world.engine().run(job())
    # The door refuses such an edit (tests/integration/test_door.py); one stored while the sync
    # was writing the refund got past it, and is reported.
    world.docs.put(COMPANY, DocumentKind.REFUND, refund(amount="45.00"), now=1.0, pending=True)
    report = world.engine().run(job())
    assert report.outcome == "failed"
    assert "Refund r-1 changed after it reached QuickBooks" in (report.error or "")
    assert report.failures[0]["document"] == "refund r-1"
    assert world.provider.writes["create_refund"] == 1
    assert world.docs.get(COMPANY, DocumentKind.REFUND, "r-1").link("quickbooks").outcome == "failed"


def test_a_refund_does_not_make_its_invoice_out_of_date(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", "10.00"))  # before the invoice ever synced
    world.engine().run(job())
    connection = ConnectionRepository().get(COMPANY, "quickbooks")

    def badge() -> str | None:
        row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
        return Integrations.sync_state(row, "quickbooks", connection)["badge"]

    assert badge() == "Synced"
    world.service.put_refund(COMPANY, refund("r-2", "20.00"))  # after it synced
    assert badge() == "Synced"
    world.engine().run(job())
    assert badge() == "Synced"
    assert len(world.provider.objects["refund"]) == 2


def test_a_refund_of_a_split_payment_syncs_once(world: SimpleNamespace) -> None:
    two_sent_invoices(world)
    world.service.put_payment(COMPANY, split_payment())
    world.service.put_refund(COMPANY, refund(payment_id="p-9", amount="480.00"))
    world.engine().run(job("inv-2"))
    world.engine().run(job("inv-1"))
    assert len(world.provider.objects["refund"]) == 1
    assert world.provider.writes["create_refund"] == 1


def test_the_sweep_queues_a_pending_refund_through_its_payments_invoice(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.engine().run(job())
    connections = ConnectionRepository()
    connection = connections.get(COMPANY, "quickbooks")
    connection.update(actions=[ConnectionModel.settings.auto_sync_payments.set(False)])
    world.queue.jobs.clear()
    accepted = world.service.put_refund(COMPANY, refund())
    assert accepted.pending and world.queue.jobs == [], "auto-sync of payments is off: not queued"
    sweep = Sweep(
        documents=world.docs, connections=connections, runs=world.runs, queue=world.queue, grace_seconds=0
    )
    assert sweep.run().queued == 1
    assert [j.invoice_id for j in world.queue.jobs] == ["inv-1"]
    world.engine().run(world.queue.jobs[0])
    assert len(world.provider.objects["refund"]) == 1
    assert sweep.run().queued == 0, "nothing left pending"


def test_a_payment_cannot_shrink_below_its_refunds(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", "60.00"))
    with pytest.raises(FieldProblem) as refused:
        world.service.put_payment(COMPANY, builders.payment("p-1", "59.99"))
    assert refused.value.field == "amount" and "already add up to 60.00" in refused.value.message
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1").body["amount"] == "100.00"
    assert world.service.put_payment(COMPANY, builders.payment("p-1", "60.00")).changed


def test_a_split_payment_whose_other_invoice_is_refused_says_so_and_syncs_later(
    world: SimpleNamespace,
) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job("inv-1"))
    world.service.put_invoice(COMPANY, builders.invoice("inv-2"))
    world.service.put_payment(COMPANY, split_payment())
    world.provider.fail_next("create_invoice", "rejected")  # inv-2, synced within inv-1's job
    report = world.engine().run(job("inv-1"))
    assert report.outcome == "failed"
    assert "Payment p-9 waits for invoice inv-2, which could not be synced: refused" in (report.error or "")
    assert world.provider.writes["create_payment"] == 0
    # inv-2's own job (the sweep queues it: it is still pending) syncs it, then the payment.
    assert world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-2").pending_bucket
    assert world.engine().run(job("inv-2")).outcome == "synced"
    assert_one_split_payment(world)
