"""FreshBooks' webhook callbacks from the sandbox: registration, the verification POST and its
activation (and resend), then form-encoded deliveries of every change to the books, the app's and
the user's own, signed X-FreshBooks-Hmac-SHA256 as FreshBooks' own snippet computes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from local.sandboxes.freshbooks.testing import FreshBooksClient, FreshBooksControl
from tests.sandbox.receiver import Received, Receiver

FIELDS = ["name", "object_id", "account_id", "business_id", "identity_id", "user_id"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(path="/webhooks/freshbooks").start()
    yield running
    running.stop()


def form(received: Received) -> dict[str, str]:
    return dict(parse_qsl(received.body.decode()))


def freshbooks_signature(verifier: str, received: Received) -> str:
    """FreshBooks' documented check (its Flask snippet): json.dumps of the posted form, as is."""
    data = json.dumps(dict(parse_qsl(received.body.decode())))
    digest = hmac.new(verifier.encode("utf-8"), msg=data.encode("utf-8"), digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def register(fb: FreshBooksClient, event: str, uri: str) -> dict[str, Any]:
    path = f"/events/account/{fb.account_id}/events/callbacks"
    answer = fb.http.request(
        "POST",
        fb.http.base_url.copy_with(path=path),
        json={"callback": {"event": event, "uri": uri}},
        headers={"authorization": f"Bearer {fb.access_token}"},
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["response"]["result"]["callback"]
    return found


def events_call(fb: FreshBooksClient, method: str, suffix: str = "", body: object = None) -> Any:
    path = f"/events/account/{fb.account_id}/events/callbacks{suffix}"
    return fb.http.request(
        method,
        fb.http.base_url.copy_with(path=path),
        json=body,
        headers={"authorization": f"Bearer {fb.access_token}"},
    )


def verified(
    fb: FreshBooksClient, control: FreshBooksControl, receiver: Receiver, event: str
) -> dict[str, Any]:
    callback = register(fb, event, receiver.url)
    control.call("POST", "/callbacks/deliver")
    verifier = form(receiver.received[-1])["verifier"]
    answer = events_call(fb, "PUT", f"/{callback['callbackid']}", {"callback": {"verifier": verifier}})
    assert answer.status_code == 200
    return {**answer.json()["response"]["result"]["callback"], "verifier": verifier}


@pytest.fixture
def manual(control: FreshBooksControl) -> FreshBooksControl:
    control.set_config(delivery="manual")
    return control


def test_a_callback_is_verified_before_it_hears_anything(
    fb: FreshBooksClient, manual: FreshBooksControl, receiver: Receiver
) -> None:
    callback = register(fb, "client.create", receiver.url)
    assert (callback["verified"], callback["event"], callback["uri"]) == (
        False,
        "client.create",
        receiver.url,
    )
    manual.call("POST", "/callbacks/deliver")
    verification = form(receiver.received[0])
    assert verification["name"] == "callback.verify"
    assert verification["object_id"] == str(callback["callbackid"])
    fb.result("POST", "users/clients", json={"client": {"organization": "Before"}})
    assert manual.call("POST", "/callbacks/deliver")["deliveries"] == []  # not verified: nothing sent
    wrong = events_call(fb, "PUT", f"/{callback['callbackid']}", {"callback": {"verifier": "guess"}})
    assert wrong.status_code == 422
    assert set(wrong.json()) == {"errno", "message", "details"}
    right = events_call(
        fb, "PUT", f"/{callback['callbackid']}", {"callback": {"verifier": verification["verifier"]}}
    )
    assert right.json()["response"]["result"]["callback"]["verified"] is True


def test_deliveries_are_form_encoded_and_signed_as_freshbooks_documents(
    fb: FreshBooksClient, manual: FreshBooksControl, receiver: Receiver
) -> None:
    callback = verified(fb, manual, receiver, "client.create")
    made = fb.result("POST", "users/clients", json={"client": {"organization": "Ünïcode Café"}})["client"]
    manual.call("POST", "/callbacks/deliver")
    delivery = receiver.received[-1]
    assert delivery.headers["content-type"] == "application/x-www-form-urlencoded"
    assert [key for key, _ in parse_qsl(delivery.body.decode())] == FIELDS
    business = manual.businesses()[0]
    assert form(delivery) == {
        "name": "client.create",
        "object_id": str(made["id"]),
        "account_id": fb.account_id,
        "business_id": str(business["business_id"]),
        "identity_id": "12345",
        "user_id": "1",
    }
    assert delivery.headers["x-freshbooks-hmac-sha256"] == freshbooks_signature(
        callback["verifier"], delivery
    )
    assert delivery.headers["x-freshbooks-hmac-sha256"] != freshbooks_signature("another", delivery)


def test_an_object_callback_hears_all_its_events_and_the_users_changes(
    fb: FreshBooksClient, manual: FreshBooksControl, receiver: Receiver
) -> None:
    verified(fb, manual, receiver, "invoice")
    customer = fb.result("POST", "users/clients", json={"client": {"organization": "Acme"}})["client"]
    made = fb.result("POST", "invoices/invoices", json={"invoice": {"customerid": customer["id"]}})["invoice"]
    fb.result("PUT", f"invoices/invoices/{made['id']}", json={"invoice": {"action_mark_as_sent": True}})
    manual.user_update(fb.account_id, "invoices", made["id"], {"notes": "edited in FreshBooks"})
    manual.user_delete(fb.account_id, "invoices", made["id"])
    before = len(receiver.received)
    manual.call("POST", "/callbacks/deliver")
    names = [form(r)["name"] for r in receiver.received[before:]]
    assert names == ["invoice.create", "invoice.update", "invoice.update", "invoice.delete"]
    assert {form(r)["object_id"] for r in receiver.received[before:]} == {str(made["id"])}


def test_resend_posts_the_same_code_again(
    fb: FreshBooksClient, manual: FreshBooksControl, receiver: Receiver
) -> None:
    callback = register(fb, "payment", receiver.url)
    events_call(fb, "PUT", f"/{callback['callbackid']}", {"callback": {"resend": True}})
    manual.call("POST", "/callbacks/deliver")
    codes = [form(r)["verifier"] for r in receiver.received]
    assert len(codes) == 2 and codes[0] == codes[1]


def test_a_failed_delivery_waits_and_can_be_repeated_or_forged(
    fb: FreshBooksClient, manual: FreshBooksControl, receiver: Receiver
) -> None:
    callback = verified(fb, manual, receiver, "item.create")
    receiver.status = 503
    fb.result("POST", "items/items", json={"item": {"name": "Widget"}})
    first = manual.call("POST", "/callbacks/deliver")["deliveries"]
    assert [d["delivered"] for d in first] == [False]
    receiver.status = 200
    before = len(receiver.received)
    again = manual.call("POST", "/callbacks/deliver", {"times": 2})["deliveries"]
    assert [d["delivered"] for d in again] == [True]
    assert len(receiver.received) - before == 2  # delivered twice: the receiver must be idempotent
    fb.result("POST", "items/items", json={"item": {"name": "Gadget"}})
    forged = manual.call("POST", "/callbacks/deliver", {"wrong_signature": True})["deliveries"]
    assert forged[0]["attempts"][0]["signed_correctly"] is False
    last = receiver.received[-1]
    assert last.headers["x-freshbooks-hmac-sha256"] != freshbooks_signature(callback["verifier"], last)


def test_async_deliveries_arrive_without_being_asked(
    fb: FreshBooksClient, control: FreshBooksControl, receiver: Receiver
) -> None:
    callback = register(fb, "client", receiver.url)
    assert control.call("POST", "/callbacks/wait")["idle"] is True
    verifier = form(receiver.received[0])["verifier"]
    events_call(fb, "PUT", f"/{callback['callbackid']}", {"callback": {"verifier": verifier}})
    fb.result("POST", "users/clients", json={"client": {"organization": "Async"}})
    assert control.call("POST", "/callbacks/wait")["idle"] is True
    assert form(receiver.received[-1])["name"] == "client.create"


def test_callbacks_are_listed_read_and_deleted(
    fb: FreshBooksClient, manual: FreshBooksControl, receiver: Receiver
) -> None:
    callback = register(fb, "invoice.create", receiver.url)
    listed = events_call(fb, "GET").json()["response"]["result"]
    assert [c["callbackid"] for c in listed["callbacks"]] == [callback["callbackid"]]
    assert events_call(fb, "GET", f"/{callback['callbackid']}").status_code == 200
    assert events_call(fb, "DELETE", f"/{callback['callbackid']}").status_code == 204
    missing = events_call(fb, "GET", f"/{callback['callbackid']}")
    assert (missing.status_code, missing.json()["errno"]) == (404, 404)


def test_an_unknown_event_or_uri_is_refused_with_details(fb: FreshBooksClient) -> None:
    answer = events_call(fb, "POST", body={"callback": {"event": "invoice.explode", "uri": "not a url"}})
    assert answer.status_code == 422
    details = answer.json()["details"]
    assert details[0].startswith("event: Value error, Unrecognized event.")
    assert details[1].startswith("uri: Input should be a valid URL")


def test_the_events_api_refuses_a_bad_token_in_its_shape(fb: FreshBooksClient) -> None:
    path = f"/events/account/{fb.account_id}/events/callbacks"
    answer = fb.http.get(fb.http.base_url.copy_with(path=path), headers={"authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["message"].startswith("invalid_token")
