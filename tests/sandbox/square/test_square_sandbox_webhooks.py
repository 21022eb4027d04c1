"""Webhook delivery: the envelope, Square's signature, repeats, stale redeliveries, unsent requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
from square_helpers import CLIENT_ID, CLIENT_SECRET, SIGNATURE_KEY, Receiver

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import SquareClient, SquareControl
from local.sandboxes.square.webhooks import SIGNATURE_HEADER


def _expected_signature(url: str, body: bytes, key: str = SIGNATURE_KEY) -> str:
    digest = hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_payment_created_is_delivered_signed_with_the_url_and_body(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver, square: SquareClient
) -> None:
    made = control.pay(merchant["id"], 1_000, tip=100, reference_id="INV-7")
    assert [d["status"] for d in made["deliveries"]] == [200]
    [received] = subscribed.received
    assert received.path == "/webhooks/square"
    assert received.headers[SIGNATURE_HEADER] == _expected_signature(subscribed.url, received.body)
    assert received.headers["content-type"] == "application/json"
    event = json.loads(received.body)
    assert list(event) == ["merchant_id", "type", "event_id", "created_at", "data"]
    assert event["merchant_id"] == merchant["id"] and event["type"] == "payment.created"
    payment = square.get(f"/v2/payments/{made['payment']['id']}").json()["payment"]
    assert event["data"] == {"type": "payment", "id": payment["id"], "object": {"payment": payment}}
    assert event == made["events"][0]


def test_payout_events_carry_the_location(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    control.pay(merchant["id"], 1_000)
    payout = control.payout(merchant["id"])["payout"]
    control.call("POST", f"/payouts/{payout['id']}/paid")
    events = [json.loads(body) for body in subscribed.bodies()]
    assert [e["type"] for e in events] == ["payment.created", "payout.sent", "payout.paid"]
    for event in events[1:]:
        assert event["location_id"] == payout["location_id"]
        assert event["data"]["type"] == "payout" and event["data"]["id"] == payout["id"]
    assert events[1]["data"]["object"]["payout"]["status"] == "SENT"
    assert events[2]["data"]["object"]["payout"]["status"] == "PAID"


def test_the_same_event_can_arrive_several_times(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    control.pay(merchant["id"], 1_000)
    made = control.payout(merchant["id"], times=5)
    assert len(made["deliveries"]) == 5
    sent = [json.loads(body) for body in subscribed.bodies()][1:]
    assert len(sent) == 5 and len({e["event_id"] for e in sent}) == 1
    assert [r.headers["square-retry-number"] for r in subscribed.received[1:]] == ["0", "1", "2", "3", "4"]


def test_a_stale_redelivery_keeps_its_old_event_id_and_snapshot(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    created = control.pay(merchant["id"], 1_000)
    event_id = created["events"][0]["event_id"]
    control.refund(created["payment"]["id"], amount=400)
    again = control.call("POST", f"/events/{event_id}/deliver", {"times": 2})
    assert [d["status"] for d in again["deliveries"]] == [200, 200]
    stale = [json.loads(body) for body in subscribed.bodies()][-2:]
    for event in stale:
        assert event["event_id"] == event_id
        assert "refunded_money" not in event["data"]["object"]["payment"]
    listed = control.call("GET", f"/events?type=payment.updated&merchant_id={merchant['id']}")["events"]
    assert listed[-1]["data"]["object"]["payment"]["refunded_money"]["amount"] == 400


def test_unsent_events_come_back_signed_and_nothing_is_posted(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    made = control.pay(merchant["id"], 1_000, deliver=False)
    assert subscribed.received == []
    [request] = made["requests"]
    assert request["url"] == subscribed.url
    body = request["body"].encode()
    assert request["headers"][SIGNATURE_HEADER] == _expected_signature(subscribed.url, body)
    assert json.loads(body) == made["events"][0]
    event_id = made["events"][0]["event_id"]
    unsent = control.call("POST", f"/events/{event_id}/deliver", {"send": False})
    assert unsent["requests"] == [request]
    assert subscribed.received == []


def test_subscriptions_filter_event_types_and_report_failures(
    control: SquareControl, merchant: dict[str, Any], receiver: Receiver
) -> None:
    control.subscribe(receiver.url, "payout-key", event_types=["payout.sent"])
    receiver.status = 500
    control.pay(merchant["id"], 1_000)
    assert receiver.received == []
    made = control.payout(merchant["id"])
    assert [d["status"] for d in made["deliveries"]] == [500]
    [received] = receiver.received
    assert received.headers[SIGNATURE_HEADER] == _expected_signature(
        receiver.url, received.body, "payout-key"
    )
    log = control.call("GET", "/webhooks/deliveries")["deliveries"]
    assert [(d["type"], d["status"]) for d in log] == [("payout.sent", 500)]


def test_an_unreachable_endpoint_is_reported_not_raised(
    control: SquareControl, merchant: dict[str, Any]
) -> None:
    control.subscribe("http://127.0.0.1:9/webhooks/square", "k")
    made = control.pay(merchant["id"], 1_000)
    [delivery] = made["deliveries"]
    assert delivery["status"] is None and delivery["error"]


def test_bad_subscriptions_are_refused(control: SquareControl) -> None:
    for body in (
        {"notification_url": "ftp://x"},
        {"notification_url": "http://x", "event_types": ["payment.lost"]},
    ):
        answer = control.http.post("/_sandbox/webhooks/subscriptions", json=body)
        assert answer.status_code == 400
    assert control.call("GET", "/webhooks/subscriptions")["subscriptions"] == []


def test_approve_first_announces_approved_then_completed(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    made = control.pay(merchant["id"], 1_000, reference_id="INV-9", approve_first=True)
    assert made["payment"]["status"] == "COMPLETED"
    events = [json.loads(body) for body in subscribed.bodies()]
    assert [(e["type"], e["data"]["object"]["payment"]["status"]) for e in events] == [
        ("payment.created", "APPROVED"),
        ("payment.updated", "COMPLETED"),
    ]
    assert events[0]["data"]["id"] == events[1]["data"]["id"] == made["payment"]["id"]
    assert events[0]["event_id"] != events[1]["event_id"]


def test_partial_payments_of_one_invoice_share_its_reference(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    first = control.pay(merchant["id"], 4_000, reference_id="INV-10")["payment"]
    second = control.pay(merchant["id"], 6_000, tip=500, reference_id="INV-10")["payment"]
    listed = square.get("/v2/payments", sort_order="ASC").json()["payments"]
    assert [(p["id"], p["reference_id"]) for p in listed] == [
        (first["id"], "INV-10"),
        (second["id"], "INV-10"),
    ]
    assert sum(p["amount_money"]["amount"] for p in listed) == 10_000


def test_an_app_subscription_hears_only_sellers_who_authorized_it(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any], receiver: Receiver
) -> None:
    control.subscribe(receiver.url, "app-key", client_id=CLIENT_ID)
    stranger = control.add_merchant("Never connected")
    control.pay(stranger["id"], 1_000)
    assert receiver.received == []
    tokens = control.call("POST", "/tokens/issue", {"client_id": CLIENT_ID, "merchant_id": merchant["id"]})
    control.pay(merchant["id"], 1_000)
    assert [json.loads(body)["merchant_id"] for body in receiver.bodies()] == [merchant["id"]]
    revoked = httpx.post(
        f"{sandbox.url}/oauth2/revoke",
        json={"client_id": CLIENT_ID, "access_token": tokens["access_token"]},
        headers={"Authorization": f"Client {CLIENT_SECRET}"},
    )
    assert revoked.status_code == 200
    control.pay(merchant["id"], 2_000)
    assert len(receiver.received) == 1  # nothing after the seller revoked the app
