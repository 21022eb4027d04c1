"""Split payments and refund receipts through the QuickBooks adapter against the sandbox: each
line applied to its invoice's balance, invoices shown paid once payments total them, refunds on
the "Refunds" item out of Undeposited Funds (or the chosen account), found again after doubt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from booksync.documents import Payment, PaymentMethod, Refund
from booksync.errors import TransientError
from booksync.providers.port import InvoiceRefs, PaymentRefs, RefundRefs, RemoteObject

from local.sandboxes.quickbooks.control import SandboxControl
from tests.integration.test_quickbooks_adapter_sandbox import (
    Connected,
    company,
    control,
    invoice_1001,
    oauth,
    sandbox,
    setup_documents,
)

__all__ = ["company", "control", "oauth", "sandbox"]  # fixtures shared with the adapter tests


def two_invoices(company: Connected) -> tuple[RemoteObject, RemoteObject, RemoteObject]:
    customer, item = setup_documents(company)
    created = []
    for local_id, number in (("inv-1", "1001"), ("inv-2", "1002")):
        refs = InvoiceRefs(customer_id=customer.id, item_ids={"i-1": item.id}, marker=f"m:invoice:{local_id}")
        doc = invoice_1001(id=local_id, number=number)
        created.append(company.provider.create_invoice(doc, refs, idempotency_key=f"{local_id}-create"))
    return customer, created[0], created[1]


def split(pid: str, first: str, second: str, **kw: Any) -> Payment:
    return Payment.model_validate(
        {
            "id": pid,
            "amount": str(Decimal(first) + Decimal(second)),
            "date": "2025-03-05",
            "applications": [
                {"invoice_id": "inv-1", "amount": first},
                {"invoice_id": "inv-2", "amount": second},
            ],
            **kw,
        }
    )


def balance(company: Connected, remote: RemoteObject) -> Decimal | None:
    current = company.provider.get_invoice(remote.id)
    assert current is not None
    return current.balance


def test_one_payment_across_two_invoices_pays_each_line_and_is_found_again(
    company: Connected, control: SandboxControl
) -> None:
    customer, first, second = two_invoices(company)
    payment = split("p-1", "270.00", "100.00", method="check", reference="CHK-7")
    refs = PaymentRefs(
        customer_id=customer.id,
        invoice_id=first.id,
        marker="m:payment:p-1",
        applications=((first.id, Decimal("270.00")), (second.id, Decimal("100.00"))),
        currency="USD",
    )
    paid = company.provider.create_payment(payment, refs, idempotency_key="p-1-create")
    assert paid.total == Decimal("370.00")
    assert balance(company, first) == Decimal("0"), "the first invoice shows paid"
    assert balance(company, second) == Decimal("170.00")
    (stored,) = control.ledger(company.realm)["entities"]["Payment"]
    assert [(line["Amount"], line["LinkedTxn"][0]["TxnId"]) for line in stored["Line"]] == [
        (270.0, first.id),
        (100.0, second.id),
    ]
    assert stored["UnappliedAmt"] == 0
    found = company.provider.find_payment(payment, refs)
    assert found is not None and found.id == paid.id

    rest = Payment(id="p-2", invoice_id="inv-2", amount=Decimal("170.00"), date=date(2025, 3, 9))
    rest_refs = PaymentRefs(
        customer_id=customer.id, invoice_id=second.id, marker="m:payment:p-2", currency="USD"
    )
    company.provider.create_payment(rest, rest_refs, idempotency_key="p-2-create")
    assert balance(company, second) == Decimal("0"), "paid once the payments total it"


def refund(rid: str = "r-1", amount: str = "40.00", **kw: Any) -> Refund:
    values = {"id": rid, "payment_id": "p-1", "amount": amount, "date": "2025-03-10", **kw}
    return Refund.model_validate(values)


def paid_invoice(company: Connected) -> RemoteObject:
    customer, first, _ = two_invoices(company)
    payment = Payment(
        id="p-1", invoice_id="inv-1", amount=Decimal("270.00"), date=date(2025, 3, 5), method="credit_card"
    )
    refs = PaymentRefs(customer_id=customer.id, invoice_id=first.id, marker="m:payment:p-1", currency="USD")
    company.provider.create_payment(payment, refs, idempotency_key="p-1-create")
    return customer


def test_a_refund_is_a_refund_receipt_on_the_refunds_item_out_of_undeposited_funds(
    company: Connected, control: SandboxControl
) -> None:
    customer = paid_invoice(company)
    refs = RefundRefs(
        customer_id=customer.id, marker="m:refund:r-1", method=PaymentMethod.CREDIT_CARD, currency="USD"
    )
    created = company.provider.create_refund(
        refund(reason="Part returned", reference="sq-rf-1"), refs, idempotency_key="r-1-create"
    )
    assert created.total == Decimal("40.00") and created.marker == "m:refund:r-1"
    second_refs = RefundRefs(
        customer_id=customer.id, marker="m:refund:r-2", method=PaymentMethod.CREDIT_CARD, currency="USD"
    )
    company.provider.create_refund(refund("r-2", "10.00"), second_refs, idempotency_key="r-2-create")

    ledger = control.ledger(company.realm)["entities"]
    first, second = ledger["RefundReceipt"]
    line = first["Line"][0]
    assert line["Amount"] == 40.0 and line["Description"] == "Part returned"
    assert line["SalesItemLineDetail"]["ItemRef"]["name"] == "Refunds"
    assert first["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert first["PaymentMethodRef"]["name"] == "Credit Card"
    assert first["PaymentRefNum"] == "sq-rf-1" and first["TxnDate"] == "2025-03-10"
    assert first["PrivateNote"] == "m:refund:r-1"
    assert first["CustomerRef"]["value"] == customer.id
    refunds_items = [i for i in ledger["Item"] if i["Name"] == "Refunds"]
    assert len(refunds_items) == 1, "the Refunds item is made once, on first need"
    assert refunds_items[0]["Type"] == "Service"
    assert refunds_items[0]["IncomeAccountRef"]["name"] == "Discounts given"
    assert second["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == refunds_items[0]["Id"]
    undeposited = next(a for a in ledger["Account"] if a["Name"] == "Undeposited Funds")
    assert undeposited["CurrentBalance"] == 270.0 - 40.0 - 10.0

    found = company.provider.find_refund(refund(), refs)
    assert found is not None and found.id == created.id
    other = RefundRefs(
        customer_id=customer.id, marker="m:refund:r-9", method=PaymentMethod.CREDIT_CARD, currency="USD"
    )
    assert company.provider.find_refund(refund(), other) is None


def test_refunds_paid_from_the_chosen_account(company: Connected, control: SandboxControl) -> None:
    customer = paid_invoice(company)
    checking = next(a for a in company.provider.list_accounts() if a.name == "Checking")
    refs = RefundRefs(
        customer_id=customer.id,
        marker="m:refund:r-1",
        method=PaymentMethod.CHECK,
        from_account_id=checking.id,
        currency="USD",
    )
    company.provider.create_refund(refund(), refs, idempotency_key="r-1-create")
    (receipt,) = control.ledger(company.realm)["entities"]["RefundReceipt"]
    assert receipt["DepositToAccountRef"]["value"] == checking.id
    assert receipt["PaymentMethodRef"]["name"] == "Check"


def test_a_lost_refund_answer_is_uncertain_and_the_lookup_finds_it(
    company: Connected, control: SandboxControl
) -> None:
    customer = paid_invoice(company)
    refs = RefundRefs(
        customer_id=customer.id, marker="m:refund:r-1", method=PaymentMethod.CREDIT_CARD, currency="USD"
    )
    control.add_fault("commit_then_reset", entity="RefundReceipt", operation="create", times=1)
    with pytest.raises(TransientError) as caught:
        company.provider.create_refund(refund(), refs, idempotency_key="r-1-create")
    assert caught.value.uncertain is True
    found = company.provider.find_refund(refund(), refs)
    assert found is not None and found.total == Decimal("40.00")
