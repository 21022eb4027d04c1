"""The control API: clock jumps, concurrent deliveries, and bad input refused with nothing changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from square_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Receiver

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import (
    SquareClient,
    SquareControl,
    authorize_url,
    connect,
    redirect_params,
)


def test_advancing_the_clock_expires_tokens_after_30_days_and_codes_after_5_minutes(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    tokens = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])
    square = SquareClient(sandbox.url, tokens.access_token)
    control.advance(30 * 24 * 3600 - 60)
    assert square.get("/v2/locations").status_code == 200
    code = redirect_params(
        httpx.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI)).headers["location"]
    )["code"]
    control.advance(301)
    expired = square.get("/v2/locations")
    assert expired.status_code == 401 and expired.json()["errors"][0]["code"] == "ACCESS_TOKEN_EXPIRED"
    late = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
        },
    )
    assert late.status_code == 401 and "expired" in late.json()["errors"][0]["detail"]
    # The refresh token never expires: refreshing brings the seller back.
    fresh = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
        },
    ).json()
    assert SquareClient(sandbox.url, fresh["access_token"]).get("/v2/locations").status_code == 200
    assert control.http.post("/_sandbox/clock/advance", json={"seconds": -1}).status_code == 400


def test_a_scaled_clock_shortens_the_advertised_expiry(start_sandbox: Any) -> None:
    sandbox = start_sandbox(clock_scale=3600.0)
    with SquareControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        merchant = control.add_merchant()
        tokens = control.call(
            "POST", "/tokens/issue", {"client_id": CLIENT_ID, "merchant_id": merchant["id"]}
        )
    # 30 days at 3600x is 12 minutes of real time.
    expires = datetime.fromisoformat(tokens["expires_at"].replace("Z", "+00:00"))
    assert expires - datetime.now(UTC) < timedelta(minutes=13)


def test_copies_can_be_delivered_concurrently(
    control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    control.pay(merchant["id"], 1_000, deliver=False)
    made = control.payout(merchant["id"], deliver=False)
    event_id = made["events"][0]["event_id"]
    again = control.redeliver(event_id, times=5, concurrent=True)
    assert [d["status"] for d in again["deliveries"]] == [200] * 5
    bodies = subscribed.bodies()
    assert len(bodies) == 5 and len(set(bodies)) == 1
    assert json.loads(bodies[0])["event_id"] == event_id


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/payouts", {"instant": "yes"}, "instant must be true or false"),
        ("/payouts", {"arrival_date": "tomorrow"}, "YYYY-MM-DD"),
        ("/payouts", {"adjustment": 2.5}, "integer number of cents"),
        ("/payouts", {"deliver": "no"}, "deliver must be true or false"),
        ("/payouts", {"concurrent": 1}, "concurrent must be true or false"),
    ],
)
def test_bad_payout_requests_change_nothing(
    control: SquareControl, merchant: dict[str, Any], path: str, body: dict[str, Any], message: str
) -> None:
    control.pay(merchant["id"], 1_000)
    answer = control.http.post(f"/_sandbox{path}", json={"merchant_id": merchant["id"], **body})
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert [e["type"] for e in control.events()] == ["payment.created"]


def test_fee_settings_are_checked_and_applied(control: SquareControl, merchant: dict[str, Any]) -> None:
    for fees in ({"card_rate_bps": "290"}, {"card_rate_bps": -1}, {"refund_returns_fee": 1}, {"flat": 1}):
        assert control.http.post("/_sandbox/config", json={"fees": fees}).status_code == 400
    control.set_config(fees={"card_rate_bps": 290, "card_fixed_cents": 30})
    payment = control.pay(merchant["id"], 10_000)["payment"]
    assert payment["processing_fee"][0]["amount_money"]["amount"] == 290 + 30
    assert control.http.post("/_sandbox/config", json={"clock_scale": 2}).status_code == 400


@pytest.mark.parametrize("value", [[], {}, 1, None])
def test_a_text_setting_that_is_not_text_is_refused(control: SquareControl, value: object) -> None:
    """{"consent": []} answered 500 (a list is unhashable in the set of choices): now a 400 naming it."""
    answer = control.http.post("/_sandbox/config", json={"consent": value})
    assert answer.status_code == 400 and answer.json()["error"] == "consent must be a string"


@pytest.mark.parametrize("code", ["XYZ", "jpy", 392])
def test_the_sellers_currency_must_be_an_iso_4217_code(control: SquareControl, code: object) -> None:
    """Three capitals are not enough: booksync.currency.is_currency is the one check (XYZ is none)."""
    answer = control.http.post("/_sandbox/config", json={"currency": code})
    assert answer.status_code == 400 and "ISO 4217" in answer.json()["error"]
    assert control.http.post("/_sandbox/config", json={"currency": "JPY"}).status_code == 200


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_FIELDS = st.sampled_from(
    [
        "merchant_id",
        "amount",
        "tip",
        "location_id",
        "reference_id",
        "status",
        "times",
        "deliver",
        "send",
        "instant",
        "adjustment",
        "arrival_date",
        "reason",
        "notification_url",
        "event_types",
        "seconds",
        "page_size",
        "fees",
        "consent",
        "client_id",
        "client_secret",
        "redirect_uris",
        "locations",
        "name",
    ]
)
_PATHS = [
    "/payments",
    "/payments/{payment}/refunds",
    "/payments/{payment}/complete",
    "/refunds/nope/complete",
    "/payouts",
    "/payouts/nope/paid",
    "/webhooks/subscriptions",
    "/events/nope/deliver",
    "/config",
    "/clock/advance",
    "/merchants",
    "/clients",
    "/consent",
    "/tokens/issue",
    "/tokens/expire",
    "/faults",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_PATHS), body=st.dictionaries(_FIELDS, _JSON, max_size=5) | _JSON)
def test_control_api_never_answers_5xx(
    control: SquareControl, merchant: dict[str, Any], path: str, body: Any
) -> None:
    payment = control.pay(merchant["id"], 100, deliver=False)["payment"]["id"]
    if isinstance(body, dict) and body.get("merchant_id") == "":
        body["merchant_id"] = merchant["id"]
    answer = control.http.post(f"/_sandbox{path.format(payment=payment)}", content=json.dumps(body))
    assert answer.status_code < 500, (path, body, answer.text)
    assert "error" in answer.json() or answer.status_code == 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        ["/v2/payments", "/v2/payouts", "/v2/payouts/{payout}/payout-entries", "/v2/locations"]
    ),
    params=st.dictionaries(
        st.sampled_from(["cursor", "limit", "location_id", "status", "sort_order", "begin_time"]),
        st.text(max_size=12),
        max_size=4,
    ),
)
def test_data_api_never_answers_5xx(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient, path: str, params: dict[str, str]
) -> None:
    payout = next(iter(control.call("GET", "/events?type=payout.sent")["events"]), None)
    if payout is None:
        control.pay(merchant["id"], 1_000)
        payout = control.payout(merchant["id"])["events"][0]
    answer = square.get(path.format(payout=payout["data"]["id"]), **params)
    assert answer.status_code in {200, 400, 404}, (path, params, answer.text)
    if answer.status_code != 200:
        assert answer.json()["errors"][0]["category"] == "INVALID_REQUEST_ERROR"


def test_reset_keeps_apps_config_and_subscriptions_unless_asked(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any], subscribed: Receiver
) -> None:
    control.set_config(page_size=5)
    control.pay(merchant["id"], 1_000)
    control.reset()
    assert control.call("GET", "/merchants")["merchants"] == []
    assert control.events() == [] and control.call("GET", "/webhooks/deliveries")["deliveries"] == []
    assert control.call("GET", "/config")["page_size"] == 5
    other = control.add_merchant("After reset")
    assert (
        connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, other["id"]).merchant_id == other["id"]
    )
    control.pay(other["id"], 500)
    assert len(subscribed.received) == 2  # the subscription survived the reset
    control.reset(subscriptions=True)
    assert control.call("GET", "/webhooks/subscriptions")["subscriptions"] == []
