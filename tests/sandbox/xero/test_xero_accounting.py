"""The Accounting API calls booksync makes, as Xero answers them: arrays with per-element
validation errors, link-before-create lookups, the invoice's statuses, payments (several
invoices, deletion), credit notes as refunds, paging and If-Modified-Since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.sandboxes.xero.testing import XeroClient, XeroControl

LINE = {"Description": "Consulting", "Quantity": 2, "UnitAmount": 20, "AccountCode": "200", "TaxType": "NONE"}


def _put(xero: XeroClient, plural: str, *elements: dict[str, Any], summarize: bool = True) -> Any:
    params = None if summarize else {"summarizeErrors": "false"}
    answer = xero.request("PUT", f"/{plural}", json={plural: list(elements)}, params=params)
    return answer


def _contact(xero: XeroClient, name: str = "Ada Lovelace", **extra: Any) -> dict[str, Any]:
    answer = _put(xero, "Contacts", {"Name": name, **extra})
    assert answer.status_code == 200, answer.text
    contact: dict[str, Any] = answer.json()["Contacts"][0]
    return contact


def _invoice(xero: XeroClient, contact_id: str, status: str = "AUTHORISED", **extra: Any) -> dict[str, Any]:
    element = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "LineItems": [LINE],
        "Status": status,
        "Date": "2026-12-01",
        "DueDate": "2026-12-31",
        **extra,
    }
    answer = _put(xero, "Invoices", element)
    assert answer.status_code == 200, answer.text
    invoice: dict[str, Any] = answer.json()["Invoices"][0]
    return invoice


def _pay(xero: XeroClient, invoice_id: str, amount: str, code: str = "090") -> Any:
    element = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": code},
        "Date": "2026-12-02",
        "Amount": amount,
    }
    return xero.request("PUT", "/Payments", json={"Payments": [element]})


def test_summarize_errors_false_answers_each_element_and_saves_the_valid_ones(
    xero: XeroClient, control: XeroControl
) -> None:
    _contact(xero, "Taken Name")
    answer = _put(
        xero, "Contacts", {"Name": "Fresh", "ContactNumber": "bk-1"}, {"Name": "taken name"}, summarize=False
    )
    assert answer.status_code == 200
    fresh, taken = answer.json()["Contacts"]
    assert fresh["StatusAttributeString"] == "OK" and fresh["ContactID"]
    assert taken["StatusAttributeString"] == "ERROR" and taken["HasValidationErrors"] is True
    assert taken["ValidationErrors"] == [
        {
            "Message": "The contact name taken name is already assigned to another contact. "
            "The contact name must be unique across all active contacts."
        }
    ]
    names = [c["Name"] for c in control.ledger(xero.tenant_id)["contacts"]]
    assert names == ["Taken Name", "Fresh"]


def test_by_default_one_invalid_element_fails_the_request_and_saves_none(
    xero: XeroClient, control: XeroControl
) -> None:
    answer = _put(xero, "Contacts", {"Name": "Fine"}, {"Name": ""})
    assert answer.status_code == 400
    body = answer.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    assert body["Elements"][1]["ValidationErrors"] == [{"Message": "The contact name must be specified"}]
    assert control.ledger(xero.tenant_id)["contacts"] == []


def test_lookups_before_create_find_by_number_by_where_and_by_ids(xero: XeroClient) -> None:
    ada = _contact(xero, "Ada", ContactNumber="bk-7")
    _contact(xero, "Bob", ContactNumber="bk-8")
    assert xero.request("GET", "/Contacts/bk-7").json()["Contacts"][0]["ContactID"] == ada["ContactID"]
    assert xero.request("GET", f"/Contacts/{ada['ContactID']}").json()["Contacts"][0]["Name"] == "Ada"
    found = xero.request("GET", "/Contacts", params={"where": 'ContactNumber=="bk-8"'}).json()["Contacts"]
    assert [c["Name"] for c in found] == ["Bob"]
    found = xero.request("GET", "/Contacts", params={"IDs": ada["ContactID"]}).json()["Contacts"]
    assert [c["Name"] for c in found] == ["Ada"]
    missing = xero.request("GET", "/Contacts/bk-nope")
    assert missing.status_code == 404
    bad = xero.request("GET", "/Contacts", params={"where": "Name ~ 'x'"})
    assert bad.status_code == 400 and "not understood" in bad.json()["Message"]


def test_invoice_totals_numbers_and_lookups(xero: XeroClient) -> None:
    ada = _contact(xero)
    taxed = dict(LINE, TaxType="OUTPUT", DiscountRate=10)
    invoice = _invoice(
        xero, ada["ContactID"], LineItems=[taxed], InvoiceNumber="BK-1001", Reference="order 9"
    )
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"], invoice["AmountDue"]) == (
        36.0,
        3.6,
        39.6,
        39.6,
    )
    assert invoice["Date"].startswith("/Date(") and invoice["Status"] == "AUTHORISED"
    again = _put(
        xero,
        "Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": ada["ContactID"]},
            "LineItems": [LINE],
            "InvoiceNumber": "BK-1001",
        },
    )
    assert again.json()["Elements"][0]["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    by_number = xero.request("GET", "/Invoices", params={"InvoiceNumbers": "BK-1001"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in by_number] == [invoice["InvoiceID"]]
    wrong_total = _put(
        xero,
        "Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": ada["ContactID"]},
            "LineItems": [dict(LINE, LineAmount=41)],
        },
    )
    assert (
        "does not match the expected line total 40.00"
        in wrong_total.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    )


@pytest.mark.parametrize(
    ("start", "then", "allowed"),
    [
        ("DRAFT", "SUBMITTED", True),
        ("DRAFT", "AUTHORISED", True),
        ("DRAFT", "DELETED", True),
        ("SUBMITTED", "AUTHORISED", True),
        ("AUTHORISED", "VOIDED", True),
        ("AUTHORISED", "DELETED", False),
        ("AUTHORISED", "DRAFT", False),
        ("AUTHORISED", "PAID", False),
    ],
)
def test_invoice_status_moves_xero_allows(xero: XeroClient, start: str, then: str, allowed: bool) -> None:
    invoice = _invoice(xero, _contact(xero)["ContactID"], status=start)
    answer = xero.request("POST", f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{"Status": then}]})
    assert (answer.status_code == 200) is allowed, answer.text
    if allowed:
        assert answer.json()["Invoices"][0]["Status"] == then


def test_payments_cover_the_invoice_then_it_reads_paid_and_a_deleted_payment_reverses(
    xero: XeroClient, control: XeroControl
) -> None:
    invoice = _invoice(xero, _contact(xero)["ContactID"])
    first = _pay(xero, invoice["InvoiceID"], "15")
    assert first.status_code == 200 and first.json()["Payments"][0]["PaymentType"] == "ACCRECPAYMENT"
    too_much = _pay(xero, invoice["InvoiceID"], "30")
    assert too_much.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Payment amount exceeds the amount outstanding on this document"
    )
    second = _pay(xero, invoice["InvoiceID"], "25").json()["Payments"][0]
    read = xero.request("GET", f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (read["Status"], read["AmountPaid"], read["AmountDue"]) == ("PAID", 40.0, 0.0)
    voiding = xero.request(
        "POST", f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{"Status": "VOIDED"}]}
    )
    assert voiding.status_code == 400
    deleted = xero.request(
        "POST", f"/Payments/{second['PaymentID']}", json={"Payments": [{"Status": "DELETED"}]}
    )
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    read = xero.request("GET", f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (read["Status"], read["AmountDue"]) == ("AUTHORISED", 25.0)
    ledger = control.ledger(xero.tenant_id)
    assert [p["Status"] for p in ledger["payments"]] == ["AUTHORISED", "DELETED"]


def test_one_payment_across_several_invoices_is_separate_payments_in_one_request(xero: XeroClient) -> None:
    ada = _contact(xero)["ContactID"]
    one, two = _invoice(xero, ada), _invoice(xero, ada)
    elements = [
        {
            "Invoice": {"InvoiceID": one["InvoiceID"]},
            "Account": {"Code": "090"},
            "Date": "2026-12-02",
            "Amount": 40,
        },
        {
            "Invoice": {"InvoiceNumber": two["InvoiceNumber"]},
            "Account": {"Code": "090"},
            "Date": "2026-12-02",
            "Amount": 10,
            "Reference": "one cheque",
        },
    ]
    answer = xero.request("PUT", "/Payments", json={"Payments": elements})
    assert [p["Amount"] for p in answer.json()["Payments"]] == [40.0, 10.0]
    statuses = [
        xero.request("GET", f"/Invoices/{i['InvoiceID']}").json()["Invoices"][0]["Status"] for i in (one, two)
    ]
    assert statuses == ["PAID", "AUTHORISED"]


def test_payments_go_only_to_a_bank_account_or_one_that_accepts_payments(xero: XeroClient) -> None:
    invoice = _invoice(xero, _contact(xero)["ContactID"])
    refused = _pay(xero, invoice["InvoiceID"], "5", code="200")
    assert refused.status_code == 400
    assert _pay(xero, invoice["InvoiceID"], "5", code="855").status_code == 200


def test_a_refund_is_a_credit_note_paid_out(xero: XeroClient) -> None:
    ada = _contact(xero)["ContactID"]
    invoice = _invoice(xero, ada)
    _pay(xero, invoice["InvoiceID"], "40")
    note = _put(
        xero,
        "CreditNotes",
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": ada},
            "Status": "AUTHORISED",
            "LineItems": [dict(LINE, Quantity=1)],
            "Reference": "refund",
        },
    ).json()["CreditNotes"][0]
    assert (note["Total"], note["RemainingCredit"]) == (20.0, 20.0)
    refund = xero.request(
        "PUT",
        "/Payments",
        json={
            "Payments": [
                {
                    "CreditNote": {"CreditNoteID": note["CreditNoteID"]},
                    "Account": {"Code": "090"},
                    "Date": "2026-12-03",
                    "Amount": 20,
                }
            ]
        },
    ).json()["Payments"][0]
    assert refund["PaymentType"] == "ARCREDITPAYMENT"
    read = xero.request("GET", f"/CreditNotes/{note['CreditNoteID']}").json()["CreditNotes"][0]
    assert (read["Status"], read["RemainingCredit"]) == ("PAID", 0.0)


def test_a_credit_note_allocated_to_an_invoice_reduces_what_is_due(xero: XeroClient) -> None:
    ada = _contact(xero)["ContactID"]
    invoice = _invoice(xero, ada)
    note = _put(
        xero,
        "CreditNotes",
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": ada},
            "Status": "AUTHORISED",
            "LineItems": [dict(LINE, Quantity=1)],
        },
    ).json()["CreditNotes"][0]
    answer = xero.request(
        "PUT",
        f"/CreditNotes/{note['CreditNoteID']}/Allocations",
        json={
            "Allocations": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 20, "Date": "2026-12-03"}
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    read = xero.request("GET", f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (read["AmountCredited"], read["AmountDue"]) == (20.0, 20.0)


def test_items_keep_xeros_code_and_name_limits(xero: XeroClient) -> None:
    answer = _put(
        xero,
        "Items",
        {"Code": "X" * 31, "Name": "N" * 51},
        {"Code": "TIRE", "Name": "Tire", "SalesDetails": {"UnitPrice": 20, "AccountCode": "200"}},
        summarize=False,
    ).json()["Items"]
    assert [m["Message"] for m in answer[0]["ValidationErrors"]] == [
        "The Code must not exceed 30 characters",
        "The Name must not exceed 50 characters",
    ]
    assert answer[1]["ItemID"] and xero.request("GET", "/Items/TIRE").json()["Items"][0]["Name"] == "Tire"
    invoice = _invoice(
        xero, _contact(xero)["ContactID"], LineItems=[{"ItemCode": "TIRE", "Quantity": 1, "UnitAmount": 20}]
    )
    assert invoice["LineItems"][0]["AccountCode"] == "200"


def test_paging_and_if_modified_since(xero: XeroClient) -> None:
    for n in range(5):
        _contact(xero, f"C{n}")
    page = xero.request("GET", "/Contacts", params={"page": "2", "pageSize": "2", "order": "Name ASC"}).json()
    assert [c["Name"] for c in page["Contacts"]] == ["C2", "C3"]
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}
    future = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    none = xero.request("GET", "/Contacts", headers={"If-Modified-Since": future}).json()["Contacts"]
    assert none == []
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert len(xero.request("GET", "/Contacts", headers={"If-Modified-Since": past}).json()["Contacts"]) == 5


def test_money_is_exact(xero: XeroClient) -> None:
    invoice = _invoice(
        xero, _contact(xero)["ContactID"], LineItems=[dict(LINE, Quantity=3, UnitAmount="0.1")]
    )
    assert Decimal(str(invoice["Total"])) == Decimal("0.30")
