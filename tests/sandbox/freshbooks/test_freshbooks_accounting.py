"""The accounting API as the sandbox plays it: CRUD of clients, items, taxes, invoices and
payments under the business's account_id in FreshBooks' wrappers, searches and pages as the SDK
sends them, money as decimal strings with their code, line taxes as percentages, invoices created
as drafts then marked sent, the invoice's status arithmetic (partial 8, paid 4, overpayment
credit), and both error shapes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksClient, FreshBooksControl
from tests.threads import running

LINES = [("include[]", "lines")]


def client(fb: FreshBooksClient, **fields: Any) -> dict[str, Any]:
    body = {"organization": "Acme Ltd", "email": "ap@acme.test", **fields}
    found: dict[str, Any] = fb.result("POST", "users/clients", json={"client": body})["client"]
    return found


def invoice(fb: FreshBooksClient, customerid: int, **fields: Any) -> dict[str, Any]:
    body = {
        "customerid": customerid,
        "create_date": "2026-12-01",
        "due_offset_days": 30,
        "lines": [{"name": "Widget", "qty": 2, "unit_cost": {"amount": "50.00", "code": "USD"}}],
        **fields,
    }
    found: dict[str, Any] = fb.result("POST", "invoices/invoices", json={"invoice": body}, params=LINES)[
        "invoice"
    ]
    return found


def pay(fb: FreshBooksClient, invoiceid: int, amount: str, day: str = "2026-12-05") -> dict[str, Any]:
    body = {"invoiceid": invoiceid, "amount": {"amount": amount}, "date": day, "type": "Check"}
    found: dict[str, Any] = fb.result("POST", "payments/payments", json={"payment": body})["payment"]
    return found


def get_invoice(fb: FreshBooksClient, invoice_id: int) -> dict[str, Any]:
    found: dict[str, Any] = fb.result("GET", f"invoices/invoices/{invoice_id}", params=LINES)["invoice"]
    return found


def test_clients_round_trip(fb: FreshBooksClient) -> None:
    created = client(fb, fname="Ada", lname="Lovelace", p_city="London")
    assert created["id"] == created["userid"]
    assert created["currency_code"] == "USD"
    assert created["vis_state"] == 0
    assert created["accounting_systemid"] == fb.account_id
    read = fb.result("GET", f"users/clients/{created['id']}")["client"]
    assert read == created
    updated = fb.result(
        "PUT", f"users/clients/{created['id']}", json={"client": {"organization": "Acme Inc"}}
    )
    assert updated["client"]["organization"] == "Acme Inc"
    assert updated["client"]["fname"] == "Ada"
    deleted = fb.result("PUT", f"users/clients/{created['id']}", json={"client": {"vis_state": 1}})["client"]
    assert deleted["vis_state"] == 1
    assert fb.result("GET", "users/clients")["clients"] == []
    assert [
        c["id"] for c in fb.result("GET", "users/clients", params={"search[vis_state]": "1"})["clients"]
    ] == [created["id"]]


def test_items_keep_money_as_decimal_strings_with_their_code(fb: FreshBooksClient) -> None:
    item = fb.result(
        "POST", "items/items", json={"item": {"name": "Widget", "qty": "3", "unit_cost": {"amount": "27.5"}}}
    )["item"]
    assert item["unit_cost"] == {"amount": "27.50", "code": "USD"}
    assert item["id"] == item["itemid"]
    answer = fb.request(
        "POST", "items/items", json={"item": {"name": "Bad", "unit_cost": {"amount": "1.005"}}}
    )
    assert answer.status_code == 422
    assert "more than 2 decimals" in answer.json()["response"]["errors"][0]["message"]
    fb.result("PUT", f"items/items/{item['id']}", json={"item": {"vis_state": 1}})
    assert fb.result("GET", "items/items")["items"] == []


def test_an_invoice_is_created_as_a_draft_then_marked_sent(fb: FreshBooksClient) -> None:
    made = invoice(fb, client(fb)["id"])
    assert (made["status"], made["v3_status"], made["payment_status"]) == (1, "draft", "unpaid")
    assert made["amount"] == {"amount": "100.00", "code": "USD"}
    assert made["outstanding"] == {"amount": "100.00", "code": "USD"}
    assert made["due_date"] == "2026-12-31"
    assert made["invoice_number"] == "0000001"
    sent = fb.result(
        "PUT", f"invoices/invoices/{made['id']}", json={"invoice": {"action_mark_as_sent": True}}
    )
    assert (sent["invoice"]["status"], sent["invoice"]["v3_status"]) == (2, "sent")


def test_an_invoice_answers_its_lines_only_when_asked(fb: FreshBooksClient) -> None:
    made = invoice(fb, client(fb)["id"])
    assert "lines" not in fb.result("GET", f"invoices/invoices/{made['id']}")["invoice"]
    lines = get_invoice(fb, made["id"])["lines"]
    assert lines[0]["amount"] == {"amount": "100.00", "code": "USD"}
    assert lines[0]["qty"] == "2"
    listed = fb.result("GET", "invoices/invoices", params=LINES)["invoices"]
    assert listed[0]["lines"] == lines


def test_line_taxes_are_percentages_of_at_most_three_decimals(fb: FreshBooksClient) -> None:
    lines = [
        {
            "name": "Service",
            "qty": 1,
            "unit_cost": {"amount": "200.00"},
            "taxName1": "State",
            "taxAmount1": "8.875",
            "taxName2": "City",
            "taxAmount2": "1",
        }
    ]
    made = invoice(fb, client(fb)["id"], lines=lines)
    assert made["lines"][0]["taxAmount1"] == "8.875"
    assert made["amount"]["amount"] == "219.75"  # 200 + 17.75 + 2.00
    lines[0]["taxAmount1"] = "8.8755"
    answer = fb.request(
        "POST", "invoices/invoices", json={"invoice": {"customerid": made["customerid"], "lines": lines}}
    )
    assert answer.status_code == 422
    error = answer.json()["response"]["errors"][0]
    assert error["field"] == "taxAmount1" and "at most 3 decimals" in error["message"]


def test_a_discount_comes_off_before_tax(fb: FreshBooksClient) -> None:
    lines = [
        {
            "name": "Service",
            "qty": 1,
            "unit_cost": {"amount": "100.00"},
            "taxName1": "GST",
            "taxAmount1": "10",
        }
    ]
    made = invoice(fb, client(fb)["id"], lines=lines, discount_value="10")
    assert made["discount_total"] == {"amount": "-10.00", "code": "USD"}
    assert made["amount"]["amount"] == "99.00"  # 100 - 10 + 10% of 90


def test_payments_make_an_invoice_partial_then_paid(fb: FreshBooksClient) -> None:
    made = invoice(fb, client(fb)["id"], action_mark_as_sent=True)
    first = pay(fb, made["id"], "40.00")
    assert first["amount"] == {"amount": "40.00", "code": "USD"}
    assert first["clientid"] == made["customerid"]
    partial = get_invoice(fb, made["id"])
    assert (partial["status"], partial["v3_status"], partial["payment_status"]) == (8, "partial", "partial")
    assert (partial["paid"]["amount"], partial["outstanding"]["amount"]) == ("40.00", "60.00")
    pay(fb, made["id"], "60.00", "2026-12-09")
    paid = get_invoice(fb, made["id"])
    assert (paid["status"], paid["v3_status"], paid["date_paid"]) == (4, "paid", "2026-12-09")
    assert paid["outstanding"]["amount"] == "0.00"
    fb.result("PUT", f"payments/payments/{first['id']}", json={"payment": {"vis_state": 1}})
    back = get_invoice(fb, made["id"])
    assert (back["status"], back["outstanding"]["amount"]) == (8, "40.00")


def test_paying_more_than_is_owed_leaves_an_overpayment_credit(
    fb: FreshBooksClient, control: FreshBooksControl
) -> None:
    made = invoice(fb, client(fb)["id"], action_mark_as_sent=True)
    payment = pay(fb, made["id"], "130.00")
    assert payment["overpaymentid"] is not None
    assert get_invoice(fb, made["id"])["status"] == 4
    credits = control.ledger(fb.account_id)["credits"]
    assert credits == [
        {
            "creditid": payment["overpaymentid"],
            "clientid": made["customerid"],
            "paymentid": payment["id"],
            "amount": {"amount": "30.00", "code": "USD"},
            "type": "overpayment",
        }
    ]
    fb.result("PUT", f"payments/payments/{payment['id']}", json={"payment": {"amount": {"amount": "100.00"}}})
    assert control.ledger(fb.account_id)["credits"] == []


def test_a_payment_in_another_currency_is_refused(fb: FreshBooksClient) -> None:
    made = invoice(fb, client(fb)["id"])
    body = {"invoiceid": made["id"], "amount": {"amount": "10.00", "code": "EUR"}, "date": "2026-12-05"}
    answer = fb.request("POST", "payments/payments", json={"payment": body})
    assert answer.status_code == 422
    assert answer.json()["response"]["errors"][0]["field"] == "amount"


def test_invoices_are_deleted_with_a_real_delete(fb: FreshBooksClient) -> None:
    made = invoice(fb, client(fb)["id"])
    answer = fb.request("DELETE", f"invoices/invoices/{made['id']}")
    assert (answer.status_code, answer.json()) == (200, {"response": {}})
    assert fb.result("GET", f"invoices/invoices/{made['id']}")["invoice"]["vis_state"] == 1
    assert fb.result("GET", "invoices/invoices")["invoices"] == []
    assert fb.request("DELETE", f"invoices/invoices/{made['id']}").status_code == 404


def test_taxes_round_trip(fb: FreshBooksClient) -> None:
    tax = fb.result("POST", "taxes/taxes", json={"tax": {"name": "HST", "amount": "13", "number": "RT0001"}})[
        "tax"
    ]
    assert (tax["taxid"], tax["amount"]) == (tax["id"], "13")
    assert fb.result("GET", "taxes/taxes", params={"search[name]": "HST"})["taxes"][0]["id"] == tax["id"]
    assert fb.request("DELETE", f"taxes/taxes/{tax['id']}").status_code == 200


def test_searches_and_pages_as_the_sdk_sends_them(fb: FreshBooksClient) -> None:
    made = [client(fb, organization=f"Org {n}", email=f"c{n}@example.test") for n in range(5)]
    by_email = fb.result("GET", "users/clients", params={"search[email]": "c3@example.test"})["clients"]
    assert [c["id"] for c in by_email] == [made[3]["id"]]
    some = [("search[userids][]", str(made[0]["id"])), ("search[userids][]", str(made[4]["id"]))]
    assert [c["id"] for c in fb.result("GET", "users/clients", params=some)["clients"]] == [
        made[0]["id"],
        made[4]["id"],
    ]
    like = fb.result("GET", "users/clients", params={"search[organization_like]": "org 2"})["clients"]
    assert [c["id"] for c in like] == [made[2]["id"]]
    page = fb.result(
        "GET", "users/clients", params={"page": "2", "per_page": "2", "sort": "organization_desc"}
    )
    assert (page["page"], page["pages"], page["per_page"], page["total"]) == (2, 3, 2, 5)
    assert [c["organization"] for c in page["clients"]] == ["Org 2", "Org 1"]


def test_invoices_are_found_by_number_client_and_date(fb: FreshBooksClient) -> None:
    customer = client(fb)
    first = invoice(fb, customer["id"], invoice_number="BS-1", create_date="2026-11-01")
    second = invoice(fb, customer["id"], invoice_number="BS-2", create_date="2026-12-01")
    by_number = fb.result("GET", "invoices/invoices", params={"search[invoice_number]": "BS-2"})["invoices"]
    assert [i["id"] for i in by_number] == [second["id"]]
    by_date = fb.result("GET", "invoices/invoices", params={"search[date_max]": "2026-11-30"})["invoices"]
    assert [i["id"] for i in by_date] == [first["id"]]
    by_client = fb.result("GET", "invoices/invoices", params={"search[customerid]": str(customer["id"])})
    assert by_client["total"] == 2
    payments = fb.result("GET", "payments/payments", params={"search[invoiceid]": str(first["id"])})
    assert payments["payments"] == []


def test_an_unknown_search_is_refused_not_ignored(fb: FreshBooksClient) -> None:
    answer = fb.request("GET", "users/clients", params={"search[nickname]": "x"})
    assert answer.status_code == 400
    message = answer.json()["response"]["errors"][0]["message"]
    assert "search[nickname]" in message and "email_like" in message


def test_not_found_in_the_legacy_shape(fb: FreshBooksClient) -> None:
    answer = fb.request("GET", "users/clients/12345")
    assert answer.status_code == 404
    assert answer.json() == {
        "response": {
            "errors": [
                {
                    "errno": 1012,
                    "field": "userid",
                    "message": "Client not found.",
                    "object": "client",
                    "value": "12345",
                }
            ]
        }
    }


def test_errors_in_the_newer_shape_when_set(fb: FreshBooksClient, control: FreshBooksControl) -> None:
    control.set_config(error_style="rpc")
    answer = fb.request("GET", "users/clients/12345")
    assert answer.status_code == 404
    body = answer.json()
    assert (body["code"], body["message"]) == (5, "Client not found.")
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert body["details"][0]["reason"] == "1012"


def test_a_refused_update_changes_nothing(fb: FreshBooksClient) -> None:
    made = invoice(fb, client(fb)["id"])
    bad = {"notes": "changed", "lines": [{"name": "x", "qty": 1, "unit_cost": {"amount": "1.001"}}]}
    assert fb.request("PUT", f"invoices/invoices/{made['id']}", json={"invoice": bad}).status_code == 422
    assert get_invoice(fb, made["id"])["notes"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client": {"nickname": "x"}}, "nickname"),
        ({"client": {}}, "organization"),
        ({"client": {"email": "not-an-address"}}, "email"),
    ],
)
def test_clients_are_refused_with_the_field_and_the_fix(
    fb: FreshBooksClient, body: dict[str, Any], field: str
) -> None:
    answer = fb.request("POST", "users/clients", json=body)
    assert answer.status_code == 422
    assert answer.json()["response"]["errors"][0]["field"] == field


def test_the_body_must_be_wrapped_in_the_single_name(fb: FreshBooksClient) -> None:
    answer = fb.request("POST", "users/clients", json={"organization": "Acme"})
    assert answer.status_code == 400
    assert '{"client": {...}}' in answer.json()["response"]["errors"][0]["message"]


def test_a_call_without_a_valid_token_is_unauthenticated(fb: FreshBooksClient) -> None:
    answer = fb.request("GET", "users/clients", headers={"authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"


def test_a_business_over_its_minute_limit_gets_429_with_retry_after(
    fb: FreshBooksClient, control: FreshBooksControl
) -> None:
    control.set_config(business_minute_limit=3)
    assert [fb.request("GET", "users/clients").status_code for _ in range(3)] == [200, 200, 200]
    refused = fb.request("GET", "users/clients")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    control.advance(61)
    assert fb.request("GET", "users/clients").status_code == 200


def test_a_call_over_the_concurrent_limit_gets_429(
    fb: FreshBooksClient, control: FreshBooksControl, sandbox: FreshBooksSandbox
) -> None:
    """With ``business_concurrent_limit`` (what the conformance suite sets to hold booksync's gate
    to it), a call while that many of the business's are in flight is refused; ``latency_ms``
    makes the first one hold its place."""
    control.set_config(business_concurrent_limit=1, latency_ms=1500)
    statuses: list[int] = []
    started = threading.Event()

    def slow_call() -> None:
        started.set()
        statuses.append(fb.request("GET", "users/clients").status_code)

    with running(slow_call):
        started.wait()
        while sandbox.limits.in_flight.get(fb.account_id) != 1:
            threading.Event().wait(0.01)  # until the slow call holds its place
        refused = fb.request("GET", "items/items")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    assert statuses == [200]
    assert control.token_stats()["rate_limited"] == 1
