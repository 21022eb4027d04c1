"""A stored invoice or estimate as the billing memory's record (booksync/memory/documents.py)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from booksync.documents import DOC_ID_MAX, NUMBER_MAX, Estimate, Invoice
from booksync.memory.documents import LINE_TEXT_MAX_BYTES, billing_record
from booksync.memory.records import BillingRecord, RecordKind

from tests import builders

ITEMS = {
    "i-1": builders.item("i-1", "Water heater install", "150.00", unit_cost="90.00", description="50 gal"),
    "i-2": builders.item("i-2", "Trip charge", "80.00"),
}


def test_an_invoice_keeps_its_lines_prices_and_total_with_item_names_and_costs() -> None:
    invoice = builders.invoice("inv-7", tax_rate_percent="10", memo="Back door")
    record = billing_record(
        "acme", invoice, "PAID", builders.customer("c-1", display_name="Maple Dental"), ITEMS
    )
    assert (record.company_id, record.kind, record.key, record.number) == (
        "acme",
        RecordKind.INVOICE,
        "invoice#inv-7",
        "INV-7",
    )
    assert (record.status, record.customer_id, record.customer_name) == ("paid", "c-1", "Maple Dental")
    assert (record.date, record.currency, record.memo) == (date(2026, 11, 2), "USD", "Back door")
    assert record.total == invoice.total == Decimal("410.00")  # 300 + 80, tax on the taxable 300
    first, second = record.lines
    assert (first.item_name, first.description, first.quantity, first.unit_price) == (
        "Water heater install",
        "50 gal",
        Decimal("2"),
        Decimal("150.00"),
    )
    assert (first.unit_cost, first.amount) == (Decimal("90.00"), Decimal("300.00"))
    assert (second.item_name, second.unit_cost) == ("Trip charge", None)
    assert "Maple Dental" in record.text() and "Water heater install" in record.text()


def test_an_estimate_line_costs_at_its_own_unit_cost_and_a_missing_item_keeps_its_id() -> None:
    estimate = Estimate(
        id="est-1",
        customer_id="c-9",
        number="E-1",
        status="ACCEPTED",
        issue_date=date(2026, 10, 5),
        lines=[
            {"item_id": "i-1", "quantity": "1", "unit_price": "1450.00", "unit_cost": "900.00"},
            {"item_id": "i-1", "quantity": "1", "unit_price": "1450.00"},
            {"item_id": "i-gone", "description": "Haul away", "unit_price": "60.00"},
        ],
    )
    record = billing_record("acme", estimate, "ACCEPTED", None, ITEMS)
    assert (record.kind, record.key, record.status, record.customer_name) == (
        RecordKind.ESTIMATE,
        "estimate#est-1",
        "accepted",
        None,
    )
    own, items, gone = record.lines
    assert own.unit_cost == Decimal("900.00"), "the estimate's own cost, not the item's 90.00"
    assert items.unit_cost == Decimal("90.00"), "none on the line: the item's"
    assert (gone.item_name, gone.description, gone.unit_cost) == ("i-gone", "Haul away", None)
    assert record.total == Decimal("2960.00")


DYNAMODB_ITEM_MAX = 400 * 1024
WIDE = "\U0001d11e"  # 4 bytes of UTF-8: the most a character of a valid text takes


def _stored_size(record: BillingRecord) -> int:
    """An upper bound of the MemoryTable row's size as DynamoDB counts it: the row as JSON (quotes,
    colons and commas count more than DynamoDB's byte per attribute; strings as UTF-8)."""
    row = {
        "company_id": record.company_id,
        "record_key": record.key,
        "record": record.to_dict(),
        "content_hash": record.content_hash(),
        "embedder": "voyage/voyage-3.5-lite/1024" + "x" * 100,
        "updated_at": 1_800_000_000.123456,
    }
    return len(json.dumps(row, ensure_ascii=False).encode())


@pytest.mark.parametrize("kind", [Invoice, Estimate])
def test_the_largest_valid_document_makes_a_record_dynamodb_can_store(kind: type[Invoice]) -> None:
    """250 lines, each text at its longest in 4-byte characters: half the lines with their own
    description, half taking their item's; ids and number at their longest."""
    ids = [f"{n:03d}".ljust(DOC_ID_MAX, "i") for n in range(250)]
    items = {
        iid: builders.item(iid, WIDE * 500, "1.00", unit_cost="1.00", description=WIDE * 4000) for iid in ids
    }
    line = {"quantity": "9999.9999", "unit_price": "99999.99"}
    lines = [
        {"item_id": iid, **line, **({"description": WIDE * 4000} if n % 2 else {}), "unit_cost": "99999.99"}
        for n, iid in enumerate(ids)
    ]
    doc = kind.model_validate(
        {
            "id": "d".ljust(DOC_ID_MAX, "d"),
            "customer_id": "c".ljust(DOC_ID_MAX, "c"),
            "number": "N" * NUMBER_MAX,
            "status": "SENT",
            "issue_date": "2026-11-02",
            "lines": lines
            if kind is Estimate
            else [{k: v for k, v in li.items() if k != "unit_cost"} for li in lines],
            "memo": WIDE * 4000,
        }
    )
    customer = builders.customer("c-1", display_name=WIDE * 500)
    record = billing_record("c".ljust(DOC_ID_MAX, "c"), doc, "SENT", customer, items)
    assert len(record.lines) == 250 and _stored_size(record) < DYNAMODB_ITEM_MAX
    # Each line's words are cut, not dropped: the start of the description and name are kept.
    first = record.lines[1]
    assert first.description.startswith(WIDE * 100) and first.description.endswith("…")
    assert len(first.description.encode()) <= LINE_TEXT_MAX_BYTES
    assert len(first.item_name.encode()) <= LINE_TEXT_MAX_BYTES and first.item_name.endswith("…")
    assert record.lines[0].description.startswith(WIDE * 100)  # the item's, cut alike


def test_a_line_within_the_limit_is_kept_whole() -> None:
    text = "x" * LINE_TEXT_MAX_BYTES
    invoice = builders.invoice(lines=[{"item_id": "i-1", "unit_price": "1.00", "description": text}])
    [line] = billing_record("acme", invoice, "SENT", None, ITEMS).lines
    assert (line.description, line.item_name) == (text, "Water heater install")
