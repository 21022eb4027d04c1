"""Xero's identity service as the sandbox plays it: consent with several organisations, the code
and refresh grants (rotation with a 30-minute grace, 60 days idle), revocation, /connections."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from xero_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import (
    Tokens,
    XeroClient,
    XeroControl,
    auth_event_id,
    authorize_url,
    consent_form,
)


def _refresh(control: XeroControl, refresh_token: str) -> httpx.Response:
    return control.http.post(
        "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )


def _connections(control: XeroControl, access_token: str) -> httpx.Response:
    return control.http.get("/connections", headers={"authorization": f"Bearer {access_token}"})


def test_the_consent_page_offers_every_organisation_and_connects_the_chosen_ones(
    control: XeroControl,
) -> None:
    page = control.http.get(authorize_url(control.base_url, CLIENT_ID, REDIRECT_URI))
    _, offered = consent_form(page.text)
    assert [name for _, name in offered] == ["Demo Company (US)", "Second Company (US)"]
    both = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    connections = _connections(control, both.access_token).json()
    assert {c["tenantId"] for c in connections} == {tenant for tenant, _ in offered}
    assert all(c["tenantType"] == "ORGANISATION" and c["id"] and c["tenantName"] for c in connections)
    one = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, tenants=[offered[1][0]])
    assert one.tenant_ids == [offered[1][0]]
    # /connections lists what the user connected over every consent; the access token's
    # authentication_event_id names the consent, and ?authEventId= keeps what it granted.
    listed = _connections(control, one.access_token).json()
    assert {c["tenantId"] for c in listed} == {tenant for tenant, _ in offered}
    event = auth_event_id(one.access_token)
    assert event != auth_event_id(both.access_token)
    granted = control.http.get(
        "/connections",
        params={"authEventId": event},
        headers={"authorization": f"Bearer {one.access_token}"},
    ).json()
    assert [(c["tenantName"], c["authEventId"]) for c in granted] == [("Second Company (US)", event)]


def test_the_code_answers_xeros_tokens_once(control: XeroControl) -> None:
    code = control.consent(CLIENT_ID, REDIRECT_URI)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    answer = control.http.post("/connect/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer" and body["refresh_token"]
    again = control.http.post("/connect/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    wrong = control.http.post("/connect/token", data=form, auth=(CLIENT_ID, "not-the-secret"))
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_client"})


def test_pkce_redeems_with_the_verifier_instead_of_the_secret(control: XeroControl) -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = control.consent(CLIENT_ID, REDIRECT_URI, code_challenge=challenge, code_challenge_method="S256")[
        "code"
    ]
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
    }
    wrong = control.http.post("/connect/token", data={**base, "code_verifier": "x" * 43})
    assert wrong.json() == {"error": "invalid_grant"}
    code = control.consent(CLIENT_ID, REDIRECT_URI, code_challenge=challenge, code_challenge_method="S256")[
        "code"
    ]
    right = control.http.post("/connect/token", data={**base, "code": code, "code_verifier": verifier})
    assert right.status_code == 200 and right.json()["access_token"]


def test_a_broad_scope_is_refused_to_a_new_app(control: XeroControl) -> None:
    refused = control.consent(CLIENT_ID, REDIRECT_URI, scope="offline_access accounting.transactions")
    assert refused["error"] == "invalid_scope"
    control.set_config(granular_only=False)
    assert "code" in control.consent(CLIENT_ID, REDIRECT_URI, scope="offline_access accounting.transactions")


def test_refresh_rotates_and_the_spent_token_has_thirty_minutes_grace(
    control: XeroControl, tokens: Tokens
) -> None:
    first = _refresh(control, tokens.refresh_token).json()
    assert first["refresh_token"] != tokens.refresh_token
    # The answer was lost: the old token again, inside the grace, gives the same new refresh token.
    control.advance(29 * 60)
    retried = _refresh(control, tokens.refresh_token).json()
    assert retried["refresh_token"] == first["refresh_token"]
    control.advance(2 * 60)
    late = _refresh(control, tokens.refresh_token)
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})
    assert _refresh(control, first["refresh_token"]).status_code == 200


def test_a_refresh_token_unused_for_sixty_days_lapses(control: XeroControl, tokens: Tokens) -> None:
    control.advance(59 * 86400)
    kept = _refresh(control, tokens.refresh_token).json()["refresh_token"]
    control.advance(60 * 86400 + 1)
    assert _refresh(control, kept).json() == {"error": "invalid_grant"}


def test_an_access_token_expires_after_thirty_minutes(control: XeroControl, xero: XeroClient) -> None:
    assert xero.request("GET", "/Organisation").status_code == 200
    control.advance(30 * 60)
    expired = xero.request("GET", "/Organisation")
    assert expired.status_code == 401
    assert expired.json()["Detail"].startswith("TokenExpired: token expired at ")


def test_revocation_ends_the_grant(control: XeroControl, tokens: Tokens, xero: XeroClient) -> None:
    answer = control.http.post(
        "/connect/revocation", data={"token": tokens.refresh_token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert answer.status_code == 200
    assert _refresh(control, tokens.refresh_token).json() == {"error": "invalid_grant"}
    assert xero.request("GET", "/Organisation").status_code == 401


def test_deleting_a_connection_disconnects_that_tenant_only(
    sandbox: XeroSandbox, control: XeroControl, tokens: Tokens
) -> None:
    first, second = _connections(control, tokens.access_token).json()
    auth = {"authorization": f"Bearer {tokens.access_token}"}
    assert control.http.delete(f"/connections/{first['id']}", headers=auth).status_code == 204
    assert control.http.delete(f"/connections/{first['id']}", headers=auth).status_code == 404
    gone = XeroClient(sandbox.url, tokens.access_token, first["tenantId"])
    kept = XeroClient(sandbox.url, tokens.access_token, second["tenantId"])
    refused = gone.request("GET", "/Organisation")
    assert (refused.status_code, refused.json()["Detail"]) == (403, "AuthenticationUnsuccessful")
    assert kept.request("GET", "/Organisation").json()["Organisations"][0]["Name"] == second["tenantName"]
    gone.close()
    kept.close()


@pytest.mark.parametrize("tenant", ["", "00000000-0000-0000-0000-000000000000"])
def test_an_accounting_call_needs_a_connected_tenant(
    sandbox: XeroSandbox, tokens: Tokens, tenant: str
) -> None:
    client = XeroClient(sandbox.url, tokens.access_token, tenant)
    refused = client.request("GET", "/Contacts")
    client.close()
    assert (refused.status_code, refused.json()) == (
        403,
        {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"},
    )


def test_a_call_outside_the_granted_scopes_is_unauthorised(
    control: XeroControl, sandbox: XeroSandbox
) -> None:
    code = control.consent(CLIENT_ID, REDIRECT_URI, scope="offline_access accounting.contacts.read")["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    body = control.http.post("/connect/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET)).json()
    tenant = _connections(control, body["access_token"]).json()[0]["tenantId"]
    client = XeroClient(sandbox.url, body["access_token"], tenant)
    assert client.request("GET", "/Contacts").status_code == 200
    refused = client.request("PUT", "/Contacts", json={"Contacts": [{"Name": "A"}]})
    assert (refused.status_code, refused.json()["Detail"]) == (401, "AuthorizationUnsuccessful")
    assert client.request("GET", "/Invoices").status_code == 401
    client.close()
