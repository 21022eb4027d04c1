"""Every answer and every webhook event of the Square sandbox validates against api.json.

One scenario exercises each endpoint and each event type (tips, partial and full refunds, pending
and rejected refunds, approved-then-completed payments, instant and standard payouts with an
adjustment, paid and failed payouts, every error status); each answer is checked against the
schema the document names for its path, each event against the schema of its ``x-webhook``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from square_spec import SquareSpec

from local.sandboxes.square.ledger import (
    ENTRY_TYPES,
    EVENT_TYPES,
    PAYMENT_STATUSES,
    PAYOUT_STATUSES,
    REFUND_STATUSES,
)
from local.sandboxes.square.server import SquareConfig, SquareSandbox
from local.sandboxes.square.testing import (
    RFC7636_CHALLENGE,
    RFC7636_VERIFIER,
    SquareClient,
    SquareControl,
    authorize_url,
    connect,
    redirect_params,
)

pytestmark = pytest.mark.contract

CLIENT_ID, SECRET, REDIRECT = "sandbox-sq0idb-contract", "sandbox-sq0csb-contract", "https://app.test/cb"


@dataclass
class Answer:
    path: str  # the document's path template
    method: str
    status: int
    body: Any


@dataclass
class Scenario:
    answers: list[Answer] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


def _record(scenario: Scenario, template: str, answer: httpx.Response, method: str = "get") -> Any:
    scenario.answers.append(Answer(template, method, answer.status_code, answer.json()))
    return answer.json()


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    with SquareSandbox(config=SquareConfig(page_size=2)) as sandbox, SquareControl(sandbox.url) as control:
        found = Scenario()
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        merchant = control.add_merchant("Contract Cafe", ["Main", "Kiosk"])
        control.subscribe("http://127.0.0.1:9/unreachable", "contract-key")
        _oauth(found, sandbox, merchant["id"])
        _pkce(found, sandbox, merchant["id"])
        tokens = control.call(
            "POST", "/tokens/issue", {"client_id": CLIENT_ID, "merchant_id": merchant["id"]}
        )
        square = SquareClient(sandbox.url, tokens["access_token"])
        _activity(control, merchant, deliver=False)
        _read_everything(found, square, merchant)
        _errors(found, sandbox, control, square)
        found.events = control.call("GET", "/events")["events"]
        event_id = found.events[0]["event_id"]
        found.requests = control.call("POST", f"/events/{event_id}/deliver", {"send": False})["requests"]
        square.close()
        yield found


def _oauth(found: Scenario, sandbox: SquareSandbox, merchant_id: str) -> None:
    tokens = connect(sandbox.url, CLIENT_ID, SECRET, REDIRECT, merchant_id)
    refreshed = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
        },
    )
    _record(found, "/oauth2/token", refreshed, "post")
    reused = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    _record(found, "/oauth2/token", reused, "post")
    revoked = httpx.post(
        f"{sandbox.url}/oauth2/revoke",
        json={"client_id": CLIENT_ID, "access_token": tokens.access_token},
        headers={"Authorization": f"Client {SECRET}"},
    )
    _record(found, "/oauth2/revoke", revoked, "post")


def _pkce(found: Scenario, sandbox: SquareSandbox, merchant_id: str) -> None:
    """The PKCE flow's answers: a refused and an accepted verifier, a refresh that rotates the
    single-use refresh token (with refresh_token_expires_at), and the spent token refused."""
    consent = httpx.get(
        authorize_url(
            sandbox.url, CLIENT_ID, REDIRECT, merchant_id=merchant_id, code_challenge=RFC7636_CHALLENGE
        )
    )
    code = redirect_params(consent.headers["location"])["code"]
    exchange = {"client_id": CLIENT_ID, "grant_type": "authorization_code", "code": code}
    token_url = f"{sandbox.url}/oauth2/token"
    _record(
        found, "/oauth2/token", httpx.post(token_url, json={**exchange, "code_verifier": "x" * 43}), "post"
    )
    tokens = _record(
        found,
        "/oauth2/token",
        httpx.post(token_url, json={**exchange, "code_verifier": RFC7636_VERIFIER}),
        "post",
    )
    refresh = {
        "client_id": CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
    }
    rotated = _record(found, "/oauth2/token", httpx.post(token_url, json=refresh), "post")
    assert rotated["refresh_token"] != tokens["refresh_token"] and rotated["refresh_token_expires_at"]
    _record(found, "/oauth2/token", httpx.post(token_url, json=refresh), "post")


def _activity(control: SquareControl, merchant: dict[str, Any], deliver: bool) -> None:
    mid, kiosk = merchant["id"], merchant["locations"][1]["id"]
    tipped = control.pay(
        mid, 10_000, tip=1_500, reference_id="INV-1001", note="Invoice 1001", deliver=deliver
    )
    plain = control.pay(mid, 2_599, customer_id="CUST1", deliver=deliver)
    approved = control.pay(mid, 700, status="APPROVED", deliver=deliver)
    control.call("POST", f"/payments/{approved['payment']['id']}/complete", {"deliver": deliver})
    control.refund(tipped["payment"]["id"], amount=2_500, reason="Partial return", deliver=deliver)
    control.refund(plain["payment"]["id"], deliver=deliver)
    pending = control.refund(approved["payment"]["id"], amount=100, status="PENDING", deliver=deliver)
    control.call(
        "POST", f"/refunds/{pending['refund']['id']}/complete", {"status": "REJECTED", "deliver": deliver}
    )
    instant = control.payout(mid, instant=True, adjustment=-300, deliver=deliver)
    control.call("POST", f"/payouts/{instant['payout']['id']}/paid", {"deliver": deliver})
    for amount in (1_000, 2_000, 3_000):
        control.pay(mid, amount, location_id=kiosk, deliver=deliver)
    kiosk_payout = control.payout(mid, location_id=kiosk, deliver=deliver)
    control.call("POST", f"/payouts/{kiosk_payout['payout']['id']}/failed", {"deliver": deliver})
    # A refund after the kiosk's money went out: the next kiosk payout is a withdrawal (negative).
    kiosk_payment = kiosk_payout["payout_entries"][0]["type_charge_details"]["payment_id"]
    control.refund(kiosk_payment, deliver=deliver)
    control.payout(mid, location_id=kiosk, deliver=deliver)
    control.pay(mid, 5_000, deliver=deliver)
    control.payout(mid, deliver=deliver)


def _read_everything(found: Scenario, square: SquareClient, merchant: dict[str, Any]) -> None:
    _record(found, "/v2/locations", square.get("/v2/locations"))
    _record(found, "/v2/locations/{location_id}", square.get("/v2/locations/main"))
    for location in merchant["locations"]:
        _record(found, "/v2/locations/{location_id}", square.get(f"/v2/locations/{location['id']}"))
        _follow(found, square, "/v2/payments", "/v2/payments", location_id=location["id"])
        payouts = _follow(found, square, "/v2/payouts", "/v2/payouts", location_id=location["id"])
        for payout in payouts:
            _record(found, "/v2/payouts/{payout_id}", square.get(f"/v2/payouts/{payout['id']}"))
            path = f"/v2/payouts/{payout['id']}/payout-entries"
            _follow(found, square, "/v2/payouts/{payout_id}/payout-entries", path)
    for answer in [a for a in found.answers if a.path == "/v2/payments"]:
        for payment in answer.body.get("payments", []):
            _record(found, "/v2/payments/{payment_id}", square.get(f"/v2/payments/{payment['id']}"))
            for refund_id in payment.get("refund_ids", []):
                _record(found, "/v2/refunds/{refund_id}", square.get(f"/v2/refunds/{refund_id}"))


def _follow(
    found: Scenario, square: SquareClient, template: str, path: str, **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = _record(found, template, square.get(path, cursor=cursor, **params))
        items.extend(next((value for key, value in body.items() if key != "cursor"), []))
        cursor = body.get("cursor")
        if not cursor:
            return items


def _errors(found: Scenario, sandbox: SquareSandbox, control: SquareControl, square: SquareClient) -> None:
    _record(found, "/v2/payments/{payment_id}", square.get("/v2/payments/nope"))  # 404
    _record(found, "/v2/payouts", square.get("/v2/payouts", limit="0"))  # 400
    _record(found, "/v2/payouts", square.get("/v2/payouts", cursor="bad!"))  # 400
    _record(found, "/v2/locations", httpx.get(f"{sandbox.url}/v2/locations"))  # 401
    # A token without PAYOUTS_READ: 403.
    narrow_url = authorize_url(sandbox.url, CLIENT_ID, REDIRECT, scope="PAYMENTS_READ")
    code = redirect_params(httpx.get(narrow_url).headers["location"])["code"]
    token = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "grant_type": "authorization_code",
            "code": code,
        },
    ).json()["access_token"]
    _record(found, "/v2/payouts", SquareClient(sandbox.url, token).get("/v2/payouts"))
    for action in ("http_429", "http_500", "http_503"):
        control.add_fault(action=action, path="^/v2/payouts$", times=1)
        _record(found, "/v2/payouts", square.get("/v2/payouts"))


def test_every_endpoint_and_every_status_was_exercised(scenario: Scenario) -> None:
    templates = {answer.path for answer in scenario.answers}
    assert templates == {
        "/oauth2/token",
        "/oauth2/revoke",
        "/v2/locations",
        "/v2/locations/{location_id}",
        "/v2/payments",
        "/v2/payments/{payment_id}",
        "/v2/refunds/{refund_id}",
        "/v2/payouts",
        "/v2/payouts/{payout_id}",
        "/v2/payouts/{payout_id}/payout-entries",
    }
    assert {answer.status for answer in scenario.answers} == {200, 400, 401, 403, 404, 429, 500, 503}
    assert {event["type"] for event in scenario.events} == set(EVENT_TYPES)


def test_every_answer_validates_against_its_documented_schema(spec: SquareSpec, scenario: Scenario) -> None:
    problems = [
        f"{answer.method.upper()} {answer.path} ({answer.status}): {problem}"
        for answer in scenario.answers
        for problem in spec.problems(spec.response_schema(answer.path, answer.method), answer.body)
    ]
    assert not problems, "\n".join(problems[:30])


def test_every_error_is_a_square_error(spec: SquareSpec, scenario: Scenario) -> None:
    failures = [answer for answer in scenario.answers if answer.status >= 400]
    assert failures
    for answer in failures:
        assert answer.body["errors"], answer
        for error in answer.body["errors"]:
            spec.assert_valid("Error", error)


def test_every_event_validates_against_its_webhook_schema(spec: SquareSpec, scenario: Scenario) -> None:
    problems = [
        problem
        for event in scenario.events
        for problem in spec.problems(spec.event_schema(event["type"]), event)
    ]
    assert not problems, "\n".join(problems[:30])


def test_objects_inside_events_validate_as_the_api_objects(spec: SquareSpec, scenario: Scenario) -> None:
    names = {"payment": "Payment", "refund": "PaymentRefund", "payout": "Payout"}
    for event in scenario.events:
        kind = event["data"]["type"]
        spec.assert_valid(names[kind], event["data"]["object"][kind])
        spec.assert_valid("EventData", event["data"])


def test_an_unsent_request_carries_a_valid_event(spec: SquareSpec, scenario: Scenario) -> None:
    [request] = scenario.requests
    event = json.loads(request["body"])
    spec.assert_valid(spec.event_schema(event["type"]), event)


def test_the_sandboxs_enums_are_values_of_the_spec(spec: SquareSpec) -> None:
    assert set(ENTRY_TYPES) <= spec.enum("ActivityType")
    assert set(PAYOUT_STATUSES) == spec.enum("PayoutStatus")
    assert set(PAYMENT_STATUSES) == spec.described_values("Payment", "status")
    assert set(REFUND_STATUSES) == spec.described_values("PaymentRefund", "status")
    assert {"TRANSFER_FEE"} <= spec.enum("PayoutFeeType")
    for event_type in EVENT_TYPES:
        spec.event_schema(event_type)  # raises when the document has no such webhook


def test_the_enum_values_the_sandbox_writes_are_in_the_spec(spec: SquareSpec, scenario: Scenario) -> None:
    entries = [e for a in scenario.answers if a.status == 200 for e in a.body.get("payout_entries", [])]
    payouts = [p for a in scenario.answers if a.status == 200 for p in a.body.get("payouts", [])]
    assert {e["type"] for e in entries} == {"CHARGE", "REFUND", "ADJUSTMENT"}
    assert {p["status"] for p in payouts} == set(PAYOUT_STATUSES)
    assert min(p["amount_money"]["amount"] for p in payouts) < 0  # a withdrawal is in the scenario
    assert {e["type"] for e in entries} <= spec.enum("ActivityType")
    assert {p["status"] for p in payouts} <= spec.enum("PayoutStatus")


def test_the_checker_refuses_what_square_would_not_send(spec: SquareSpec) -> None:
    entry = {
        "id": "poe_1",
        "payout_id": "po_1",
        "type": "CHARGE",
        "gross_amount_money": {"amount": 100, "currency": "USD"},
        "fee_amount_money": {"amount": 19, "currency": "USD"},
        "net_amount_money": {"amount": 81, "currency": "USD"},
        "type_charge_details": {"payment_id": "p1"},
    }
    assert spec.problems("PayoutEntry", entry) == []
    wrong = [
        {**entry, "gross_amount_money": {"amount": 1.5, "currency": "USD"}},
        {**entry, "net_amount_money": {"amount": 81, "currency_code": "USD"}},
        {**entry, "type": "PAYMENT"},
        {**entry, "type_adjustment_details": {}},
        {key: value for key, value in entry.items() if key != "payout_id"},
    ]
    for instance in wrong:
        assert spec.problems("PayoutEntry", instance), instance
    assert spec.problems("Error", {"category": "AUTH", "code": "UNAUTHORIZED"})
