"""The sandbox signs as Square signs: Square's published test vectors, and the official SDK's
verifier (``squareup``: square.utils.webhooks_helper.verify_signature) as the oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from square_helpers import SIGNATURE_KEY, Receiver

from local.sandboxes.square.testing import SquareControl
from local.sandboxes.square.webhooks import SIGNATURE_HEADER, sign

# Square's published vectors (square-python-sdk tests/integration/test_webhooks_helper.py).
VECTOR_BODY = (
    '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    '"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z",'
    '"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
VECTOR_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
VECTOR_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
VECTOR_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"


def test_square_published_vectors() -> None:
    assert sign(VECTOR_URL, VECTOR_BODY.encode(), VECTOR_KEY) == VECTOR_SIGNATURE
    escaped = '{"data":{"type":"webhooks","id":">id<"}}'
    assert sign("https://webhook.site/webhooks", escaped.encode(), "signature-key") == (
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="
    )
    assert sign(VECTOR_URL[:-1], VECTOR_BODY.encode(), VECTOR_KEY) != VECTOR_SIGNATURE


@pytest.fixture(scope="module")
def verify() -> Any:
    # The squareup SDK is a dev dependency: missing, this fails (pip install -e '.[dev]').
    from square.utils import webhooks_helper

    return webhooks_helper.verify_signature


def test_the_sdk_verifier_agrees_with_the_published_vector(verify: Any) -> None:
    assert verify(
        request_body=VECTOR_BODY,
        signature_header=VECTOR_SIGNATURE,
        signature_key=VECTOR_KEY,
        notification_url=VECTOR_URL,
    )


def test_every_delivered_event_verifies_with_the_sdk(
    verify: Any, control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    payment = control.pay(merchant["id"], 1_234, tip=100, note="caf\u00e9 \u2615 <b>&")["payment"]
    refund = control.refund(payment["id"], amount=34, status="PENDING")["refund"]
    control.call("POST", f"/refunds/{refund['id']}/complete")
    payout = control.payout(merchant["id"])["payout"]
    control.call("POST", f"/payouts/{payout['id']}/failed")
    received = subscribed.received
    kinds = {json.loads(r.body)["type"] for r in received}
    assert kinds == {
        "payment.created",
        "payment.updated",
        "refund.created",
        "refund.updated",
        "payout.sent",
        "payout.failed",
    }
    for request in received:
        body, header = request.body.decode("utf-8"), request.headers[SIGNATURE_HEADER]
        args = {
            "signature_header": header,
            "signature_key": SIGNATURE_KEY,
            "notification_url": subscribed.url,
        }
        assert verify(request_body=body, **args)
        assert not verify(request_body=body.replace('"merchant_id":"', '"merchant_id":"X', 1), **args)
        assert not verify(request_body=body + " ", **args)
        other_url = {**args, "notification_url": subscribed.url + "/"}
        assert not verify(request_body=body, **other_url)
        other_key = {**args, "signature_key": SIGNATURE_KEY + "x"}
        assert not verify(request_body=body, **other_key)


def test_unsent_requests_verify_with_the_sdk(
    verify: Any, control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    [request] = control.pay(merchant["id"], 500, deliver=False)["requests"]
    assert verify(
        request_body=request["body"],
        signature_header=request["headers"][SIGNATURE_HEADER],
        signature_key=SIGNATURE_KEY,
        notification_url=request["url"],
    )
