"""RefundReceipt in the QuickBooks sandbox: create, read and query answers hold to Intuit's XSDs,
and the money moves as QuickBooks moves it (out of the account it is paid from, no invoice touched)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from qbo_xsd import XsdModel
from test_qbo_sandbox_xsd import CLIENT_ID, REDIRECT, SECRET, Recorder, _account

from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig
from local.sandboxes.quickbooks.testing import QBOClient, connect

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def books() -> Iterator[tuple[Recorder, dict[str, Any]]]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=SECRET, redirect_uris=[REDIRECT])})
    with QuickBooksSandbox(config=config) as sandbox:
        qbo = QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, SECRET, REDIRECT))
        rec = Recorder(qbo)
        customer = rec.write("Customer", {"DisplayName": "Ann Smith"})
        refunds_item = rec.write(
            "Item",
            {
                "Name": "Refunds",
                "Type": "Service",
                "IncomeAccountRef": {"value": _account(rec, "Discounts given")},
            },
        )
        invoice = rec.write(
            "Invoice",
            {
                "CustomerRef": {"value": customer["Id"]},
                "Line": [
                    {
                        "Amount": 100,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": refunds_item["Id"]}},
                    }
                ],
            },
        )
        payment = rec.write(
            "Payment",
            {
                "CustomerRef": {"value": customer["Id"]},
                "TotalAmt": 100,
                "TxnDate": "2026-11-03",
                "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
            },
        )
        yield (
            rec,
            {
                "customer": customer,
                "item": refunds_item,
                "invoice": invoice,
                "payment": payment,
                "undeposited": _account(rec, "Undeposited Funds"),
            },
        )
        qbo.close()


def _refund_body(objs: dict[str, Any], amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": objs["customer"]["Id"]},
        "TxnDate": "2026-11-05",
        "PrivateNote": "booksync:acme:refund:r-1",
        "Line": [
            {
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": objs["item"]["Id"]},
                    "Qty": 1,
                    "UnitPrice": amount,
                },
            }
        ],
        **extra,
    }


def _balance(rec: Recorder, entity: str, entity_id: str, field: str) -> Decimal:
    body = rec.keep(f"read {entity}", rec.qbo.read(entity, entity_id))
    return Decimal(str(body[entity][field]))


def test_a_refund_receipt_is_created_read_and_queried_as_the_xsd_says(
    xsd: XsdModel, books: tuple[Recorder, dict[str, Any]]
) -> None:
    rec, objs = books
    before = _balance(rec, "Account", objs["undeposited"], "CurrentBalance")
    created = rec.write(
        "RefundReceipt",
        _refund_body(objs, "40.00", DepositToAccountRef={"value": objs["undeposited"]}, PaymentRefNum="rf-1"),
    )
    assert Decimal(str(created["TotalAmt"])) == Decimal("40.00")
    assert created["DepositToAccountRef"] == {"value": objs["undeposited"], "name": "Undeposited Funds"}
    assert created["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Refunds"
    read = rec.keep("read refund", rec.qbo.read("RefundReceipt", created["Id"]))["RefundReceipt"]
    assert read["PrivateNote"] == "booksync:acme:refund:r-1" and read["PaymentRefNum"] == "rf-1"
    where = f"CustomerRef = '{objs['customer']['Id']}' and TxnDate = '2026-11-05'"
    found = rec.keep("query refund", rec.qbo.query(f"select * from RefundReceipt where {where}"))
    assert [r["Id"] for r in found["QueryResponse"]["RefundReceipt"]] == [created["Id"]]
    # The money leaves Undeposited Funds (netted by the payout's deposit); the invoice stays paid.
    assert _balance(rec, "Account", objs["undeposited"], "CurrentBalance") == before - Decimal("40.00")
    assert _balance(rec, "Invoice", objs["invoice"]["Id"], "Balance") == Decimal("0")
    problems = [f"{label}: {p}" for label, body in rec.answers for p in xsd.problems(body, "IntuitResponse")]
    assert problems == []


def test_a_refund_receipt_needs_the_account_it_is_paid_from(
    xsd: XsdModel, books: tuple[Recorder, dict[str, Any]]
) -> None:
    rec, objs = books
    missing = rec.keep("no account", rec.qbo.write("RefundReceipt", _refund_body(objs, "5.00")))
    assert missing["Fault"]["Error"][0]["code"] == "2020"
    assert missing["Fault"]["Error"][0]["element"] == "DepositToAccountRef"
    income = _account(rec, "Services")
    wrong = rec.keep(
        "income account",
        rec.qbo.write("RefundReceipt", _refund_body(objs, "5.00", DepositToAccountRef={"value": income})),
    )
    assert wrong["Fault"]["Error"][0]["code"] == "6000"
    for label, body in rec.answers[-2:]:
        assert xsd.problems(body, "IntuitResponse") == [], label
