"""Fault injection: the next N calls on a path fail with 500, 429 (Retry-After), 503 or a timeout."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from square_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import SquareClient, SquareControl, authorize_url, redirect_params


@pytest.fixture
def payout_id(control: SquareControl, merchant: dict[str, Any]) -> str:
    control.pay(merchant["id"], 1_000)
    payout: str = control.payout(merchant["id"])["payout"]["id"]
    return payout


def test_the_next_two_calls_fail_with_500_then_it_recovers(
    control: SquareControl, square: SquareClient, payout_id: str
) -> None:
    control.add_fault(action="http_500", path="/payout-entries$", times=2)
    path = f"/v2/payouts/{payout_id}/payout-entries"
    assert square.get(f"/v2/payouts/{payout_id}").status_code == 200  # another path is untouched
    for _ in range(2):
        answer = square.get(path)
        assert answer.status_code == 500
        assert answer.json()["errors"][0] == {
            "category": "API_ERROR",
            "code": "INTERNAL_SERVER_ERROR",
            "detail": "An internal error has occurred.",
        }
    assert square.get(path).status_code == 200
    assert control.call("GET", "/faults")["rules"] == []
    log = control.call("GET", "/requests")["requests"]
    assert [entry["injected"] for entry in log if entry["path"] == path] == ["http_500", "http_500", None]


def test_429_carries_retry_after(control: SquareControl, square: SquareClient, payout_id: str) -> None:
    control.add_fault(action="http_429", path="^/v2/payouts", times=1, retry_after=7)
    answer = square.get(f"/v2/payouts/{payout_id}")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["errors"][0]["category"] == "RATE_LIMIT_ERROR"
    assert answer.json()["errors"][0]["code"] == "RATE_LIMITED"
    control.set_config(send_retry_after=False)
    control.add_fault(action="http_429", path="^/v2/payouts", times=1)
    assert "Retry-After" not in square.get(f"/v2/payouts/{payout_id}").headers


def test_503_and_token_endpoint_faults(
    sandbox: SquareSandbox, control: SquareControl, square: SquareClient
) -> None:
    control.add_fault(action="http_503", entity="location", times=1)
    answer = square.get("/v2/locations")
    assert answer.status_code == 503 and answer.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    control.add_fault(action="http_500", operation="token", times=1)
    token = httpx.post(f"{sandbox.url}/oauth2/token", json={"client_id": "x", "grant_type": "refresh_token"})
    assert token.status_code == 500


def test_a_timeout_holds_the_answer_until_the_client_gives_up(
    control: SquareControl, square: SquareClient, payout_id: str
) -> None:
    control.add_fault(action="timeout", path="/payout-entries$", times=1, seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        square.http.get(f"/v2/payouts/{payout_id}/payout-entries", timeout=0.3)
    assert square.get(f"/v2/payouts/{payout_id}/payout-entries").status_code == 200


def test_a_bad_rule_is_refused(control: SquareControl) -> None:
    answer = control.http.post("/_sandbox/faults", json={"action": "explode"})
    assert answer.status_code == 400 and "action must be one of" in answer.json()["error"]


def test_a_lost_token_answer_spends_the_code_but_not_the_refresh_token(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    code = redirect_params(
        httpx.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, merchant_id=merchant["id"])).headers[
            "location"
        ]
    )["code"]
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    control.add_fault(action="commit_then_500", operation="token", times=1)
    lost = httpx.post(
        f"{sandbox.url}/oauth2/token", json={**form, "grant_type": "authorization_code", "code": code}
    )
    assert lost.status_code == 500
    retry = httpx.post(
        f"{sandbox.url}/oauth2/token", json={**form, "grant_type": "authorization_code", "code": code}
    )
    assert retry.status_code == 401 and "already redeemed" in retry.json()["errors"][0]["detail"]
    tokens = control.call("POST", "/tokens/issue", {"client_id": CLIENT_ID, "merchant_id": merchant["id"]})
    refresh = {**form, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    control.add_fault(action="commit_then_reset", operation="token", times=1)
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{sandbox.url}/oauth2/token", json=refresh)
    again = httpx.post(f"{sandbox.url}/oauth2/token", json=refresh)
    assert again.status_code == 200 and again.json()["refresh_token"] == tokens["refresh_token"]


def test_concurrent_readers_all_get_whole_pages(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    for amount in range(1_000, 1_012):
        control.pay(merchant["id"], amount)
    payout_id = control.payout(merchant["id"])["payout"]["id"]
    control.set_config(page_size=5)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: len(square.all_payout_entries(payout_id)), range(16)))
    assert results == [12] * 16


def test_a_rule_can_fail_only_the_pages_after_the_first(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    for amount in range(1_000, 1_005):
        control.pay(merchant["id"], amount)
    payout_id = control.payout(merchant["id"])["payout"]["id"]
    control.set_config(page_size=2)
    control.add_fault(action="http_500", path=r"payout-entries\?.*cursor=", times=1)
    path = f"/v2/payouts/{payout_id}/payout-entries"
    first = square.get(path)
    assert first.status_code == 200
    assert square.get(path, cursor=first.json()["cursor"]).status_code == 500
    assert len(square.all_payout_entries(payout_id)) == 5


def test_a_payout_can_be_made_to_disagree_with_its_entries(
    control: SquareControl, merchant: dict[str, Any]
) -> None:
    control.pay(merchant["id"], 1_000)
    made = control.payout(merchant["id"], amount_offset=-7)
    nets = sum(entry["net_amount_money"]["amount"] for entry in made["payout_entries"])
    assert made["payout"]["amount_money"]["amount"] == nets - 7
