"""Wave's GraphQL endpoint as the sandbox plays it: documents validated before the token is looked
at, Wave's pagination, customers, products and invoices with their rules, invoice payments that
need an approved invoice and turn it PAID, the user's edits in Wave, faults and the rate limit."""

from __future__ import annotations

import functools
import time

import httpx
import pytest
from wave_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    CUSTOMER_CREATE,
    INVOICE,
    INVOICE_APPROVE,
    INVOICE_DELETE,
    INVOICE_MARK_SENT,
    PAYMENT_CREATE,
    PAYMENT_DELETE,
    PRODUCT_CREATE,
    account,
    data,
    invoice_ready,
)

from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import Tokens, WaveClient, WaveControl
from tests.threads import run_threads, running

CUSTOMERS = """query($businessId: ID!, $page: Int!, $pageSize: Int!) {
  business(id: $businessId) {
    customers(page: $page, pageSize: $pageSize, sort: [NAME_ASC]) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id name } }
    }
  }
}"""


def test_a_wrong_document_is_refused_before_the_token_is_looked_at(sandbox: WaveSandbox) -> None:
    anonymous = WaveClient(sandbox.url, None)
    wrong = anonymous.post('{ business(id: "x") { nonsense } }')
    assert wrong.status_code == 200
    assert wrong.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    bad_variable = anonymous.gql(CUSTOMERS, {"businessId": "x", "page": "one", "pageSize": 10})
    assert bad_variable["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    valid = anonymous.gql(CUSTOMERS, {"businessId": "x", "page": 1, "pageSize": 10})
    assert [e["extensions"]["code"] for e in valid["errors"]] == ["UNAUTHENTICATED"]
    anonymous.close()


def test_customers_page_as_wave_pages(wave: WaveClient, business_id: str) -> None:
    for name in ("Carol", "alice", "Bob"):
        created = wave.gql(CUSTOMER_CREATE, {"input": {"businessId": business_id, "name": name}})
        assert data(created, "customerCreate", "didSucceed") is True
    second = data(
        wave.gql(CUSTOMERS, {"businessId": business_id, "page": 2, "pageSize": 2}), "business", "customers"
    )
    assert second["pageInfo"] == {"currentPage": 2, "totalPages": 2, "totalCount": 3}
    assert [edge["node"]["name"] for edge in second["edges"]] == ["Carol"]


def test_a_refused_write_answers_input_errors_and_writes_nothing(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    blank = wave.gql(CUSTOMER_CREATE, {"input": {"businessId": business_id, "name": "  "}})
    assert data(blank, "customerCreate") == {
        "didSucceed": False,
        "inputErrors": [
            {
                "code": "REQUIRED",
                "message": "name is required and may not be blank",
                "path": ["input", "name"],
            }
        ],
        "customer": None,
    }
    expense = account(wave, business_id, "OPERATING_EXPENSE")
    product = wave.gql(
        PRODUCT_CREATE,
        {"input": {"businessId": business_id, "name": "Pen", "unitPrice": "1", "incomeAccountId": expense}},
    )
    assert data(product, "productCreate", "inputErrors")[0]["path"] == ["input", "incomeAccountId"]
    ledger = control.ledger(business_id)
    assert ledger["customers"] == [] and ledger["products"] == []


def test_money_is_exact_decimal_strings(wave: WaveClient, business_id: str) -> None:
    income = account(wave, business_id, "INCOME")
    product = wave.gql(
        PRODUCT_CREATE,
        {
            "input": {
                "businessId": business_id,
                "name": "Bolt",
                "unitPrice": "2.0625",
                "incomeAccountId": income,
            }
        },
    )
    assert data(product, "productCreate", "product", "unitPrice") == "2.0625"


def test_an_invoice_is_paid_once_approved_and_paid_in_full(wave: WaveClient, business_id: str) -> None:
    invoice_id = invoice_ready(wave, business_id, price="40.00")
    bank = account(wave, business_id, "CASH_AND_BANK")
    payment = {
        "invoiceId": invoice_id,
        "paymentAccountId": bank,
        "amount": "15.50",
        "paymentDate": "2026-12-01",
        "paymentMethod": "BANK_TRANSFER",
    }
    early = data(wave.gql(PAYMENT_CREATE, {"input": payment}), "invoicePaymentCreateManual")
    assert early["didSucceed"] is False and early["inputErrors"][0]["path"] == ["input", "invoiceId"]
    approved = data(
        wave.gql(INVOICE_APPROVE, {"input": {"invoiceId": invoice_id}}), "invoiceApprove", "invoice"
    )
    assert approved["status"] == "SAVED"
    sent = wave.gql(INVOICE_MARK_SENT, {"input": {"invoiceId": invoice_id, "sendMethod": "MARKED_SENT"}})
    assert data(sent, "invoiceMarkSent", "invoice") == {
        "id": invoice_id,
        "status": "SENT",
        "lastSentVia": "MARKED_SENT",
    }
    first = data(wave.gql(PAYMENT_CREATE, {"input": payment}), "invoicePaymentCreateManual", "invoicePayment")
    assert first["amount"] == "15.50"
    assert first["invoice"]["status"] == "PARTIAL" and first["invoice"]["amountDue"] == {"value": "24.50"}
    rest = data(
        wave.gql(PAYMENT_CREATE, {"input": {**payment, "amount": "24.50"}}), "invoicePaymentCreateManual"
    )
    assert rest["invoicePayment"]["invoice"]["status"] == "PAID"
    assert rest["invoicePayment"]["invoice"]["amountPaid"] == {"value": "40.00"}
    deleted = wave.gql(PAYMENT_DELETE, {"input": {"id": rest["invoicePayment"]["id"]}})
    assert data(deleted, "invoicePaymentDelete", "didSucceed") is True
    read = data(wave.gql(INVOICE, {"businessId": business_id, "id": invoice_id}), "business", "invoice")
    assert read["status"] == "PARTIAL" and [p["amount"] for p in read["payments"]] == ["15.50"]


def test_an_invoice_with_payments_cannot_be_deleted(wave: WaveClient, business_id: str) -> None:
    invoice_id = invoice_ready(wave, business_id, status="SAVED")
    bank = account(wave, business_id, "CASH_AND_BANK")
    payment = {
        "invoiceId": invoice_id,
        "paymentAccountId": bank,
        "amount": "1.00",
        "paymentDate": "2026-12-01",
    }
    paid = wave.gql(PAYMENT_CREATE, {"input": {**payment, "paymentMethod": "CASH"}})
    payment_id = data(paid, "invoicePaymentCreateManual", "invoicePayment", "id")
    refused = data(wave.gql(INVOICE_DELETE, {"input": {"invoiceId": invoice_id}}), "invoiceDelete")
    assert refused["didSucceed"] is False
    wave.gql(PAYMENT_DELETE, {"input": {"id": payment_id}})
    assert (
        data(wave.gql(INVOICE_DELETE, {"input": {"invoiceId": invoice_id}}), "invoiceDelete", "didSucceed")
        is True
    )
    gone = wave.gql(INVOICE, {"businessId": business_id, "id": invoice_id})
    assert data(gone, "business", "invoice") is None


def test_an_unpaid_invoice_past_its_due_date_is_overdue(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    invoice_id = invoice_ready(wave, business_id, status="SAVED")
    read = data(wave.gql(INVOICE, {"businessId": business_id, "id": invoice_id}), "business", "invoice")
    assert read["status"] == "SAVED"
    control.advance(2 * 24 * 3600)  # the app's access token has expired by then: a full access token reads
    wave.access_token = control.full_access_token()
    read = data(wave.gql(INVOICE, {"businessId": business_id, "id": invoice_id}), "business", "invoice")
    assert read["status"] == "OVERDUE"


def test_the_user_edits_and_deletes_in_wave(control: WaveControl, wave: WaveClient, business_id: str) -> None:
    invoice_id = invoice_ready(wave, business_id)
    patch = """mutation($input: InvoicePatchInput!) {
      invoicePatch(input: $input) { didSucceed invoice { memo modifiedAt } }
    }"""
    edited = control.in_wave(business_id, patch, {"input": {"id": invoice_id, "memo": "Net 30"}})
    assert data(edited, "invoicePatch", "invoice", "memo") == "Net 30"
    assert control.ledger(business_id)["invoices"][0]["memo"] == "Net 30"
    control.in_wave(business_id, INVOICE_DELETE, {"input": {"invoiceId": invoice_id}})
    assert (
        data(wave.gql(INVOICE, {"businessId": business_id, "id": invoice_id}), "business", "invoice") is None
    )


def test_a_committed_write_whose_answer_is_lost_is_in_the_books(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    control.add_fault("commit_then_reset", entity="customer", operation="create", times=1)
    with pytest.raises(httpx.TransportError):  # the connection is reset after the write
        wave.gql(CUSTOMER_CREATE, {"input": {"businessId": business_id, "name": "Lost answer"}})
    assert [c["name"] for c in control.ledger(business_id)["customers"]] == ["Lost answer"]
    entry = control.requests(business_id)[-1]
    assert (entry["entity"], entry["operation"], entry["committed_status"]) == ("customer", "create", 200)
    assert entry["delivered"] is False


def test_too_many_calls_in_flight_are_429_with_retry_after(
    control: WaveControl, sandbox: WaveSandbox, tokens: Tokens
) -> None:
    """Two calls held in flight (one with a refreshed token of the same grant): a third is 429."""
    assert tokens.refresh_token is not None
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token"}
    refreshed = control.http.post("/oauth2/token/", data={**form, "refresh_token": tokens.refresh_token})
    clients = [
        WaveClient(sandbox.url, tokens.access_token),
        WaveClient(sandbox.url, refreshed.json()["access_token"]),
    ]
    statuses: list[int] = []
    control.hold()

    def call(client: WaveClient) -> None:
        statuses.append(client.post("{ user { id } }").status_code)

    with running(*(functools.partial(call, client) for client in clients)):
        try:
            deadline = time.monotonic() + 10
            while sandbox.concurrency.count() < 2:  # both calls admitted and held (no timing involved)
                assert time.monotonic() < deadline, "the two calls never arrived"
                time.sleep(0.01)
            third = clients[0].post("{ user { id } }")
            assert third.status_code == 429 and third.headers["retry-after"] == "1"
            assert third.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
        finally:
            control.hold(False)
    assert statuses == [200, 200]
    assert clients[1].post("{ user { id } }").status_code == 200
    for client in clients:
        client.close()


def test_fault_rules_and_the_log_name_what_a_call_reads_or_writes(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    invoices = "query($b: ID!) { business(id: $b) { invoices { edges { node { id } } } } }"
    customers = "query($b: ID!) { business(id: $b) { customers { edges { node { id } } } } }"
    control.add_fault("http_503", entity="invoice", operation="query", realm=business_id, times=1)
    assert wave.post(customers, {"b": business_id}).status_code == 200
    refused = wave.post(invoices, {"b": business_id})
    assert refused.status_code == 503
    assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert data(wave.gql(invoices, {"b": business_id}), "business", "invoices", "edges") == []
    control.add_fault("http_401", times=1)
    refused_token = wave.post(customers, {"b": business_id})
    assert refused_token.status_code == 200
    assert refused_token.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    seen = [
        (r["entity"], r["operation"], r["business_id"], r["status"]) for r in control.requests(business_id)
    ]
    assert seen[-4:] == [
        ("customer", "query", business_id, 200),
        ("invoice", "query", business_id, 503),
        ("invoice", "query", business_id, 200),
        ("customer", "query", business_id, 200),
    ]
    invoice_id = invoice_ready(wave, business_id)
    wave.gql(INVOICE_APPROVE, {"input": {"invoiceId": invoice_id}})
    approve = control.requests(business_id)[-1]
    assert (approve["entity"], approve["operation"], approve["business_id"]) == (
        "invoice",
        "update",
        business_id,
    )


def test_a_full_access_token_pages_through_every_business(sandbox: WaveSandbox, control: WaveControl) -> None:
    wave = WaveClient(sandbox.url, control.full_access_token())
    page = "query($page: Int!) { businesses(page: $page, pageSize: 3) { pageInfo { currentPage totalPages totalCount } edges { node { name } } } }"
    first = data(wave.gql(page, {"page": 1}), "businesses")
    second = data(wave.gql(page, {"page": 2}), "businesses")
    assert first["pageInfo"] == {"currentPage": 1, "totalPages": 2, "totalCount": 4}
    names = [edge["node"]["name"] for edge in first["edges"] + second["edges"]]
    assert sorted(names) == names and len(names) == 4
    wave.close()


def test_what_wave_has_but_the_sandbox_does_not_model_says_so(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    wave.access_token = control.full_access_token()  # estimate:read, vendor:read
    estimates = "query($b: ID!) { business(id: $b) { estimates { pageInfo { totalCount } } vendors { edges { node { id } } } } }"
    assert data(wave.gql(estimates, {"b": business_id}), "business") == {
        "estimates": {"pageInfo": {"totalCount": 0}},
        "vendors": {"edges": []},
    }
    clone = "mutation($i: InvoiceCloneInput!) { invoiceClone(input: $i) { didSucceed } }"
    answer = wave.gql(clone, {"i": {"invoiceId": "x"}})
    assert answer["data"] == {"invoiceClone": None}
    assert answer["errors"][0]["extensions"]["code"] == "SANDBOX_UNSUPPORTED"


def test_reads_racing_writes_answer_whole(
    sandbox: WaveSandbox, control: WaveControl, business_id: str
) -> None:
    """A read's fields resolve after the list that found them: writes racing it must not break it."""
    token = control.full_access_token()
    setup = WaveClient(sandbox.url, token)
    invoice_id = invoice_ready(setup, business_id, status="SAVED", price="100000")
    bank = account(setup, business_id, "CASH_AND_BANK")
    setup.close()
    control.set_config(concurrent_limit=100)
    read = """query($b: ID!) { business(id: $b) { invoices { edges { node {
      payments { id } amountPaid { value } customer { outstandingAmount { value } } } } } } }"""
    pay = {"invoiceId": invoice_id, "paymentAccountId": bank, "amount": "1", "paymentDate": "2026-12-01"}
    broken: list[object] = []

    def work(writes: bool) -> None:
        client = WaveClient(sandbox.url, token)
        for _ in range(40):
            if writes:
                answer = client.gql(PAYMENT_CREATE, {"input": {**pay, "paymentMethod": "CASH"}})
            else:
                answer = client.gql(read, {"b": business_id})
            broken.extend(answer.get("errors", []))
        client.close()

    run_threads(*(functools.partial(work, writes) for writes in (True, True, True, False, False, False)))
    assert broken == []
    assert len(control.ledger(business_id)["payments"]) == 120


def test_reference_data_answers_without_books(wave: WaveClient) -> None:
    query = """{ accountTypes { value normalBalanceType }
      accountSubtypes { value type { value } }
      currency(code: CAD) { code exponent } oAuthApplication { clientId } }"""
    answer = data(wave.gql(query))
    assert {"value": "INCOME", "normalBalanceType": "CREDIT"} in answer["accountTypes"]
    assert {"value": "CASH_AND_BANK", "type": {"value": "ASSET"}} in answer["accountSubtypes"]
    assert answer["currency"] == {"code": "CAD", "exponent": 2}
    assert answer["oAuthApplication"] == {"clientId": CLIENT_ID}
