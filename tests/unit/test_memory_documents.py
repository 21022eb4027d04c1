"""A stored invoice or estimate as the billing memory's record (booksync/memory/documents.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from booksync.documents import Estimate
from booksync.memory.documents import billing_record
from booksync.memory.records import RecordKind

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
