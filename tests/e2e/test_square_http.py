"""Square as a business meets it through the local runtime (template.yaml, the JWT authorizer,
ApiFunction, SquareWebhookFunction and SquareEventsFunction in worker processes, moto server, the
Square sandbox posting signed webhooks to the stack's own POST /webhooks/square):

- connect Square over HTTP (consent, callback); its locations are recorded;
- a card payment whose reference_id is an invoice id is recorded on that invoice as
  ``square-<id>``; a payment for an unknown invoice is listed as unmatched and matched by an admin.
"""

from __future__ import annotations

import httpx
import pytest

from local import app_return
from local.sandboxes.square.testing import SquareControl
from local.stack import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]

COMPANY = "square-http"


def test_card_payments_reach_their_invoices(stack: LocalStack, api: httpx.Client) -> None:
    assert stack.sandboxes["square"].url
    with SquareControl(stack.sandboxes["square"].url) as square:
        merchant = square.add_merchant("Harper Plumbing", ["Main"])
        started = api.post("/integrations/square/connect")
        assert started.status_code == 200, started.text
        consent = httpx.get(
            started.json()["authorization_url"] + f"&merchant_id={merchant['id']}", timeout=30
        )
        assert consent.status_code == 302, consent.text
        callback = httpx.get(consent.headers["location"], timeout=30)
        assert callback.status_code in (200, 302), callback.text
        assert app_return.confirm(api, "square", callback).status_code == 200
        described = api.get("/integrations/square").json()
        assert described["status"] == "connected" and described["account_id"] == merchant["id"]
        assert [loc["id"] for loc in described["locations"]] == [merchant["main_location_id"]]

        assert api.put("/customers/c-1", json={"display_name": "Ada Lovelace"}).is_success
        assert api.put("/items/i-1", json={"name": "Drain cleaning", "unit_price": "150.00"}).is_success
        invoice = {
            "customer_id": "c-1",
            "number": "1001",
            "status": "SENT",
            "issue_date": "2026-11-02",
            "lines": [{"item_id": "i-1", "quantity": "2", "unit_price": "150.00"}],
        }
        assert api.put("/invoices/inv-1001", json=invoice).is_success

        paid = square.pay(merchant["id"], 30000, tip=2000, reference_id="inv-1001")
        assert [d["status"] for d in paid["deliveries"]] == [200], paid["deliveries"]
        stray = square.pay(merchant["id"], 4500, reference_id="inv-unknown")
        stack.drain(timeout=60)

        payment = api.get(f"/payments/square-{paid['payment']['id']}")
        assert payment.status_code == 200, payment.text
        document = payment.json()["document"]
        assert document["invoice_id"] == "inv-1001" and document["amount"] == "300.00"
        assert document["method"] == "credit_card"

        unmatched = api.get("/square/payments/unmatched").json()
        assert [p["square_id"] for p in unmatched] == [stray["payment"]["id"]]
        assert "inv-unknown" in unmatched[0]["error"]
        # inv-1001 is paid in full: the door refuses the stray 45.00 there (an overpayment), so the
        # admin matches it to the invoice it was for.
        overpaid = api.post(
            f"/square/payments/{stray['payment']['id']}/match", json={"invoice_id": "inv-1001"}
        )
        assert overpaid.status_code == 422, overpaid.text
        assert "open balance 0.00" in overpaid.json()["detail"]
        assert [p["square_id"] for p in api.get("/square/payments/unmatched").json()] == [
            stray["payment"]["id"]
        ]
        second = {
            **invoice,
            "number": "1002",
            "lines": [{"item_id": "i-1", "quantity": "1", "unit_price": "45.00"}],
        }
        assert api.put("/invoices/inv-1002", json=second).is_success
        matched = api.post(
            f"/square/payments/{stray['payment']['id']}/match", json={"invoice_id": "inv-1002"}
        )
        assert matched.status_code == 200, matched.text
        assert api.get("/square/payments/unmatched").json() == []
