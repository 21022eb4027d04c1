"""Xero's webhooks from the sandbox: Intent to Receive (200 for the correctly signed POSTs, 401
for the others, empty bodies) and thin events signed with x-xero-signature, on demand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.sandboxes.xero.testing import XeroClient, XeroControl

KEY = "xero-webhook-key"


class Receiver:
    """A loopback webhook endpoint that checks x-xero-signature as an app must (or answers 200
    to everything when ``lenient``) and records what it received."""

    def __init__(self, *, lenient: bool = False) -> None:
        self.lenient = lenient
        self.down = False  # answer 503 to everything
        self.received: list[tuple[bool, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
                good = hmac.compare_digest(expected, self.headers.get("x-xero-signature", ""))
                receiver.received.append((good, json.loads(body)))
                self.send_response(503 if receiver.down else 200 if good or receiver.lenient else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/webhooks/xero"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


def test_intent_to_receive_passes_a_receiver_that_checks_signatures(
    control: XeroControl, receiver: Receiver
) -> None:
    control.call("POST", "/webhooks", {"url": receiver.url, "key": KEY})
    result = control.call("POST", "/webhooks/intent", {"rounds": 2})
    assert result["passed"] is True
    assert [(d["signed_correctly"], d["status"]) for d in result["deliveries"]] == [
        (True, 200),
        (False, 401),
        (True, 200),
        (False, 401),
    ]
    assert all(body["events"] == [] and body["firstEventSequence"] == 0 for _, body in receiver.received)
    assert control.call("GET", "/webhooks")["webhook"]["intent_passed"] is True


def test_intent_to_receive_fails_a_receiver_that_accepts_anything(control: XeroControl) -> None:
    lenient = Receiver(lenient=True)
    control.call("POST", "/webhooks", {"url": lenient.url, "key": KEY})
    assert control.call("POST", "/webhooks/intent", {})["passed"] is False
    lenient.stop()


def test_events_are_thin_signed_and_delivered_once(
    control: XeroControl, receiver: Receiver, xero: XeroClient
) -> None:
    control.call("POST", "/webhooks", {"url": receiver.url, "key": KEY})
    contact = xero.request("PUT", "/Contacts", json={"Contacts": [{"Name": "Ada"}]}).json()["Contacts"][0]
    invoice = xero.request(
        "PUT",
        "/Invoices",
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "Status": "AUTHORISED",
                    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}],
                }
            ]
        },
    ).json()["Invoices"][0]
    delivered = control.call("POST", "/webhooks/deliver", {})["deliveries"]
    assert [(d["status"], d["events"]) for d in delivered] == [(200, 2)]
    good, body = receiver.received[-1]
    assert good and (body["firstEventSequence"], body["lastEventSequence"]) == (1, 2)
    assert [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in body["events"]] == [
        ("CONTACT", "CREATE", contact["ContactID"]),
        ("INVOICE", "CREATE", invoice["InvoiceID"]),
    ]
    assert body["events"][1]["resourceUrl"].endswith(f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}")
    assert all(e["tenantId"] == xero.tenant_id and e["tenantType"] == "ORGANISATION" for e in body["events"])
    assert control.call("POST", "/webhooks/deliver", {})["deliveries"] == []


def test_a_refused_delivery_is_kept_for_the_next_one(
    control: XeroControl, receiver: Receiver, xero: XeroClient
) -> None:
    control.call("POST", "/webhooks", {"url": receiver.url, "key": KEY})
    xero.request("PUT", "/Contacts", json={"Contacts": [{"Name": "Ada"}]})
    wrong = control.call("POST", "/webhooks/deliver", {"wrong_signature": True})["deliveries"]
    assert [d["status"] for d in wrong] == [401]
    receiver.down = True
    assert [d["status"] for d in control.call("POST", "/webhooks/deliver", {})["deliveries"]] == [503]
    receiver.down = False
    again = control.call("POST", "/webhooks/deliver", {"times": 2})["deliveries"]
    assert [(d["status"], d["events"]) for d in again] == [(200, 1), (200, 1)]
