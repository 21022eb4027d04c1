"""Bearer authentication on /v2/*: Square's 401 shapes, sellers kept apart, bad requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from square_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import (
    Connection,
    SquareClient,
    SquareControl,
    authorize_url,
    redirect_params,
)

AUTH_ERROR = {"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED"}


def _only_error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    return error


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer EAAAnot-a-token"},
    ],
)
def test_missing_or_unknown_token_is_401(sandbox: SquareSandbox, headers: dict[str, str]) -> None:
    answer = httpx.get(f"{sandbox.url}/v2/locations", headers=headers)
    assert answer.status_code == 401
    assert _only_error(answer).items() >= AUTH_ERROR.items()


def test_expired_token_is_401_access_token_expired(
    sandbox: SquareSandbox, control: SquareControl, connection: Connection, square: SquareClient
) -> None:
    assert square.get("/v2/locations").status_code == 200
    assert control.call("POST", "/tokens/expire", {"merchant_id": connection.merchant_id})["expired"] == 1
    answer = square.get("/v2/locations")
    assert answer.status_code == 401
    assert _only_error(answer)["code"] == "ACCESS_TOKEN_EXPIRED"


def test_a_seller_sees_only_its_own_records(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    stranger = control.add_merchant("Stranger")
    theirs = control.pay(stranger["id"], 1000)["payment"]["id"]
    payout = control.payout(stranger["id"])["payout"]["id"]
    for path in (f"/v2/payments/{theirs}", f"/v2/payouts/{payout}", f"/v2/payouts/{payout}/payout-entries"):
        answer = square.get(path)
        assert answer.status_code == 404, path
        assert _only_error(answer)["code"] == "NOT_FOUND"
    assert square.get("/v2/payouts", location_id=stranger["main_location_id"]).status_code == 404


def test_square_version_is_accepted_and_a_malformed_one_refused(
    sandbox: SquareSandbox, square: SquareClient
) -> None:
    assert square.http.get("/v2/locations", headers={"Square-Version": "2024-01-18"}).status_code == 200
    bad = square.http.get("/v2/locations", headers={"Square-Version": "latest"})
    assert bad.status_code == 400
    assert _only_error(bad)["code"] == "INVALID_SQUARE_VERSION_FORMAT"


def test_unknown_endpoint_is_a_square_404(sandbox: SquareSandbox, square: SquareClient) -> None:
    answer = square.get("/v2/nothing-here")
    assert answer.status_code == 404
    assert _only_error(answer)["category"] == "INVALID_REQUEST_ERROR"


def test_a_call_outside_the_granted_scopes_is_403(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    url = authorize_url(
        sandbox.url, CLIENT_ID, REDIRECT_URI, merchant_id=merchant["id"], scope="PAYMENTS_READ"
    )
    code = redirect_params(httpx.get(url).headers["location"])["code"]
    tokens = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
        },
    ).json()
    square = SquareClient(sandbox.url, tokens["access_token"])
    assert square.get("/v2/payments").status_code == 200
    for path in ("/v2/payouts", "/v2/locations"):
        answer = square.get(path)
        assert answer.status_code == 403
        error = _only_error(answer)
        assert (error["category"], error["code"]) == ("AUTHENTICATION_ERROR", "INSUFFICIENT_SCOPES")
