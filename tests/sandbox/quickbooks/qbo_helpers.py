"""Helpers shared by the QuickBooks sandbox tests: the test app's registration and raw API calls."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx

from local.sandboxes.quickbooks.control import SHARED_TLS
from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig
from local.sandboxes.quickbooks.testing import QBOClient

CLIENT_ID = "sandbox-test-app"
CLIENT_SECRET = "sandbox-test-secret-0123"
REDIRECT_URI = "http://127.0.0.1:3000/oauth/quickbooks/callback"

SandboxFactory = Callable[..., QuickBooksSandbox]

# One client for raw calls in every test: creating one per call costs ~0.1 s of TLS setup.
raw = httpx.Client(verify=SHARED_TLS, timeout=10.0)


def make_config(**overrides: object) -> SandboxConfig:
    clients = {CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT_URI])}
    return SandboxConfig(clients=clients, **overrides)  # type: ignore[arg-type]


def fault_of(answer: object) -> dict[str, object]:
    """The first Error of a Fault envelope (top level or inside a batch item)."""
    assert isinstance(answer, dict)
    fault = answer["Fault"]
    assert isinstance(fault, dict)
    error = fault["Error"][0]
    assert isinstance(error, dict)
    return error


def account_id(qbo: QBOClient, name: str) -> str:
    answer = qbo.query(f"select * from Account where Name = '{name}'")
    return str(answer.json()["QueryResponse"]["Account"][0]["Id"])


def new_customer(qbo: QBOClient, name: str = "Acme Plumbing", **fields: object) -> dict[str, object]:
    return qbo.created("Customer", {"DisplayName": name, **fields})


def new_item(qbo: QBOClient, name: str = "Pump service", price: str = "150.00") -> dict[str, object]:
    body = {
        "Name": name,
        "Type": "Service",
        "UnitPrice": price,
        "IncomeAccountRef": {"value": account_id(qbo, "Services")},
    }
    return qbo.created("Item", body)


def sales_line(item_id: object, qty: str, price: str, amount: str | None = None) -> dict[str, object]:
    total = amount if amount is not None else str((Decimal(qty) * Decimal(price)).quantize(Decimal("0.01")))
    return {
        "Amount": total,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": price},
    }


def new_invoice(qbo: QBOClient, customer_id: object, item_id: object, **fields: object) -> dict[str, object]:
    body = {"CustomerRef": {"value": customer_id}, "Line": [sales_line(item_id, "2", "150.00")], **fields}
    return qbo.created("Invoice", body)


def new_payment(qbo: QBOClient, customer_id: object, invoice_id: object, amount: str) -> dict[str, object]:
    line = {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
    return qbo.created("Payment", {"CustomerRef": {"value": customer_id}, "TotalAmt": amount, "Line": [line]})
