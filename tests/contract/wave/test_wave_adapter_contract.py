"""Every document booksync's Wave adapter sends (``providers/wave/operations.py``) validates
against the Wave sandbox's schema (written from the same basis as Wave's live one: specs/wave/),
and so does every request the adapter makes, with the variables it sends, through a whole life of
a customer, products, an invoice (taxed, discounted, edited, deleted) and a payment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from booksync.documents import Customer, Invoice, Item, Payment, PaymentMethod
from booksync.providers.port import InvoiceRefs, ItemRefs, PaymentRefs
from booksync.providers.wave import operations as ops
from booksync.providers.wave.adapter import WaveProvider
from booksync.providers.wave.client import operation

from local.sandboxes.wave.schema import document_errors
from tests.unit.providers.wave_fake import FakeWave

BY_NAME = {operation(document)[1]: document for document in ops.OPERATIONS}


@pytest.mark.parametrize("document", ops.OPERATIONS, ids=lambda document: operation(document)[1])
def test_every_document_the_adapter_sends_validates_against_waves_schema(document: str) -> None:
    assert document_errors(document) == []


def test_the_variables_the_adapter_sends_coerce_as_wave_takes_them() -> None:
    wave = FakeWave()
    wave.creates_drafts = True  # the approve step too
    wave.sales_taxes = [
        {"id": "tax-1", "name": "GST", "abbreviation": "GST", "rate": "0.05", "isArchived": False}
    ]
    books = WaveProvider(wave.client())
    customer = Customer.model_validate(
        {
            "id": "c-1",
            "display_name": "Jane Smith",
            "given_name": "Jane",
            "family_name": "Smith",
            "email": "jane@example.com",
            "phone": "555-0100",
            "billing_address": {"line1": "1 Main St", "city": "Toronto", "region": "ON", "country": "CA"},
        }
    )
    assert books.find_customer(customer) is None
    remote_customer = books.create_customer(customer, idempotency_key="k", currency="CAD")
    books.update_customer(remote_customer, customer, idempotency_key="k")
    books.get_customer(remote_customer.id)
    item = Item(id="i-1", name="Design", unit_price=Decimal("120.00"), description="An hour")
    assert books.find_item(item) is None
    product = books.create_item(item, ItemRefs("acc-sales"), idempotency_key="k")
    books.update_item(product, item, ItemRefs("acc-sales"), idempotency_key="k")
    books.get_item(product.id)
    document = Invoice.model_validate(
        {
            "id": "inv-1",
            "customer_id": "c-1",
            "number": "1001",
            "status": "SENT",
            "issue_date": "2026-03-01",
            "due_date": "2026-03-31",
            "currency": "CAD",
            "lines": [{"item_id": "i-1", "quantity": "1.5", "unit_price": "120.00", "description": "Logo"}],
            "discount": {"kind": "amount", "value": "10.00"},
            "tax_rate_percent": "5",
            "memo": "Thank you",
        }
    )
    refs = InvoiceRefs(customer_id=remote_customer.id, item_ids={"i-1": product.id}, marker="m")
    remote = books.create_invoice(document, refs, idempotency_key="k")
    books.update_invoice(remote, document.model_copy(update={"memo": None}), refs, idempotency_key="k")
    books.find_invoice(document, "m")
    payment = Payment(
        id="p-1", invoice_id="inv-1", amount=Decimal("50"), date=date(2026, 3, 2), method=PaymentMethod.CHECK
    )
    payment_refs = PaymentRefs(
        customer_id=remote_customer.id,
        invoice_id=remote.id,
        marker="mp",
        currency="CAD",
        deposit_account_id="acc-bank",
    )
    books.create_payment(payment, payment_refs, idempotency_key="k")
    books.find_payment(payment, payment_refs)
    books.list_accounts()
    books.company_currencies()
    books.delete_invoice(remote, idempotency_key="k")
    sent = {name for name, _ in wave.sent}
    assert sent == set(BY_NAME), "the whole life sends every document"
    for name, variables in wave.sent:
        assert document_errors(BY_NAME[name], variables) == [], name
