"""The Wave adapter against the Wave sandbox (local/sandboxes/wave), as booksync's declaration
builds it: a taxed and discounted invoice whose total in Wave is booksync's to the cent (each
taxable line's tax amount of the business's sales tax of that rate), created approved and marked
sent, kept sent by an edit; a payment turning it PAID, found again by its marker; and a taxed
invoice refused when the business has no sales tax of its rate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from booksync.documents import Customer, Invoice, Item, Payment
from booksync.errors import Rejected
from booksync.providers.port import AccountingProvider, InvoiceRefs, ItemRefs, PaymentRefs
from booksync.providers.registry import declaration
from booksync.settings import WaveSettings

from local.sandboxes.wave.config import ClientApp, WaveConfig
from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import SCOPES, WaveControl

CLIENT_ID, CLIENT_SECRET = "wave-adapter-app", "wave-adapter-secret"
REDIRECT = "https://booksync.test/oauth/wave/callback"
SALES_TAX = """mutation($input: SalesTaxCreateInput!) {
  salesTaxCreate(input: $input) { didSucceed salesTax { id } }
}"""


class Tokens:
    def __init__(self, access_token: str) -> None:
        self.token = access_token

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        raise AssertionError("no token is refused here")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[WaveSandbox]:
    config = WaveConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    server = WaveSandbox(config=config, businesses=()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def business(sandbox: WaveSandbox) -> Iterator[tuple[WaveControl, str, AccountingProvider]]:
    with WaveControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        business_id = control.add_business("Adapter Inc", "USD", "pro")
        tokens = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT, business_id)
        settings = WaveSettings.model_validate(
            {
                "WAVE_CLIENT_ID": CLIENT_ID,
                "WAVE_CLIENT_SECRET": CLIENT_SECRET,
                "WAVE_GRAPHQL_URL": f"{sandbox.url}/graphql/public",
                "WAVE_SCOPES": SCOPES,
            }
        )
        build = declaration("wave").builders.adapter
        assert build is not None
        yield control, business_id, build(settings, business_id, Tokens(tokens.access_token), None)


def invoice(**extra: object) -> Invoice:
    return Invoice.model_validate(
        {
            "id": "inv-1",
            "customer_id": "c-1",
            "number": "W-1",
            "status": "SENT",
            "issue_date": "2026-03-01",
            "lines": [
                {"item_id": "i-1", "quantity": "3", "unit_price": "19.99"},
                {"item_id": "i-2", "quantity": "1", "unit_price": "45.00", "taxable": False},
            ],
            "discount": {"kind": "percent", "value": "7.5"},
            "tax_rate_percent": "8.25",
            "memo": "Thank you",
            **extra,
        }
    )


def refs(books: AccountingProvider, control: WaveControl, business_id: str) -> InvoiceRefs:
    [sales] = [a["id"] for a in control.ledger(business_id)["accounts"] if a["name"] == "Sales"]
    customer = books.create_customer(Customer(id="c-1", display_name="Ada Lovelace"), idempotency_key="k")
    items = {
        item_id: books.create_item(
            Item(id=item_id, name=f"Thing {item_id}", unit_price=Decimal("1")),
            ItemRefs(sales),
            idempotency_key="k",
        ).id
        for item_id in ("i-1", "i-2")
    }
    return InvoiceRefs(customer_id=customer.id, item_ids=items, marker="booksync:acme:invoice:inv-1")


def test_a_taxed_discounted_invoice_totals_booksyncs_and_turns_paid_once_covered(
    business: tuple[WaveControl, str, AccountingProvider],
) -> None:
    control, business_id, books = business
    control.in_wave(
        business_id,
        SALES_TAX,
        {"input": {"businessId": business_id, "name": "State", "abbreviation": "ST", "rate": "0.0825"}},
    )
    doc = invoice()
    remote = books.create_invoice(doc, refs(books, control, business_id), idempotency_key="k")
    [stored] = control.ledger(business_id)["invoices"]
    assert Decimal(stored["total"]) == doc.total == remote.total, "Wave's total is booksync's to the cent"
    assert stored["lastSentVia"] and stored["status"] != "DRAFT", "approved and marked sent"
    invoice_refs = refs_of(stored)
    edited = books.update_invoice(remote, invoice(memo="Edited"), invoice_refs, idempotency_key="k2")
    [stored] = control.ledger(business_id)["invoices"]
    assert (stored["memo"], edited.total) == ("Edited", doc.total)
    assert stored["lastSentVia"] and stored["status"] != "DRAFT", "an edit keeps it sent"
    [bank] = [a["id"] for a in control.ledger(business_id)["accounts"] if a["name"] == "Business Checking"]
    payment_refs = PaymentRefs(
        customer_id="x",
        invoice_id=remote.id,
        marker="booksync:acme:payment:p-1",
        currency="USD",
        deposit_account_id=bank,
    )
    payment = Payment(id="p-1", invoice_id="inv-1", amount=doc.total, date=date(2026, 3, 2))
    books.create_payment(payment, payment_refs, idempotency_key="k")
    [stored] = control.ledger(business_id)["invoices"]
    assert (stored["status"], Decimal(stored["amountDue"])) == ("PAID", Decimal(0))
    assert books.find_payment(payment, payment_refs) is not None


def refs_of(stored: dict[str, object]) -> InvoiceRefs:
    items = stored["items"]
    assert isinstance(items, list)
    return InvoiceRefs(
        customer_id=str(stored["customerId"]),
        item_ids={"i-1": items[0]["productId"], "i-2": items[1]["productId"]},
        marker="m",
    )


def test_a_taxed_invoice_is_refused_when_the_business_has_no_sales_tax_of_its_rate(
    business: tuple[WaveControl, str, AccountingProvider],
) -> None:
    control, business_id, books = business
    with pytest.raises(Rejected) as refused:
        books.create_invoice(invoice(), refs(books, control, business_id), idempotency_key="k")
    assert refused.value.fix.startswith("Add a sales tax of 8.25% in Wave (Settings > Sales Taxes)")
    assert control.ledger(business_id)["invoices"] == []
