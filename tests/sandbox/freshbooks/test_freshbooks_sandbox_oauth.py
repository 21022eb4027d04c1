"""FreshBooks' OAuth as the sandbox plays it: the code flow with the state in ``state`` and no
query string in redirect URIs, 5-minute single-use codes, 12-hour access tokens whose answer
carries ``created_at``, single-use refresh tokens (a spent one is ``invalid_grant``), revocation,
and /users/me with the user's business memberships."""

from __future__ import annotations

import time

import pytest
from freshbooks_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.freshbooks.testing import FreshBooksClient, FreshBooksControl, Tokens, authorize_url
from local.sandboxes.kit.client import ControlError

INVALID_GRANT_WORDS = "The provided authorization grant is invalid"


def refresh(control: FreshBooksControl, refresh_token: str) -> dict[str, object]:
    answer = control.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT_URI,
        }
    )
    return {"status": answer.status_code, **answer.json()}


def redeem(control: FreshBooksControl, code: str, redirect_uri: str = REDIRECT_URI) -> dict[str, object]:
    answer = control.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": redirect_uri,
        }
    )
    return {"status": answer.status_code, **answer.json()}


def test_the_code_flow_answers_tokens_with_created_at_and_twelve_hours(control: FreshBooksControl) -> None:
    params = control.consent(CLIENT_ID, REDIRECT_URI, state="opaque-42")
    assert params["state"] == "opaque-42"
    before = int(time.time())
    answer = redeem(control, params["code"])
    assert answer["status"] == 200
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 12 * 3600
    assert isinstance(answer["created_at"], int) and before <= answer["created_at"] <= time.time() + 1
    assert answer["access_token"] and answer["refresh_token"]


def test_the_token_endpoint_also_reads_json(control: FreshBooksControl) -> None:
    code = control.consent(CLIENT_ID, REDIRECT_URI)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
    }
    answer = control.http.post("/auth/oauth/token", json=form)
    assert answer.status_code == 200
    assert "created_at" in answer.json()


def test_a_refresh_token_can_be_used_once(control: FreshBooksControl, tokens: Tokens) -> None:
    first = refresh(control, tokens.refresh_token)
    assert first["status"] == 200
    assert first["refresh_token"] != tokens.refresh_token
    again = refresh(control, tokens.refresh_token)
    assert again["status"] == 400
    assert again["error"] == "invalid_grant"
    assert str(again["error_description"]).startswith(INVALID_GRANT_WORDS)
    assert control.token_stats()["reused_refresh_tokens"] == 1
    # The new one works (once), and the access token it came with authenticates.
    assert refresh(control, str(first["refresh_token"]))["status"] == 200
    assert control.me(str(first["access_token"])).status_code == 200


def test_a_code_lasts_five_minutes_and_is_used_once(control: FreshBooksControl) -> None:
    code = control.consent(CLIENT_ID, REDIRECT_URI)["code"]
    assert redeem(control, code)["status"] == 200
    assert redeem(control, code)["error"] == "invalid_grant"
    late = control.consent(CLIENT_ID, REDIRECT_URI)["code"]
    control.advance(5 * 60 + 1)
    assert redeem(control, late)["error"] == "invalid_grant"


def test_a_code_redeemed_with_another_redirect_uri_is_refused(control: FreshBooksControl) -> None:
    code = control.consent(CLIENT_ID, REDIRECT_URI)["code"]
    assert redeem(control, code, "https://app.test/elsewhere")["error"] == "invalid_grant"


def test_a_wrong_secret_is_invalid_client(control: FreshBooksControl) -> None:
    answer = control.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": CLIENT_ID,
            "client_secret": "wrong",
        }
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_redirect_uris_carry_no_query_string(control: FreshBooksControl) -> None:
    with pytest.raises(ControlError, match="query string"):
        control.register_client("other", "secret", ["https://app.test/cb?tenant=1"])
    page = control.http.get(authorize_url(control.base_url, CLIENT_ID, REDIRECT_URI + "?x=1"))
    assert page.status_code == 400
    assert "query string" in page.text


def test_the_user_may_deny(control: FreshBooksControl) -> None:
    location = control.consent_at(authorize_url(control.base_url, CLIENT_ID, REDIRECT_URI), allow=False)
    assert "error=access_denied" in location and "state=state-1" in location


def test_access_tokens_expire_after_twelve_hours(control: FreshBooksControl, tokens: Tokens) -> None:
    assert control.me(tokens.access_token).status_code == 200
    control.advance(12 * 3600 - 5)
    assert control.me(tokens.access_token).status_code == 200
    control.advance(10)
    answer = control.me(tokens.access_token)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"


def test_users_me_lists_every_business_membership(control: FreshBooksControl, tokens: Tokens) -> None:
    second = control.add_business("Second Shop", "CAD")
    answer = control.me(tokens.access_token)
    memberships = answer.json()["response"]["business_memberships"]
    businesses = [m["business"] for m in memberships]
    assert [b["account_id"] for b in businesses] == [b["account_id"] for b in control.businesses()]
    assert businesses[1]["account_id"] == second["account_id"]
    assert businesses[1]["id"] == second["business_id"]
    assert businesses[1]["business_uuid"] == second["business_uuid"]
    assert all(m["role"] == "owner" for m in memberships)


def test_business_clients_reach_no_books(control: FreshBooksControl, tokens: Tokens, sandbox: object) -> None:
    identity = control.me(tokens.access_token).json()["response"]
    elsewhere = identity["business_memberships"][0]["business"]["business_clients"][0]["account_id"]
    fb = FreshBooksClient(control.base_url, tokens.access_token, elsewhere)
    answer = fb.request("GET", "users/clients")
    fb.close()
    assert answer.status_code == 403
    assert answer.json()["response"]["errors"][0]["field"] == "account_id"


def test_revoking_ends_the_grant(control: FreshBooksControl, tokens: Tokens) -> None:
    answer = control.http.post(
        "/auth/oauth/revoke",
        data={"token": tokens.refresh_token, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert (answer.status_code, answer.json()) == (200, {})
    assert control.me(tokens.access_token).status_code == 401
    assert refresh(control, tokens.refresh_token)["error"] == "invalid_grant"


def test_the_user_disconnecting_the_app_ends_its_grants(control: FreshBooksControl, tokens: Tokens) -> None:
    control.disconnect()
    assert control.me(tokens.access_token).status_code == 401
    assert refresh(control, tokens.refresh_token)["error"] == "invalid_grant"


def test_each_user_sees_and_reaches_only_their_own_businesses(
    control: FreshBooksControl, tokens: Tokens
) -> None:
    theirs = control.add_business("Other Co", "EUR", user="other@example.test")
    other = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, login="other@example.test")
    identity = control.me(other.access_token).json()["response"]
    assert identity["email"] == "other@example.test"
    assert [m["business"]["account_id"] for m in identity["business_memberships"]] == [theirs["account_id"]]
    mine = control.me(tokens.access_token).json()["response"]["business_memberships"]
    assert theirs["account_id"] not in [m["business"]["account_id"] for m in mine]
    trespass = FreshBooksClient(control.base_url, tokens.access_token, theirs["account_id"])
    assert trespass.request("GET", "users/clients").status_code == 403
    trespass.close()
    control.disconnect(theirs["account_id"])  # that user removes the app: only their grant ends
    assert control.me(other.access_token).status_code == 401
    assert control.me(tokens.access_token).status_code == 200


def test_an_unknown_login_gets_no_code(control: FreshBooksControl) -> None:
    page = control.http.get(authorize_url(control.base_url, CLIENT_ID, REDIRECT_URI))
    assert 'name="login"' in page.text
    with pytest.raises(AssertionError, match="consent answered 400"):
        control.consent(CLIENT_ID, REDIRECT_URI, login="nobody@example.test")
