"""Deposit in the QuickBooks sandbox as booksync writes it for a Square payout: booksync's request
body and the sandbox's answers hold to Intuit's XSDs, and the money moves as QuickBooks moves it
(linked payments and refund receipts leave Undeposited Funds, once; fee lines are negative)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from booksync.providers.http import dumps_json
from booksync.providers.port import Deposit, DepositLine
from booksync.providers.quickbooks import mapping
from qbo_xsd import XsdModel
from test_qbo_sandbox_xsd import CLIENT_ID, REDIRECT, SECRET, Recorder, _account

from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig
from local.sandboxes.quickbooks.testing import QBOClient, connect

pytestmark = pytest.mark.contract

MARKER = "booksync:acme:payout:po_1"


@pytest.fixture(scope="module")
def books() -> Iterator[tuple[Recorder, dict[str, Any]]]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=SECRET, redirect_uris=[REDIRECT])})
    with QuickBooksSandbox(config=config) as sandbox:
        qbo = QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, SECRET, REDIRECT))
        rec = Recorder(qbo)
        customer = rec.write("Customer", {"DisplayName": "Ann Smith"})
        item = rec.write(
            "Item",
            {
                "Name": "Drain cleaning",
                "Type": "Service",
                "IncomeAccountRef": {"value": _account(rec, "Services")},
            },
        )

        def paid_invoice(amount: str) -> dict[str, Any]:
            invoice = rec.write(
                "Invoice",
                {
                    "CustomerRef": {"value": customer["Id"]},
                    "Line": [
                        {
                            "Amount": amount,
                            "DetailType": "SalesItemLineDetail",
                            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
                        }
                    ],
                },
            )
            return rec.write(
                "Payment",
                {
                    "CustomerRef": {"value": customer["Id"]},
                    "TotalAmt": amount,
                    "TxnDate": "2026-11-18",
                    "Line": [
                        {"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
                    ],
                },
            )

        undeposited = _account(rec, "Undeposited Funds")
        payments = [paid_invoice("100.00"), paid_invoice("250.00")]
        refund = rec.write(
            "RefundReceipt",
            {
                "CustomerRef": {"value": customer["Id"]},
                "TxnDate": "2026-11-19",
                "DepositToAccountRef": {"value": undeposited},
                "Line": [
                    {
                        "Amount": "40.00",
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": item["Id"]},
                            "Qty": 1,
                            "UnitPrice": "40.00",
                        },
                    }
                ],
            },
        )
        bank = rec.keep("bank", qbo.query("select * from Account where AccountType = 'Bank'"))
        expense = rec.keep("fees", qbo.query("select * from Account where Classification = 'Expense'"))
        yield (
            rec,
            {
                "payments": payments,
                "refund": refund,
                "undeposited": undeposited,
                "bank": bank["QueryResponse"]["Account"][0]["Id"],
                "fees": expense["QueryResponse"]["Account"][0]["Id"],
                "tips": _account(rec, "Services"),
            },
        )
        qbo.close()


def payout_deposit(objs: dict[str, Any], *lines: DepositLine) -> Deposit:
    return Deposit(
        bank_account_id=objs["bank"],
        date=date(2026, 11, 20),
        marker=MARKER,
        memo="Square payout po_1, bank reference L2100000005",
        lines=lines,
    )


def deposit_body(deposit: Deposit) -> dict[str, Any]:
    """booksync's request body as its QuickBooks client puts it on the wire (money as JSON numbers;
    the test client re-sends what it parsed, so only the checks here see Python floats)."""
    body: dict[str, Any] = json.loads(dumps_json(mapping.deposit_body(deposit)))
    return body


def _balance(rec: Recorder, account_id: str) -> Decimal:
    body = rec.keep("read account", rec.qbo.read("Account", account_id))
    return Decimal(str(body["Account"]["CurrentBalance"]))


def _deposited(rec: Recorder, payment_id: str) -> bool:
    found = rec.keep("deposits", rec.qbo.query("select * from Deposit"))
    return any(
        linked["TxnId"] == payment_id
        for deposit in found["QueryResponse"].get("Deposit", [])
        for line in deposit["Line"]
        for linked in line.get("LinkedTxn", [])
    )


def test_booksyncs_deposit_is_the_xsds_and_moves_the_money_as_quickbooks_does(
    xsd: XsdModel, books: tuple[Recorder, dict[str, Any]]
) -> None:
    rec, objs = books
    first, second = objs["payments"]
    deposit = payout_deposit(
        objs,
        DepositLine(Decimal("100.00"), "Square payment sq-a", payment_id=first["Id"]),
        DepositLine(Decimal("15.00"), "Tip on Square payment sq-a", account_id=objs["tips"]),
        DepositLine(Decimal("250.00"), "Square payment sq-b", payment_id=second["Id"]),
        DepositLine(Decimal("-40.00"), "Square refund rf-1", refund_id=objs["refund"]["Id"]),
        DepositLine(Decimal("-10.15"), "Square processing fees", account_id=objs["fees"]),
    )
    body = deposit_body(deposit)
    assert xsd.problems(body, "Deposit") == [], "booksync's request is a Deposit as Intuit defines it"
    undeposited_before = _balance(rec, objs["undeposited"])
    bank_before = _balance(rec, objs["bank"])
    created = rec.write("Deposit", body)
    assert Decimal(str(created["TotalAmt"])) == deposit.total == Decimal("314.85")
    assert created["PrivateNote"].split(" | ")[0] == MARKER
    read = rec.keep("read deposit", rec.qbo.read("Deposit", created["Id"]))["Deposit"]
    assert [Decimal(str(line["Amount"])) for line in read["Line"]] == [line.amount for line in deposit.lines]
    found = rec.keep("query deposit", rec.qbo.query("select * from Deposit where TxnDate = '2026-11-20'"))
    assert [d["Id"] for d in found["QueryResponse"]["Deposit"]] == [created["Id"]]
    # 350.00 of payments less the 40.00 refund leave Undeposited Funds; the bank gets the total.
    assert _balance(rec, objs["undeposited"]) == undeposited_before - Decimal("310.00")
    assert _balance(rec, objs["bank"]) == bank_before + Decimal("314.85")
    problems = [
        f"{label}: {p}" for label, answer in rec.answers for p in xsd.problems(answer, "IntuitResponse")
    ]
    assert problems == []


def test_a_payment_or_refund_is_deposited_once_and_whole(
    xsd: XsdModel, books: tuple[Recorder, dict[str, Any]]
) -> None:
    rec, objs = books
    first, _ = objs["payments"]
    # Each test may run on its own xdist worker with its own books, so this one deposits first.
    if not _deposited(rec, first["Id"]):
        once = payout_deposit(
            objs,
            DepositLine(Decimal("100.00"), "once", payment_id=first["Id"]),
            DepositLine(Decimal("-40.00"), "once", refund_id=objs["refund"]["Id"]),
        )
        rec.write("Deposit", deposit_body(once))
    cases = {
        "again": DepositLine(Decimal("100.00"), "again", payment_id=first["Id"]),
        "refund again": DepositLine(Decimal("-40.00"), "again", refund_id=objs["refund"]["Id"]),
    }
    for label, line in cases.items():
        answer = rec.keep(label, rec.qbo.write("Deposit", deposit_body(payout_deposit(objs, line))))
        [error] = answer["Fault"]["Error"]
        assert "already been deposited" in error["Message"] + error.get("Detail", ""), label
        assert xsd.problems(answer, "IntuitResponse") == [], label
    # What a deposit holds is locked (6540), the refund receipt as the payment.
    for entity, held in (("Payment", first), ("RefundReceipt", objs["refund"])):
        current = rec.keep("read", rec.qbo.read(entity, held["Id"]))[entity]
        gone = {"Id": current["Id"], "SyncToken": current["SyncToken"]}
        answer = rec.keep(f"delete {entity}", rec.qbo.write(entity, gone, operation="delete"))
        assert answer["Fault"]["Error"][0]["code"] == "6540", entity
