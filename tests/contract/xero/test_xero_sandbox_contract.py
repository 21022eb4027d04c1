"""Every request the scenario sends and every answer the Xero sandbox gives validate against
Xero's OpenAPI documents (specs/xero/): the Accounting API's (each answer against the schema the
document names for its path, method and status; a 400 against ``Error``), the identity
service's (/connections, the token answer) and the webhooks' (the event payload).

One scenario exercises each endpoint the sandbox serves: organisation and accounts, contacts,
items, invoices through their statuses, payments (several invoices, a single one, a deletion),
credit notes (a refund, an allocation), per-element and summarized validation errors, paging.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from local.sandboxes.xero.server import XeroConfig, XeroSandbox
from local.sandboxes.xero.spec import XeroSpec
from local.sandboxes.xero.testing import XeroClient, XeroControl

pytestmark = pytest.mark.contract

CLIENT_ID, SECRET, REDIRECT = "xero-contract-app", "xero-contract-secret", "https://app.test/cb"
LINE = {"Description": "Consulting", "Quantity": 2, "UnitAmount": 20, "AccountCode": "200", "TaxType": "NONE"}


@dataclass
class Exchange:
    method: str
    path: str  # below /api.xro/2.0
    request: Any
    status: int
    answer: Any


@dataclass
class Scenario:
    exchanges: list[Exchange] = field(default_factory=list)
    connections: Any = None
    token: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    own_check: dict[str, Any] = field(default_factory=dict)  # the sandbox's check_spec report


class Recorder:
    def __init__(self, client: XeroClient, scenario: Scenario) -> None:
        self.client = client
        self.scenario = scenario

    def __call__(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        answer = self.client.request(method, path, json=body, params=params or None)
        payload = answer.json() if answer.content else None
        self.scenario.exchanges.append(
            Exchange(method.lower(), path.split("?", maxsplit=1)[0], body, answer.status_code, payload)
        )
        return payload


def _receiver(events: list[dict[str, Any]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            events.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    found = Scenario()
    receiver = _receiver(found.events)
    config = XeroConfig(check_spec=True)
    with (
        XeroSandbox(config=config, organisations=("Contract Co",)) as sandbox,
        XeroControl(sandbox.url) as control,
    ):
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        code = control.consent(CLIENT_ID, REDIRECT)["code"]
        token = control.http.post(
            "/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=(CLIENT_ID, SECRET),
        )
        found.token = token.json()
        auth = {"authorization": f"Bearer {found.token['access_token']}"}
        found.connections = control.http.get("/connections", headers=auth).json()
        host, port = receiver.server_address[:2]
        control.call("POST", "/webhooks", {"url": f"http://{host!s}:{port}/webhooks/xero", "key": "k"})
        client = XeroClient(sandbox.url, found.token["access_token"], found.connections[0]["tenantId"])
        _accounting(Recorder(client, found))
        control.call("POST", "/webhooks/deliver", {})
        found.own_check = control.call("GET", "/spec")
        client.close()
        yield found
    receiver.shutdown()
    receiver.server_close()


def _accounting(call: Recorder) -> None:
    call("GET", "/Organisation")
    bank = call("GET", "/Accounts", where='Type=="BANK"')["Accounts"][0]
    call("GET", f"/Accounts/{bank['AccountID']}")
    ada = call(
        "PUT",
        "/Contacts",
        {"Contacts": [{"Name": "Ada", "ContactNumber": "bk-1", "EmailAddress": "a@x.test"}]},
    )
    ada_id = ada["Contacts"][0]["ContactID"]
    call("PUT", "/Contacts", {"Contacts": [{"Name": "Bob"}, {"Name": "ada"}]}, summarizeErrors="false")
    call("PUT", "/Contacts", {"Contacts": [{"Name": "Cy"}, {"Name": ""}]})
    call("POST", "/Contacts", {"Contacts": [{"ContactNumber": "bk-1", "Name": "Ada L"}]})
    call("POST", f"/Contacts/{ada_id}", {"Contacts": [{"FirstName": "Ada"}]})
    call("GET", "/Contacts", page="1", pageSize="1", order="Name ASC")
    call("GET", f"/Contacts/{ada_id}")
    call("GET", "/Contacts", IDs=ada_id)
    item = call(
        "PUT",
        "/Items",
        {
            "Items": [
                {"Code": "TIRE", "Name": "Tire", "SalesDetails": {"UnitPrice": 20, "AccountCode": "200"}}
            ]
        },
    )
    item_id = item["Items"][0]["ItemID"]
    call("PUT", "/Items", {"Items": [{"Code": "GONE", "Name": "Gone"}]})
    call("POST", "/Items", {"Items": [{"Code": "TIRE", "Description": "A tire"}]})
    call("POST", f"/Items/{item_id}", {"Items": [{"Code": "TIRE", "Name": "Tyre"}]})
    call("GET", "/Items", where='Code=="TIRE"')
    call("GET", f"/Items/{item_id}")
    gone = call("GET", "/Items/GONE")["Items"][0]["ItemID"]
    call("DELETE", f"/Items/{gone}")
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": ada_id},
        "LineItems": [LINE],
        "Date": "2026-12-01",
        "DueDate": "2026-12-31",
        "Reference": "order 1",
        "LineAmountTypes": "Exclusive",
    }
    one = call("PUT", "/Invoices", {"Invoices": [{**invoice, "Status": "AUTHORISED"}]})["Invoices"][0]
    two = call("PUT", "/Invoices", {"Invoices": [{**invoice, "Status": "DRAFT", "InvoiceNumber": "BK-2"}]})[
        "Invoices"
    ][0]
    call("PUT", "/Invoices", {"Invoices": [{**invoice, "InvoiceNumber": "BK-2"}]}, summarizeErrors="false")
    call("POST", f"/Invoices/{two['InvoiceID']}", {"Invoices": [{"Status": "AUTHORISED"}]})
    draft = call("PUT", "/Invoices", {"Invoices": [invoice]})["Invoices"][0]
    call("POST", "/Invoices", {"Invoices": [{"InvoiceID": draft["InvoiceID"], "Status": "DELETED"}]})
    call("GET", "/Invoices", Statuses="AUTHORISED", page="1")
    call("GET", f"/Invoices/{one['InvoiceID']}")
    call("GET", "/Invoices/BK-2")
    account = {"Account": {"Code": bank["Code"]}, "Date": "2026-12-02"}
    paid = call(
        "PUT",
        "/Payments",
        {
            "Payments": [
                {**account, "Invoice": {"InvoiceID": one["InvoiceID"]}, "Amount": 40},
                {**account, "Invoice": {"InvoiceID": two["InvoiceID"]}, "Amount": 10, "Reference": "part"},
            ]
        },
    )["Payments"]
    call("POST", "/Payments", {**account, "Invoice": {"InvoiceID": two["InvoiceID"]}, "Amount": 5})
    call(
        "PUT",
        "/Payments",
        {"Payments": [{**account, "Invoice": {"InvoiceID": two["InvoiceID"]}, "Amount": 500}]},
    )
    call("POST", f"/Payments/{paid[1]['PaymentID']}", {"Status": "DELETED"})
    call("GET", "/Payments")
    call("GET", f"/Payments/{paid[0]['PaymentID']}")
    call("POST", f"/Invoices/{two['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": ada_id},
        "Status": "AUTHORISED",
        "LineItems": [LINE],
    }
    refund = call("PUT", "/CreditNotes", {"CreditNotes": [note]})["CreditNotes"][0]
    call(
        "PUT",
        "/Payments",
        {"Payments": [{**account, "CreditNote": {"CreditNoteID": refund["CreditNoteID"]}, "Amount": 40}]},
    )
    credit = call("PUT", "/CreditNotes", {"CreditNotes": [note]})["CreditNotes"][0]
    three = call("PUT", "/Invoices", {"Invoices": [{**invoice, "Status": "AUTHORISED"}]})["Invoices"][0]
    call(
        "PUT",
        f"/CreditNotes/{credit['CreditNoteID']}/Allocations",
        {"Allocations": [{"Invoice": {"InvoiceID": three["InvoiceID"]}, "Amount": 15, "Date": "2026-12-03"}]},
    )
    call("GET", "/CreditNotes")
    call("GET", f"/CreditNotes/{credit['CreditNoteID']}")


def test_the_scenario_covers_every_route_and_both_kinds_of_validation_error(scenario: Scenario) -> None:
    statuses = {(e.method, e.path.split("/")[1], e.status) for e in scenario.exchanges}
    for entity in ("Contacts", "Items", "Invoices", "Payments", "CreditNotes"):
        assert {("get", entity, 200), ("put", entity, 200)} <= statuses, entity
    assert ("put", "Contacts", 400) in statuses and ("put", "Payments", 400) in statuses
    element_errors = [
        element
        for e in scenario.exchanges
        if e.status == 200 and e.method == "put"
        for element in next(iter(e.answer.values()))
        if element.get("ValidationErrors")
    ]
    assert len(element_errors) == 2


def test_every_accounting_answer_validates(scenario: Scenario, accounting: XeroSpec) -> None:
    problems = [
        problem
        for e in scenario.exchanges
        for problem in accounting.answer_problems(e.path, e.method, e.status, e.answer)
    ]
    assert not problems, "\n".join(problems[:30])


def test_every_accounting_request_validates(scenario: Scenario, accounting: XeroSpec) -> None:
    problems = [
        problem
        for e in scenario.exchanges
        if e.request is not None
        for problem in accounting.request_problems(e.path, e.method, e.request)
    ]
    assert not problems, "\n".join(problems[:30])


def test_the_identity_answers_validate(scenario: Scenario, identity: XeroSpec) -> None:
    assert not identity.answer_problems("/Connections", "get", 200, scenario.connections)
    # Xero's token answer also carries the granted ``scope`` (its OAuth 2.0 guide), which the
    # document's AccessToken leaves out.
    token = {k: v for k, v in scenario.token.items() if k != "scope"}
    assert not identity.schema_problems("AccessToken", token)
    assert scenario.token["scope"].split() == ["offline_access", *scenario.token["scope"].split()[1:]]


def test_the_webhook_payload_validates(scenario: Scenario, webhooks: XeroSpec) -> None:
    assert scenario.events and scenario.events[0]["events"]
    for payload in scenario.events:
        assert not webhooks.schema_problems("WebhookEvent", payload)


def test_the_sandboxs_own_check_saw_every_call_and_found_nothing(scenario: Scenario) -> None:
    assert scenario.own_check["checking"] is True
    assert scenario.own_check["checked"] == len(scenario.exchanges)
    assert scenario.own_check["problems"] == []


def test_the_sandboxs_own_check_reports_what_xeros_document_does_not_have() -> None:
    with XeroSandbox(config=XeroConfig(check_spec=True)) as sandbox, XeroControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        tokens = control.connect(CLIENT_ID, SECRET, REDIRECT)
        client = XeroClient(sandbox.url, tokens.access_token, tokens.tenant_ids[0])
        answer = client.request("PUT", "/Contacts", json={"Contacts": [{"Name": "Ada", "Nickname": "A"}]})
        client.close()
        assert answer.status_code == 200  # Xero ignores a field it does not know; the check tells the test
        report = control.call("GET", "/spec")
    assert report["checked"] == 1
    assert any("'Nickname' was unexpected" in problem for problem in report["problems"]), report
