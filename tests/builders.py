"""Small builders for the business's documents, and the sync engine the tests run them through."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from booksync.documents import Customer, Invoice, Item, Payment
from booksync.providers.port import AccountingProvider
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync


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


def invoice_sync(
    documents: DocumentRepository,
    connections: ConnectionRepository,
    runs: RunRepository,
    provider: AccountingProvider,
    **options: Any,
) -> InvoiceSync:
    """The sync engine over these repositories with one provider for every connection and income
    account "1" unless ``income_account_for`` says otherwise; other ``options`` (owner,
    notifications, clock, claims) as InvoiceSync takes them."""
    options.setdefault("income_account_for", lambda _c, _p: "1")
    return InvoiceSync(
        documents=documents,
        connections=connections,
        intents=IntentRepository(),
        runs=runs,
        provider_for=lambda _c: provider,
        **options,
    )
