"""Small builders for the business's documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from booksync.documents import Customer, Invoice, Item, Payment


def customer(cid: str = "c-1", **kw: Any) -> Customer:
    values: dict[str, Any] = {"id": cid, "display_name": "Ada Lovelace", "email": "ada@example.com", **kw}
    return Customer(**values)


def item(iid: str = "i-1", name: str = "Drain cleaning", price: str = "150.00", **kw: Any) -> Item:
    return Item(id=iid, name=name, unit_price=Decimal(price), **kw)


def invoice(iid: str = "inv-1", status: str = "SENT", **kw: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": iid,
        "customer_id": "c-1",
        "number": iid.upper(),
        "status": status,
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 12, 2),
        "lines": [
            {"item_id": "i-1", "quantity": "2", "unit_price": "150.00"},
            {"item_id": "i-2", "quantity": "1", "unit_price": "80.00", "taxable": False},
        ],
        **kw,
    }
    return Invoice.model_validate(values)


def payment(pid: str = "p-1", amount: str = "100.00", invoice_id: str = "inv-1", **kw: Any) -> Payment:
    return Payment(id=pid, invoice_id=invoice_id, amount=Decimal(amount), date=date(2026, 11, 3), **kw)
