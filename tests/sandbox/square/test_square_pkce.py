"""Square's PKCE flow as the sandbox plays it (api.json ObtainToken): the challenge at authorize,
the verifier instead of the secret at ObtainToken, and single-use refresh tokens that last 90 days."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from square_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import (
    RFC7636_CHALLENGE,
    RFC7636_VERIFIER,
    SquareClient,
    SquareControl,
    authorize_url,
    connect,
    redirect_params,
)

PKCE = (RFC7636_VERIFIER, RFC7636_CHALLENGE)


def _pkce_code(sandbox: SquareSandbox, merchant_id: str, challenge: str = RFC7636_CHALLENGE) -> str:
    url = authorize_url(
        sandbox.url, CLIENT_ID, REDIRECT_URI, merchant_id=merchant_id, code_challenge=challenge
    )
    answer = httpx.get(url)
    assert answer.status_code == 302, answer.text
    return redirect_params(answer.headers["location"])["code"]


def _token(sandbox: SquareSandbox, **body: Any) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/oauth2/token", json={"client_id": CLIENT_ID, **body})


def _error(answer: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = answer.json()["errors"]
    assert len(errors) == 1
    return errors[0]


def _days_ahead(stamp: str) -> float:
    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds() / 86_400


def test_a_pkce_code_is_redeemed_with_its_verifier_and_no_secret(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    code = _pkce_code(sandbox, merchant["id"])
    answer = _token(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=RFC7636_VERIFIER,
    )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["merchant_id"] == merchant["id"]
    assert 89 < _days_ahead(tokens["refresh_token_expires_at"]) <= 90  # PKCE: 90-day refresh tokens
    assert SquareClient(sandbox.url, tokens["access_token"]).get("/v2/locations").status_code == 200


def test_a_pkce_code_needs_the_verifier_that_hashes_to_its_challenge(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    code = _pkce_code(sandbox, merchant["id"])
    form = {"grant_type": "authorization_code", "code": code}
    missing = _token(sandbox, **form)
    assert missing.status_code == 400
    assert (
        _error(missing)["code"] == "MISSING_REQUIRED_PARAMETER"
        and _error(missing)["field"] == "code_verifier"
    )
    with_the_secret_only = _token(sandbox, **form, client_secret=CLIENT_SECRET)
    assert with_the_secret_only.status_code == 400  # a PKCE code is redeemed with its verifier
    wrong = _token(sandbox, **form, code_verifier=RFC7636_VERIFIER[::-1])
    assert wrong.status_code == 400
    assert _error(wrong) == {
        "category": "INVALID_REQUEST_ERROR",
        "code": "INVALID_VALUE",
        "detail": "The code_verifier does not match the code_challenge of the authorize request.",
        "field": "code_verifier",
    }
    malformed = _token(sandbox, **form, code_verifier="short")
    assert malformed.status_code == 400 and _error(malformed)["field"] == "code_verifier"
    assert _token(sandbox, **form, code_verifier=RFC7636_VERIFIER).status_code == 200  # still unused


def test_a_code_flow_code_still_needs_the_secret(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    answer = httpx.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, merchant_id=merchant["id"]))
    code = redirect_params(answer.headers["location"])["code"]
    with_a_verifier = _token(
        sandbox, grant_type="authorization_code", code=code, code_verifier=RFC7636_VERIFIER
    )
    assert with_a_verifier.status_code == 401
    assert _error(with_a_verifier)["detail"] == "Invalid client_id or client_secret."
    tokens = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, merchant["id"])
    assert tokens.refresh_token_expires_at is None  # "only returned for the PKCE flow"
    no_secret = _token(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert no_secret.status_code == 401


def test_a_malformed_challenge_gets_an_error_page(sandbox: SquareSandbox, control: SquareControl) -> None:
    url = authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, code_challenge=RFC7636_CHALLENGE + "=")
    answer = httpx.get(url)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "code_challenge" in answer.text


def test_pkce_refresh_tokens_are_single_use(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    first = connect(sandbox.url, CLIENT_ID, None, REDIRECT_URI, merchant["id"], pkce=PKCE)
    answer = _token(sandbox, grant_type="refresh_token", refresh_token=first.refresh_token)
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["refresh_token"] != first.refresh_token
    assert 89 < _days_ahead(second["refresh_token_expires_at"]) <= 90
    reused = _token(sandbox, grant_type="refresh_token", refresh_token=first.refresh_token)
    assert reused.status_code == 401
    assert _error(reused) == {
        "category": "AUTHENTICATION_ERROR",
        "code": "UNAUTHORIZED",
        "detail": "Invalid refresh token.",
    }
    third = _token(sandbox, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200 and third.json()["refresh_token"] != second["refresh_token"]
    # Earlier access tokens stay valid until they expire, as in the code flow.
    assert SquareClient(sandbox.url, first.access_token).get("/v2/locations").status_code == 200


def test_a_pkce_refresh_token_expires_after_90_days(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    tokens = connect(sandbox.url, CLIENT_ID, None, REDIRECT_URI, merchant["id"], pkce=PKCE)
    control.advance(89 * 86_400)
    kept = _token(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert kept.status_code == 200  # used in time: its successor lives 90 days from now
    control.advance(90 * 86_400)
    lapsed = _token(sandbox, grant_type="refresh_token", refresh_token=kept.json()["refresh_token"])
    assert lapsed.status_code == 401 and _error(lapsed)["detail"] == "Refresh token is expired."


def test_a_lost_pkce_refresh_answer_spends_the_grant(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    tokens = connect(sandbox.url, CLIENT_ID, None, REDIRECT_URI, merchant["id"], pkce=PKCE)
    control.add_fault(action="commit_then_500", operation="token", times=1)
    lost = _token(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert lost.status_code == 500
    retry = _token(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert retry.status_code == 401  # the answer carrying its successor never arrived


def test_revoking_ends_a_pkce_grant(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any]
) -> None:
    tokens = connect(sandbox.url, CLIENT_ID, None, REDIRECT_URI, merchant["id"], pkce=PKCE)
    refreshed = _token(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token).json()
    revoked = httpx.post(
        f"{sandbox.url}/oauth2/revoke",
        json={"client_id": CLIENT_ID, "access_token": refreshed["access_token"]},
        headers={"Authorization": f"Client {CLIENT_SECRET}"},
    )
    assert revoked.status_code == 200
    after = _token(sandbox, grant_type="refresh_token", refresh_token=refreshed["refresh_token"])
    assert after.status_code == 401
