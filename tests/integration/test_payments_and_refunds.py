"""Payments applied across several invoices and refunds, through the sync engine over real tables."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind, Payment, Refund
from booksync.sync.records import FieldProblem

from tests import builders
from tests.integration.test_invoice_sync_engine import COMPANY, world

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
    with pytest.raises(ValueError, match="at most 21"):
        refund(reference="x" * 22)
    assert refund(amount="5").amount == Decimal("5.00")


# ---------------------------------------------------------------------- recording split payments


def test_payment_forms_validate() -> None:
    assert builders.payment().invoice_ids == ["inv-1"]
    assert split_payment().invoice_ids == ["inv-1", "inv-2"]
    with pytest.raises(ValueError, match=r"add up to 480\.00, not the payment amount 500\.00"):
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
    world.service.put_payment(COMPANY, builders.payment("p-9", "480.00"))
    with pytest.raises(FieldProblem, match="cannot move"):
        world.service.put_payment(COMPANY, split_payment())
