"""Square's OAuth code flow as the sandbox plays it: consent, ObtainToken, refresh, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from square_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import (
    SquareClient,
    SquareControl,
    authorize_url,
    connect,
    redirect_params,
)


def _code(sandbox: SquareSandbox, merchant_id: str, state: str = "s-1") -> str:
    answer = httpx.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, state, merchant_id=merchant_id))
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = redirect_params(location)
    assert params["state"] == state and params["response_type"] == "code"
    return params["code"]


def _token(sandbox: SquareSandbox, **body: Any) -> httpx.Response:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **body}
    return httpx.post(f"{sandbox.url}/oauth2/token", json=form)


def _revoke(sandbox: SquareSandbox, secret: str, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Client {secret}"}
    return httpx.post(f"{sandbox.url}/oauth2/revoke", json={"client_id": CLIENT_ID, **body}, headers=headers)


def _error(answer: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = answer.json()["errors"]
    assert len(errors) == 1
    return errors[0]


def test_code_flow_answers_square_token_shape(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    code = _code(sandbox, merchant["id"])
    answer = _token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["merchant_id"] == merchant["id"]
    assert "expires_in" not in tokens
    expires = datetime.fromisoformat(tokens["expires_at"].replace("Z", "+00:00"))
    assert 29 <= (expires - datetime.now(UTC)).days <= 30  # Square: access tokens live 30 days
    locations = SquareClient(sandbox.url, tokens["access_token"]).get("/v2/locations").json()["locations"]
    assert [loc["id"] for loc in locations] == [loc["id"] for loc in merchant["locations"]]


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    sandbox: SquareSandbox, control: SquareControl
) -> None:
    for uri in (REDIRECT_URI + "/", REDIRECT_URI.upper(), "https://evil.example/cb"):
        answer = httpx.get(authorize_url(sandbox.url, CLIENT_ID, uri))
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "redirect_uri" in answer.text


def test_unknown_client_and_missing_scope_are_refused(sandbox: SquareSandbox, control: SquareControl) -> None:
    assert httpx.get(authorize_url(sandbox.url, "sandbox-sq0idb-nobody", REDIRECT_URI)).status_code == 400
    unknown_seller = httpx.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, merchant_id="MLNOBODY"))
    assert unknown_seller.status_code == 400 and "MLNOBODY" in unknown_seller.text
    no_scope = authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI).replace("scope=", "nothing=")
    assert httpx.get(no_scope).status_code == 400


def test_denied_consent_redirects_with_access_denied(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    control.set_config(consent="deny")
    answer = httpx.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, "s-9"))
    params = redirect_params(answer.headers["location"])
    assert params == {"error": "access_denied", "error_description": "user_denied", "state": "s-9"}


def test_a_code_is_redeemed_once(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    code = _code(sandbox, merchant["id"])
    assert _token(sandbox, grant_type="authorization_code", code=code).status_code == 200
    again = _token(sandbox, grant_type="authorization_code", code=code)
    assert again.status_code == 401
    assert _error(again) == {
        "category": "AUTHENTICATION_ERROR",
        "code": "UNAUTHORIZED",
        "detail": "Authorization code is already redeemed.",
    }


def test_bad_secret_wrong_redirect_and_bad_grant_change_nothing(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    code = _code(sandbox, merchant["id"])
    bad_secret = httpx.post(
        f"{sandbox.url}/oauth2/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": "nope",
            "grant_type": "authorization_code",
            "code": code,
        },
    )
    assert bad_secret.status_code == 401
    wrong_redirect = _token(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI + "x"
    )
    assert wrong_redirect.status_code == 400 and _error(wrong_redirect)["field"] == "redirect_uri"
    unsupported = _token(sandbox, grant_type="password", code=code)
    assert unsupported.status_code == 400 and _error(unsupported)["code"] == "INVALID_VALUE"
    assert _token(sandbox, grant_type="authorization_code", code=code).status_code == 200  # still unused


def test_refresh_is_multi_use_and_keeps_the_refresh_token(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    first = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])
    seen = {first.access_token}
    for _ in range(3):
        answer = _token(sandbox, grant_type="refresh_token", refresh_token=first.refresh_token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["refresh_token"] == first.refresh_token
        seen.add(answer.json()["access_token"])
    assert len(seen) == 4
    # Earlier access tokens stay valid until they expire (Square does not rotate them away).
    assert SquareClient(sandbox.url, first.access_token).get("/v2/locations").status_code == 200


def test_revoke_needs_the_client_secret_header(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    tokens = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])
    assert _revoke(sandbox, "wrong", access_token=tokens.access_token).status_code == 401
    basic = httpx.post(
        f"{sandbox.url}/oauth2/revoke",
        json={"client_id": CLIENT_ID, "access_token": tokens.access_token},
        headers={"Authorization": f"Bearer {CLIENT_SECRET}"},
    )
    assert basic.status_code == 401
    assert SquareClient(sandbox.url, tokens.access_token).get("/v2/locations").status_code == 200


@pytest.mark.parametrize("by", ["access_token", "merchant_id"])
def test_revoke_kills_every_token_of_the_seller(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any], by: str
) -> None:
    one = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])
    two = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])
    other = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, control.add_merchant("Other")["id"])
    target = {"access_token": one.access_token} if by == "access_token" else {"merchant_id": merchant["id"]}
    answer = _revoke(sandbox, CLIENT_SECRET, **target)
    assert answer.status_code == 200 and answer.json() == {"success": True}
    for tokens in (one, two):
        refused = SquareClient(sandbox.url, tokens.access_token).get("/v2/locations")
        assert refused.status_code == 401
        assert _error(refused)["code"] == "ACCESS_TOKEN_REVOKED"
        refresh = _token(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
        assert refresh.status_code == 401
    assert SquareClient(sandbox.url, other.access_token).get("/v2/locations").status_code == 200


def test_revoke_needs_exactly_one_target(sandbox: SquareSandbox, control: SquareControl) -> None:
    answer = _revoke(sandbox, CLIENT_SECRET)
    assert answer.status_code == 400 and _error(answer)["category"] == "INVALID_REQUEST_ERROR"
