"""The Wave adapter and its GraphQL client against an in-memory Wave (``wave_fake.py``): Wave's
errors at HTTP 200 and a mutation's ``inputErrors`` as typed errors, one refreshed token after
UNAUTHENTICATED, 429 waited out; an invoice created, approved and marked sent, an attempt stopped
between the steps finished by the lookup after it (never a second invoice); payments found again
by booksync's marker; customers by their displayId; products by name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from booksync.documents import Customer, Invoice, Item, Payment, PaymentMethod, Refund
from booksync.errors import ConnectionDown, Rejected, TransientError
from booksync.providers.declaration import NotSupported
from booksync.providers.port import InvoiceRefs, ItemRefs, PaymentRefs, RefundRefs
from booksync.providers.wave.adapter import WaveProvider
from booksync.providers.wave.faults import PAID_FIX, REQUEST_FIX

from tests.unit.providers.qbo_fake import FakeTokens
from tests.unit.providers.wave_fake import FakeWave, error, ok

MARKER = "booksync:acme:payment:p-1"


@pytest.fixture
def wave() -> FakeWave:
    return FakeWave()


def adapter(wave: FakeWave, tokens: FakeTokens | None = None) -> WaveProvider:
    return WaveProvider(wave.client(tokens))


def customer(**extra: object) -> Customer:
    return Customer.model_validate(
        {"id": "c-1", "display_name": "Jane Smith", "email": "jane@example.com", **extra}
    )


def invoice(**extra: object) -> Invoice:
    return Invoice.model_validate(
        {
            "id": "inv-1",
            "customer_id": "c-1",
            "number": "1001",
            "status": "SENT",
            "issue_date": "2026-03-01",
            "lines": [
                {"item_id": "i-1", "quantity": "2", "unit_price": "33.33"},
                {"item_id": "i-2", "quantity": "1", "unit_price": "10.00", "taxable": False},
            ],
            **extra,
        }
    )


def refs(books: WaveProvider, wave: FakeWave) -> InvoiceRefs:
    remote = books.create_customer(customer(), idempotency_key="k-c")
    items = {}
    for item_id in ("i-1", "i-2"):
        item = Item(id=item_id, name=f"Item {item_id}", unit_price=Decimal("10"))
        items[item_id] = books.create_item(item, ItemRefs("acc-sales"), idempotency_key=f"k-{item_id}").id
    wave.calls.clear()
    wave.sent.clear()
    return InvoiceRefs(customer_id=remote.id, item_ids=items, marker="booksync:acme:invoice:inv-1")


# ---------------------------------------------------------------------- the client


def test_an_unauthenticated_answer_at_200_gets_one_fresh_token_then_the_connection_is_down(
    wave: FakeWave,
) -> None:
    tokens = FakeTokens("old", "new")
    wave.queued = [
        error("UNAUTHENTICATED", "token expired"),
        ok({"business": {"id": "b", "currency": {"code": "CAD"}}}),
    ]
    assert adapter(wave, tokens).company_currencies().home == "CAD"
    assert tokens.rejected == ["old"], "one refresh, then the same request again"
    wave.queued = [error("UNAUTHENTICATED", "no"), error("UNAUTHENTICATED", "still no")]
    with pytest.raises(ConnectionDown, match="Wave refused booksync's access: still no"):
        adapter(wave, FakeTokens("a", "b")).company_currencies()


def test_errors_at_200_are_typed_and_say_what_to_do(wave: FakeWave) -> None:
    books = adapter(wave)
    wave.queued = [error("GRAPHQL_VALIDATION_FAILED", 'Cannot query field "nope" on type "Business".')]
    with pytest.raises(Rejected) as invalid:
        books.company_currencies()
    assert invalid.value.fix == REQUEST_FIX and invalid.value.provider_code == "GRAPHQL_VALIDATION_FAILED"
    wave.queued = [error("BAD_USER_INPUT", "Variable $input got invalid value")]
    with pytest.raises(Rejected, match=r"Variable \$input got invalid value"):
        books.create_customer(customer(), idempotency_key="k")
    wave.queued = [error("NOT_FOUND", "Customer not found")]
    assert books.get_customer("cus-404") is None
    wave.queued = [error("INTERNAL_SERVER_ERROR", "boom")]
    with pytest.raises(TransientError) as failed:
        books.create_customer(customer(), idempotency_key="k")
    assert failed.value.uncertain, "a mutation Wave failed on its side may have been applied"


def test_a_mutation_refused_names_each_field_with_waves_message(wave: FakeWave) -> None:
    wave.queued = [
        ok(
            {
                "customerCreate": {
                    "didSucceed": False,
                    "inputErrors": [
                        {"path": ["input", "email"], "message": "Enter a valid email", "code": "INVALID"}
                    ],
                    "customer": None,
                }
            }
        )
    ]
    with pytest.raises(Rejected) as refused:
        adapter(wave).create_customer(customer(), idempotency_key="k")
    assert refused.value.message == (
        "Wave rejected the request: input.email: Enter a valid email [INVALID] (WaveCustomerCreate)"
    )
    assert refused.value.provider_code == "INVALID"


def test_a_429_is_waited_out_as_its_retry_after_says_and_the_request_sent_again(wave: FakeWave) -> None:
    slept: list[float] = []
    books = adapter(wave)
    books._client._http._sleep = slept.append  # type: ignore[attr-defined]
    wave.queued = [httpx.Response(429, headers={"Retry-After": "3"})]
    books.create_customer(customer(), idempotency_key="k")
    assert slept == [3.0] and len(wave.customers) == 1
    assert wave.calls["WaveCustomerCreate"] == 2, "a 429 was not run: sent again after the wait"


# ---------------------------------------------------------------------- customers and products


def test_a_customer_is_found_by_its_display_id_else_only_under_its_name_when_surely_the_same(
    wave: FakeWave,
) -> None:
    books = adapter(wave)
    wave.customers["x"] = {"id": "x", "name": "Jane Smith", "displayId": "c-9", "email": "jane@example.com"}
    assert books.find_customer(customer()) is None, "another system's customer under the name is not ours"
    wave.customers["y"] = {"id": "y", "name": "jane smith", "displayId": None, "email": "jane@example.com"}
    assert books.find_customer(customer()).id == "y"  # type: ignore[union-attr]
    created = books.create_customer(customer(), idempotency_key="k")
    assert wave.customers[created.id]["displayId"] == "c-1"
    assert books.find_customer(customer()).id == created.id  # type: ignore[union-attr]


def test_a_product_is_found_by_name_on_any_page_and_an_archived_one_is_never_linked(wave: FakeWave) -> None:
    books = adapter(wave)
    wave.page_size = 1
    for index in range(3):
        wave.products[f"p{index}"] = {"id": f"p{index}", "name": f"Thing {index}", "isArchived": False}
    wave.products["old"] = {"id": "old", "name": "Widget", "isArchived": True}
    item = Item(id="i-1", name="Widget", unit_price=Decimal("5"))
    assert books.find_item(item) is None
    wave.products["p2"]["name"] = "widget"
    assert books.find_item(item).id == "p2"  # type: ignore[union-attr]
    assert wave.calls["WaveProducts"] == 8, "every page read (4 a lookup)"


def test_a_product_is_sold_through_the_income_account_chosen_else_refused(wave: FakeWave) -> None:
    books = adapter(wave)
    item = Item(id="i-1", name="Widget", unit_price=Decimal("12.50"), description="Blue")
    created = books.create_item(item, ItemRefs("acc-sales"), idempotency_key="k")
    assert wave.products[created.id] | {"id": ""} == {
        "id": "",
        "name": "Widget",
        "unitPrice": "12.50",
        "incomeAccountId": "acc-sales",
        "description": "Blue",
        "isArchived": False,
    }
    with pytest.raises(Rejected, match="no income account"):
        books.create_item(item, ItemRefs(None), idempotency_key="k2")


# ---------------------------------------------------------------------- invoices


def test_an_invoice_is_created_approved_and_marked_sent_with_booksyncs_total(wave: FakeWave) -> None:
    books = adapter(wave)
    wave.sales_taxes = [
        {"id": "tax-8", "name": "State", "abbreviation": "ST", "rate": "0.0825", "isArchived": False}
    ]
    doc = invoice(discount={"kind": "percent", "value": "10"}, tax_rate_percent="8.25", memo="Thanks")
    remote = books.create_invoice(doc, refs(books, wave), idempotency_key="k")
    assert [name for name, _ in wave.sent] == ["WaveSalesTaxes", "WaveInvoiceCreate", "WaveInvoiceMarkSent"]
    assert remote.total == doc.total == Decimal("73.94"), "Wave's total is booksync's to the cent"
    sent = wave.sent[1][1]["input"]
    assert sent["discounts"] == [{"discountType": "FIXED", "amount": "7.67", "name": "Discount"}]
    assert sent["items"][0]["taxes"] == [{"salesTaxId": "tax-8", "amount": "4.95"}]
    assert "taxes" not in sent["items"][1], "an untaxed line bears no tax"
    assert wave.invoices[remote.id]["status"] == "SENT" and sent["memo"] == "Thanks"
    assert sent["status"] == "SAVED", "created approved: booksync never sends a draft"
    assert wave.sent[2][1]["input"] == {"invoiceId": remote.id, "sendMethod": "MARKED_SENT"}


def test_an_invoice_wave_answers_as_a_draft_is_approved_then_marked_sent(wave: FakeWave) -> None:
    books = adapter(wave)
    wave.creates_drafts = True
    remote = books.create_invoice(invoice(), refs(books, wave), idempotency_key="k")
    assert [name for name, _ in wave.sent] == [
        "WaveInvoiceCreate",
        "WaveInvoiceApprove",
        "WaveInvoiceMarkSent",
    ]
    assert wave.invoices[remote.id]["status"] == "SENT"


def test_an_invoice_past_its_due_date_is_still_marked_sent(wave: FakeWave) -> None:
    """Wave reads an approved invoice past its due date OVERDUE whether it was sent or not: what
    says it was sent is its lastSentAt."""
    books = adapter(wave)
    wave.overdue = True
    remote = books.create_invoice(invoice(), refs(books, wave), idempotency_key="k")
    assert [name for name, _ in wave.sent] == ["WaveInvoiceCreate", "WaveInvoiceMarkSent"]
    assert wave.invoices[remote.id]["lastSentAt"]


def test_an_invoice_bearing_a_tax_the_business_has_no_rate_for_is_refused_saying_what_to_add(
    wave: FakeWave,
) -> None:
    books = adapter(wave)
    with pytest.raises(Rejected) as refused:
        books.create_invoice(invoice(tax_rate_percent="5"), refs(books, wave), idempotency_key="k")
    assert refused.value.fix.startswith("Add a sales tax of 5% in Wave (Settings > Sales Taxes)")
    assert not wave.invoices, "nothing was written"


@pytest.mark.parametrize("lost", ["WaveInvoiceCreate", "WaveInvoiceApprove", "WaveInvoiceMarkSent"])
def test_an_invoice_whose_answer_was_lost_between_its_steps_is_found_and_finished_never_made_twice(
    wave: FakeWave, lost: str
) -> None:
    """Exactly once without an idempotency key: the lookup after doubt finds what the lost step
    left (a draft, or approved and unsent) under its number and customer, and finishes it."""
    books = adapter(wave)
    invoice_refs = refs(books, wave)
    wave.creates_drafts = True
    wave.lose_answer(lost)
    with pytest.raises(TransientError) as doubt:
        books.create_invoice(invoice(), invoice_refs, idempotency_key="k")
    assert doubt.value.uncertain
    found = books.find_invoice(invoice(), invoice_refs.marker)
    assert found is not None and len(wave.invoices) == 1
    assert wave.invoices[found.id]["status"] == "SENT"
    assert wave.calls["WaveInvoiceCreate"] == 1


def test_another_customers_invoice_under_the_number_is_not_ours(wave: FakeWave) -> None:
    books = adapter(wave)
    invoice_refs = refs(books, wave)
    other = books.create_customer(customer(id="c-2", display_name="Other"), idempotency_key="k-o")
    books.create_invoice(invoice(), InvoiceRefs(other.id, invoice_refs.item_ids, "m"), idempotency_key="k")
    assert books.find_invoice(invoice(), invoice_refs.marker) is None


def test_a_lost_invoice_of_a_customer_linked_by_name_is_found_not_made_twice(wave: FakeWave) -> None:
    """A Wave customer booksync linked (by name, or in the wizard) keeps its own displayId, or
    none: the lookup after a lost create matches the number and booksync's marker, not the
    customer's displayId, so the invoice is found and never created twice."""
    books = adapter(wave)
    invoice_refs = refs(books, wave)
    wave.customers[invoice_refs.customer_id]["displayId"] = None  # not booksync's number
    wave.lose_answer("WaveInvoiceCreate")
    with pytest.raises(TransientError):
        books.create_invoice(invoice(), invoice_refs, idempotency_key="k")
    found = books.find_invoice(invoice(), invoice_refs.marker)
    assert found is not None and len(wave.invoices) == 1


def test_the_users_own_invoice_under_the_number_is_not_ours(wave: FakeWave) -> None:
    """An invoice a person made in Wave under the number, for the same customer, carries no marker
    of booksync's: never adopted (and never patched over)."""
    books = adapter(wave)
    invoice_refs = refs(books, wave)
    theirs = InvoiceRefs(invoice_refs.customer_id, invoice_refs.item_ids, "their own P.O.")
    books.create_invoice(invoice(), theirs, idempotency_key="k-theirs")
    assert books.find_invoice(invoice(), invoice_refs.marker) is None


def test_an_invoice_under_a_longer_number_is_not_ours(wave: FakeWave) -> None:
    """Wave's invoiceNumber filter is not documented as exact: INV-1's lookup never adopts (and
    finishes) the same customer's INV-10."""
    books = adapter(wave)
    invoice_refs = refs(books, wave)
    wave.number_filter_matches_part = True
    books.create_invoice(invoice(number="INV-10"), invoice_refs, idempotency_key="k")
    assert books.find_invoice(invoice(number="INV-1"), invoice_refs.marker) is None


def test_an_edit_of_an_invoice_with_a_payment_on_it_is_refused_with_what_to_do(wave: FakeWave) -> None:
    books = adapter(wave)
    invoice_refs = refs(books, wave)
    remote = books.create_invoice(invoice(), invoice_refs, idempotency_key="k")
    payment = Payment(id="p-1", invoice_id="inv-1", amount=Decimal("10.00"), date=date(2026, 3, 2))
    books.create_payment(payment, payment_refs(remote.id), idempotency_key="kp")
    with pytest.raises(Rejected) as refused:
        books.update_invoice(remote, invoice(memo="changed"), invoice_refs, idempotency_key="k2")
    assert refused.value.fix == PAID_FIX


def test_a_deleted_invoice_is_deleted_once(wave: FakeWave) -> None:
    books = adapter(wave)
    remote = books.create_invoice(invoice(), refs(books, wave), idempotency_key="k")
    books.delete_invoice(remote, idempotency_key="d")
    books.delete_invoice(remote, idempotency_key="d")
    assert not wave.invoices and wave.calls["WaveInvoiceDelete"] == 1


# ---------------------------------------------------------------------- payments


def payment_refs(invoice_id: str, marker: str = MARKER) -> PaymentRefs:
    return PaymentRefs(
        customer_id="cus", invoice_id=invoice_id, marker=marker, currency="USD", deposit_account_id="acc-bank"
    )


def test_a_payment_is_made_into_the_chosen_account_and_found_again_by_its_marker(wave: FakeWave) -> None:
    books = adapter(wave)
    remote = books.create_invoice(invoice(), refs(books, wave), idempotency_key="k")
    payment = Payment(
        id="p-1",
        invoice_id="inv-1",
        amount=Decimal("70.00"),
        date=date(2026, 3, 2),
        method=PaymentMethod.CHECK,
        reference="chq 12",
    )
    earlier = payment.model_copy(update={"id": "p-0", "amount": Decimal("6.66"), "reference": None})
    books.create_payment(earlier, payment_refs(remote.id, "booksync:acme:payment:p-0"), idempotency_key="k0")
    wave.lose_answer("WaveInvoicePaymentCreate")
    with pytest.raises(TransientError):
        books.create_payment(payment, payment_refs(remote.id), idempotency_key="k1")
    found = books.find_payment(payment, payment_refs(remote.id))
    made = [p for p in wave.payments.values() if p["memo"].startswith(MARKER)]
    assert found is not None and [p["id"] for p in made] == [found.id]
    assert made[0]["memo"] == f"{MARKER} | chq 12" and made[0]["paymentMethod"] == "CHEQUE"
    assert made[0]["account"] == {"id": "acc-bank"}
    assert books.get_invoice(remote.id).balance == Decimal("0.00")  # type: ignore[union-attr]


def test_refunds_and_voids_are_not_supported_by_wave(wave: FakeWave) -> None:
    books = adapter(wave)
    refund = Refund(id="r-1", payment_id="p-1", amount=Decimal("1"), date=date(2026, 3, 3))
    refund_refs = RefundRefs(customer_id="c", marker="m", method=PaymentMethod.CASH, currency="USD")
    with pytest.raises(NotSupported, match="Recording refunds is not supported by Wave"):
        books.create_refund(refund, refund_refs, idempotency_key="k")
    assert not wave.sent, "nothing asked of Wave"


def test_the_chart_maps_waves_types_and_payments_go_into_cash_and_bank(wave: FakeWave) -> None:
    accounts = {a.id: a for a in adapter(wave).list_accounts()}
    assert accounts["acc-sales"].kind.value == "income"
    assert accounts["acc-bank"].takes_payments and not accounts["acc-sales"].takes_payments
