"""Wave's OAuth as the sandbox plays it: a consent per business, refusal of businesses that cannot be
connected (no paid plan, not USD/CAD) in words an app can recognise, tokens that reach only the
business chosen and only what their scopes name, refresh tokens that rotate, repeat or are omitted."""

from __future__ import annotations

import httpx
import pytest
from wave_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USD_BUSINESS, data

from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import (
    CURRENCY_UNSUPPORTED,
    PLAN_REQUIRED,
    Tokens,
    WaveClient,
    WaveControl,
    authorize_url,
    redirect_params,
)

BUSINESSES = "{ businesses { pageInfo { totalCount } edges { node { id name currency { code } } } } }"
BUSINESS = "query($id: ID!) { business(id: $id) { id name } }"


def _refresh(control: WaveControl, refresh_token: str) -> httpx.Response:
    form = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return control.http.post("/oauth2/token/", data=form)


def test_a_consent_answers_tokens_for_the_business_chosen(tokens: Tokens, business_id: str) -> None:
    answer = tokens.answer
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 2 * 3600
    assert answer["businessId"] == business_id and answer["userId"]
    assert tokens.refresh_token
    assert "invoice:write" in answer["scope"].split()


def test_the_token_reaches_only_the_business_consented_to(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    listed = data(wave.gql(BUSINESSES), "businesses")
    assert listed["pageInfo"]["totalCount"] == 1
    assert [edge["node"]["id"] for edge in listed["edges"]] == [business_id]
    other = control.business_id("Northern Consulting")
    answer = wave.gql(BUSINESS, {"id": other})
    assert answer["data"] == {"business": None}
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_several_businesses_are_several_consents(control: WaveControl, sandbox: WaveSandbox) -> None:
    usd, cad = control.business_id(USD_BUSINESS), control.business_id("Northern Consulting")
    first = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, usd)
    second = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, cad)
    assert (first.business_id, second.business_id) == (usd, cad)
    wave = WaveClient(sandbox.url, second.access_token)
    node = data(wave.gql(BUSINESSES), "businesses", "edges")[0]["node"]
    assert (node["id"], node["currency"]["code"]) == (cad, "CAD")
    wave.close()


@pytest.mark.parametrize(
    ("name", "code"),
    [("Side Project (Starter)", PLAN_REQUIRED), ("Paris Atelier", CURRENCY_UNSUPPORTED)],
)
def test_a_business_that_cannot_be_connected_is_refused_in_words_an_app_recognises(
    control: WaveControl, name: str, code: str
) -> None:
    refused = control.consent(CLIENT_ID, REDIRECT_URI, control.business_id(name))
    assert refused["error"] == "access_denied" and "code" not in refused
    assert refused["error_description"].startswith(f"{code}: ")
    assert name in refused["error_description"] and refused["state"] == "state-1"


def test_the_user_declining_answers_access_denied(control: WaveControl, business_id: str) -> None:
    url = authorize_url(control.base_url, CLIENT_ID, REDIRECT_URI)
    assert redirect_params(control.consent_at(url, business_id, decision="deny"))["error"] == "access_denied"


def test_an_unknown_scope_is_invalid_scope(control: WaveControl) -> None:
    url = authorize_url(control.base_url, CLIENT_ID, REDIRECT_URI, scope="invoice:read invoice:create")
    page = control.http.get(url)
    assert page.status_code == 302
    assert redirect_params(page.headers["location"])["error"] == "invalid_scope"


def test_the_token_endpoint_refuses_a_wrong_secret_and_a_spent_code(
    control: WaveControl, business_id: str
) -> None:
    code = control.consent(CLIENT_ID, REDIRECT_URI, business_id)["code"]
    form = {
        "client_id": CLIENT_ID,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    wrong = control.http.post("/oauth2/token/", data={**form, "client_secret": "nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (
        control.http.post("/oauth2/token/", data={**form, "client_secret": CLIENT_SECRET}).status_code == 200
    )
    again = control.http.post("/oauth2/token/", data={**form, "client_secret": CLIENT_SECRET})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_a_refresh_rotates_the_refresh_token_and_the_spent_one_is_refused(
    control: WaveControl, tokens: Tokens
) -> None:
    assert tokens.refresh_token is not None
    fresh = _refresh(control, tokens.refresh_token).json()
    assert fresh["refresh_token"] != tokens.refresh_token and fresh["businessId"] == tokens.business_id
    spent = _refresh(control, tokens.refresh_token)
    assert (spent.status_code, spent.json()["error"]) == (400, "invalid_grant")
    assert _refresh(control, fresh["refresh_token"]).status_code == 200


def test_a_refresh_may_omit_the_refresh_token_and_the_one_held_stays_good(
    control: WaveControl, tokens: Tokens
) -> None:
    assert tokens.refresh_token is not None
    control.set_config(refresh_mode="omit")
    first = _refresh(control, tokens.refresh_token).json()
    assert "refresh_token" not in first and first["access_token"]
    assert _refresh(control, tokens.refresh_token).status_code == 200
    control.set_config(refresh_mode="same")
    assert _refresh(control, tokens.refresh_token).json()["refresh_token"] == tokens.refresh_token


def test_an_expired_access_token_is_unauthenticated_and_a_refreshed_one_works(
    control: WaveControl, wave: WaveClient, tokens: Tokens
) -> None:
    assert data(wave.gql(BUSINESSES), "businesses", "pageInfo", "totalCount") == 1
    control.advance(2 * 3600 + 1)
    answer = wave.gql(BUSINESSES)
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" and "data" not in answer
    assert tokens.refresh_token is not None
    wave.access_token = _refresh(control, tokens.refresh_token).json()["access_token"]
    assert data(wave.gql(BUSINESSES), "businesses", "pageInfo", "totalCount") == 1


def test_a_scope_not_granted_is_forbidden(
    control: WaveControl, sandbox: WaveSandbox, business_id: str
) -> None:
    reader = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, business_id, scope="business:read")
    wave = WaveClient(sandbox.url, reader.access_token)
    answer = wave.gql(
        "query($id: ID!) { business(id: $id) { customers { edges { node { id } } } } }", {"id": business_id}
    )
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "customer:read" in answer["errors"][0]["message"]
    wave.close()


def test_a_business_whose_plan_lapsed_is_refused_with_its_reason(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    control.set_plan(business_id, "starter")
    answer = wave.gql(BUSINESS, {"id": business_id})
    error = answer["errors"][0]
    assert error["extensions"] == {"code": "FORBIDDEN", "reason": PLAN_REQUIRED}
    control.set_plan(business_id, "pro")
    assert data(wave.gql(BUSINESS, {"id": business_id}), "business", "id") == business_id


def test_the_user_removing_the_app_ends_its_tokens(
    control: WaveControl, wave: WaveClient, tokens: Tokens
) -> None:
    control.disconnect(tokens.business_id)
    assert wave.gql(BUSINESSES)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert tokens.refresh_token is not None
    assert _refresh(control, tokens.refresh_token).json()["error"] == "invalid_grant"
