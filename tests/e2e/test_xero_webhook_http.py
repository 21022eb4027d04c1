"""Xero's webhook as Xero meets it through the local runtime (template.yaml, XeroWebhookFunction in
a worker process under its own IAM role, moto server, the Xero sandbox's app webhook posting to the
stack's own POST /webhooks/xero with the key local/stack.yaml puts in SSM): Intent to Receive
passes, and a void made in Xero reaches the invoice as drift through XeroEventsFunction."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from local import app_return
from local.sandboxes.xero.testing import XeroClient, XeroControl, redirect_params
from local.stack import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]

COMPANY = "xero-webhooks-http"


def test_intent_to_receive_passes_against_the_stacks_own_endpoint(stack: LocalStack) -> None:
    run = stack.sandboxes["xero"]
    assert run.notification_url == f"{stack.api_url}/webhooks/xero"
    with XeroControl(run.url) as xero:
        check = xero.call("POST", "/webhooks/intent", {"rounds": 2})
    assert check["passed"] is True, check
    answers = [(d["signed_correctly"], d["status"], d["body"]) for d in check["deliveries"]]
    assert answers == [(True, 200, ""), (False, 401, "")] * 2
    stack.drain(timeout=60)  # the signed ones, queued raw, consumed: no event in them


def test_a_void_made_in_xero_reaches_the_invoice_as_drift_through_the_runtime(
    stack: LocalStack, api: httpx.Client
) -> None:
    """Connect Xero over HTTP, sync an invoice, void it in Xero (another app of the organisation):
    the sandbox's signed delivery goes through XeroWebhookFunction and XeroEventsFunction, each
    under its own role, and the invoice's sync status says it was voided there."""
    run = stack.sandboxes["xero"]
    with XeroControl(run.url) as xero:
        started = api.post("/integrations/xero/connect")
        assert started.status_code == 200, started.text
        tenant = xero.organisations()[0]["tenant_id"]  # one organisation granted: connected at once
        params = redirect_params(started.json()["authorization_url"])
        answer = xero.consent(params.pop("client_id"), params.pop("redirect_uri"), [tenant], **params)
        callback = httpx.get(f"{run.redirect_uri}?{urlencode(answer)}", timeout=30)
        assert app_return.confirm(api, "xero", callback).status_code == 200
        assert api.get("/integrations/xero").json()["account_id"] == tenant

        assert api.put("/customers/c-1", json={"display_name": "Ada Lovelace"}).is_success
        assert api.put("/items/i-1", json={"name": "Drain cleaning", "unit_price": "150.00"}).is_success
        invoice = {
            "customer_id": "c-1",
            "number": "X-1001",
            "status": "SENT",
            "issue_date": "2026-11-02",
            "lines": [{"item_id": "i-1", "quantity": "2", "unit_price": "150.00"}],
        }
        assert api.put("/invoices/inv-x1", json=invoice).is_success
        stack.drain(timeout=60)
        (pushed,) = [i for i in xero.ledger(tenant)["invoices"] if i["InvoiceNumber"] == "X-1001"]
        xero.call("POST", "/webhooks/deliver", {})  # booksync's own creates: its own writes
        stack.drain(timeout=60)

        xero.register_client("bookkeeper-app", "bookkeeper-secret-5e1", ["https://other.example.com/cb"])
        other = xero.connect("bookkeeper-app", "bookkeeper-secret-5e1", "https://other.example.com/cb")
        bookkeeper = XeroClient(run.url, other.access_token, tenant)
        voided = bookkeeper.request("POST", f"/Invoices/{pushed['InvoiceID']}", json={"Status": "VOIDED"})
        bookkeeper.close()
        assert voided.status_code == 200, voided.text
        assert [d["status"] for d in xero.call("POST", "/webhooks/deliver", {})["deliveries"]] == [200]
        stack.drain(timeout=60)
    status = api.get("/invoices/inv-x1/sync-status").json()
    drift = status["drift"]
    assert drift["change"] == "Void" and drift["message"].startswith("Voided in Xero"), status
    assert status["badge"] == "Synced"  # booksync's invoice is as it sent it; nothing copied back
