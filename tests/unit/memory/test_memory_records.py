"""Billing records: what is embedded, what the content hash covers, what a filter lets through."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from booksync.errors import InvalidRequest
from booksync.memory.records import BillingRecord, RecordFilter, RecordKind, record_key

from tests.fakes.memory import billing_record as invoice
from tests.fakes.memory import record_line as line


def test_text_says_the_document_in_words() -> None:
    text = invoice().text()
    assert text.splitlines()[0] == (
        "Invoice INV-2043 for Maple Street Dental on 2026-03-04 (March 2026), status sent, total USD 1450.00."
    )
    assert "Water heater install: 50 gallon, gas. 1 x 1450.00 = 1450.00." in text
    assert "Memo: Replaced leaking tank" in text
    payment = invoice(kind=RecordKind.PAYMENT, doc_id="pay-1", number=None, lines=(), invoice_id="inv-1")
    assert payment.text().startswith("Payment pay-1 for Maple Street Dental")
    assert "Payment of invoice inv-1." in payment.text()


def test_key_is_kind_and_doc_id() -> None:
    assert invoice().key == "invoice#inv-1" == record_key("invoice", "inv-1")


def test_content_hash_is_stable_and_covers_every_field() -> None:
    base = invoice()
    assert base.content_hash() == invoice().content_hash()
    assert len(base.content_hash()) == 64
    changed = {
        "status": "paid",
        "number": "INV-2044",
        "customer_name": "Other",
        "date": date(2026, 3, 5),
        "total": Decimal("1450.01"),
        "memo": None,
        "lines": (line(cost=None),),
        "invoice_id": "x",
    }
    for name, value in changed.items():
        assert invoice(**{name: value}).content_hash() != base.content_hash(), name


def test_round_trips_through_its_stored_form() -> None:
    record = invoice()
    assert BillingRecord.from_dict(record.to_dict()) == record
    stored = record.to_dict()
    assert stored["total"] == "1450.00" and stored["lines"][0]["unit_cost"] == "900.00"


def test_a_stored_amount_that_is_not_one_is_refused_with_the_field_named() -> None:
    stored = invoice().to_dict() | {"total": "twelve"}
    with pytest.raises(InvalidRequest) as caught:
        BillingRecord.from_dict(stored)
    assert "total" in caught.value.message and caught.value.fix


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (RecordFilter(), True),
        (RecordFilter(customer_id="cust-1"), True),
        (RecordFilter(customer_id="cust-2"), False),
        (RecordFilter.of(kinds=["invoice"]), True),
        (RecordFilter.of(kinds=["estimate", "payment"]), False),
        (RecordFilter.of(statuses=["SENT"]), True),
        (RecordFilter.of(statuses=["paid"]), False),
        (RecordFilter(date_from=date(2026, 3, 4), date_to=date(2026, 3, 4)), True),
        (RecordFilter(date_from=date(2026, 3, 5)), False),
        (RecordFilter(date_to=date(2026, 3, 3)), False),
        (RecordFilter(min_total=Decimal("1450.00"), max_total=Decimal("1450.00")), True),
        (RecordFilter(min_total=Decimal("1450.01")), False),
        (RecordFilter(max_total=Decimal("1449.99")), False),
        (RecordFilter(currency="USD"), True),
        (RecordFilter(currency="EUR"), False),
        (RecordFilter(currency="USD", min_total=Decimal("1450.00")), True),
        # A total in another currency is never compared with the bound: out, whatever the amount.
        (RecordFilter(currency="EUR", min_total=Decimal("1.00"), max_total=Decimal("9999.00")), False),
        (RecordFilter(item="item-water-heater-install"), True),
        (RecordFilter(item="  WATER heater   install "), True),
        (RecordFilter(item="Water heater"), False),
    ],
)
def test_filter_narrows_by_each_field(flt: RecordFilter, expected: bool) -> None:
    assert flt.matches(invoice()) is expected
