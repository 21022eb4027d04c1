"""The official ``freshbooks-sdk``, pointed at the FreshBooks sandbox, reads back what booksync's
FreshBooks adapter wrote there (issue 16): a client with booksync's mark, items, an invoice with
its number, marker, taxed lines, discount and memo, sent (never left a draft), and payments that
make FreshBooks read it partial, then paid. Each is read through the SDK's own models and builders
(amounts as decimal strings with their code), so what booksync writes is what FreshBooks' own client
understands. The SDK's own contract with the sandbox: test_freshbooks_python_sdk.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from booksync.documents import Customer, Invoice, Item, Payment, PaymentMethod, marker
from booksync.documents import DocumentKind as Kind
from booksync.providers.freshbooks.adapter import FreshBooksProvider
from booksync.providers.freshbooks.oauth import FreshBooksOAuth
from booksync.providers.port import InvoiceRefs, ItemRefs, PaymentRefs
from booksync.settings import FreshBooksSettings
from freshbooks import Client, FilterBuilder, IncludesBuilder

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl, redirect_params
from tests.lambda_env import freshbooks_environment

pytestmark = pytest.mark.contract

CLIENT_ID, SECRET, REDIRECT = "booksync-contract-app", "booksync-contract-secret", "https://app.test/oauth/fb"
COMPANY = "acme"


class Tokens:
    """booksync's token source, holding the one access token its consent gave."""

    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        raise AssertionError("the sandbox refused booksync's token")


@dataclass
class Books:
    adapter: FreshBooksProvider
    sdk: Client
    account_id: str


@pytest.fixture
def books(monkeypatch: pytest.MonkeyPatch) -> Iterator[Books]:
    with FreshBooksSandbox() as sandbox, FreshBooksControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        settings = FreshBooksSettings.model_validate(freshbooks_environment(sandbox.url, CLIENT_ID, SECRET))
        oauth = FreshBooksOAuth.from_settings(settings)
        code = redirect_params(
            control.consent_at(oauth.authorization_url(state="s-1", redirect_uri=REDIRECT))
        )
        tokens = oauth.exchange_code(code=code["code"], redirect_uri=REDIRECT)
        (business,) = oauth.list_organisations(tokens)
        adapter = FreshBooksProvider.build(settings, business.id, Tokens(tokens.access_token), None)
        monkeypatch.setenv("FRESHBOOKS_API_URL", sandbox.url)
        monkeypatch.setenv("FRESHBOOKS_AUTH_URL", sandbox.url)
        sdk = Client(client_id=CLIENT_ID, access_token=tokens.access_token, auto_retry=False)
        yield Books(adapter, sdk, business.id)


def test_the_sdk_reads_booksyncs_client_items_invoice_and_payments(books: Books) -> None:
    adapter, sdk, account = books.adapter, books.sdk, books.account_id
    customer = Customer(id="c-1", display_name="Lovelace Plumbing", given_name="Ada", email="ada@example.com")
    client = adapter.create_customer(customer, idempotency_key="k-c", currency="CAD")
    items = {
        local: adapter.create_item(
            Item(id=local, name=name, unit_price=price), ItemRefs(None), idempotency_key=local
        )
        for local, name, price in (
            ("i-1", "Drain cleaning", Decimal("150.00")),
            ("i-2", "Trip charge", Decimal("80.00")),
        )
    }
    invoice = Invoice.model_validate(
        {
            "id": "inv-1",
            "number": "INV-1001",
            "customer_id": "c-1",
            "status": "SENT",
            "issue_date": "2026-03-01",
            "due_date": "2026-03-31",
            "currency": "CAD",
            "lines": [
                {"item_id": "i-1", "quantity": "2", "unit_price": "150.00"},
                {"item_id": "i-2", "quantity": "1", "unit_price": "80.00", "taxable": False},
            ],
            "discount": {"kind": "percent", "value": "10"},
            "tax_rate_percent": "8.875",
            "memo": "Thank you for your business",
        }
    )
    invoice_marker = marker(COMPANY, Kind.INVOICE, "inv-1")
    refs = InvoiceRefs(client.id, {k: v.id for k, v in items.items()}, invoice_marker)
    remote = adapter.create_invoice(invoice, refs, idempotency_key="k-inv")

    seen_client = sdk.clients.get(account, int(client.id))
    assert (seen_client.organization, seen_client.fname, seen_client.email) == (
        "Lovelace Plumbing",
        "Ada",
        "ada@example.com",
    )
    assert (seen_client.note, seen_client.currency_code) == ("booksync:customer:c-1", "CAD")
    seen_item = sdk.items.get(account, int(items["i-1"].id))
    assert seen_item.name == "Drain cleaning" and Decimal(seen_item.unit_cost.amount) == Decimal("150.00")

    includes = IncludesBuilder().include("lines")
    seen = sdk.invoices.get(account, int(remote.id), includes=includes)
    assert (seen.invoice_number, seen.po_number, seen.notes) == ("INV-1001", invoice_marker, invoice.memo)
    assert seen.v3_status == "sent", "marked sent, never left a FreshBooks draft"
    assert seen.currency_code == "CAD" and seen.create_date == date(2026, 3, 1)
    assert seen.due_date == date(2026, 3, 31)
    assert Decimal(seen.discount_value) == Decimal(10)
    # FreshBooks' total is booksync's: (300 + 80) - 10% = 342.00, tax 8.875% of 270.00 = 23.96.
    assert invoice.total == Decimal("365.96")
    # Money as decimal strings with their code, never a float.
    assert seen.amount.data == {"amount": "365.96", "code": "CAD"}
    assert Decimal(seen.outstanding.amount) == invoice.total
    first, second = seen.lines
    assert (first.name, Decimal(first.qty), first.unit_cost.amount) == (
        "Drain cleaning",
        2,
        "150.00",
    )
    assert (first.taxName1, Decimal(first.taxAmount1)) == ("Sales tax", Decimal("8.875"))
    assert second.name == "Trip charge" and not second.data.get("taxAmount1")

    payments = []
    for pid, amount, day in (("p-1", "100.00", 2), ("p-2", "265.96", 3)):
        payment = Payment(
            id=pid,
            invoice_id="inv-1",
            amount=Decimal(amount),
            date=date(2026, 3, day),
            method=PaymentMethod.CHECK,
            reference=f"cheque {day}",
        )
        pay_refs = PaymentRefs(client.id, remote.id, marker(COMPANY, Kind.PAYMENT, pid), "CAD")
        payments.append(adapter.create_payment(payment, pay_refs, idempotency_key=pid))
        state = sdk.invoices.get(account, int(remote.id))
        assert state.v3_status == ("partial" if pid == "p-1" else "paid"), "FreshBooks' own status"

    listed = sdk.payments.list(account, builders=[FilterBuilder().equals("invoiceid", int(remote.id))])
    assert sorted(p.id for p in listed) == sorted(int(p.id) for p in payments)
    by_id = {p.id: p for p in listed}
    seen_payment = by_id[int(payments[0].id)]
    assert seen_payment.amount.data == {"amount": "100.00", "code": "CAD"}
    assert seen_payment.type == "Check" and seen_payment.date == date(2026, 3, 2)
    assert seen_payment.note == f"{marker(COMPANY, Kind.PAYMENT, 'p-1')} | cheque 2"
    final = sdk.invoices.get(account, int(remote.id))
    assert Decimal(final.outstanding.amount) == 0 and Decimal(final.paid.amount) == invoice.total


def test_a_note_a_person_wrote_on_a_client_is_kept_beside_booksyncs_mark(books: Books) -> None:
    """A client's note is a person's too: booksync's updates keep what they wrote there, its mark
    on a line of its own (never twice), and its lookup still finds the client by that mark."""
    adapter, sdk, account = books.adapter, books.sdk, books.account_id
    customer = Customer(id="c-1", display_name="Lovelace Plumbing", email="ada@example.com")
    client = adapter.create_customer(customer, idempotency_key="k-c", currency="CAD")
    sdk.clients.update(account, int(client.id), {"note": "Gate code 4711.\nbooksync:customer:c-1"})
    current = adapter.get_customer(client.id)
    assert current is not None
    adapter.update_customer(current, customer.model_copy(update={"phone": "555-0100"}), idempotency_key="k-u")
    seen = sdk.clients.get(account, int(client.id))
    assert (seen.note, seen.bus_phone) == ("Gate code 4711.\nbooksync:customer:c-1", "555-0100")
    found = adapter.find_customer(customer)
    assert found is not None and found.id == client.id

    # A client a person made, with their note: linked by its e-mail, it gets the mark after it.
    theirs = sdk.clients.create(
        account, {"organization": "Babbage Ltd", "email": "cb@example.com", "note": "VIP"}
    )
    babbage = Customer(id="c-2", display_name="Babbage Ltd", email="cb@example.com")
    found = adapter.find_customer(babbage)
    assert found is not None and found.id == str(theirs.id) and found.marker is None
    for key in ("k-1", "k-2"):
        current = adapter.get_customer(found.id)
        assert current is not None
        adapter.update_customer(current, babbage, idempotency_key=key)
        assert sdk.clients.get(account, theirs.id).note == "VIP\nbooksync:customer:c-2"
    again = adapter.find_customer(babbage)
    assert again is not None and again.marker == "booksync:customer:c-2"
