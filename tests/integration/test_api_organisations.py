"""Choosing the organisation over the API (payload 2.0 through Mangum, moto tables, the fake OAuth
server offering two organisations): the consent's confirmation lists them, GET shows the state and
why work waits, one route picks one (admins only; a wrong id is a 422 naming the choices; one
another company holds is a 409), and the connection is Connected."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.apigw import admin, member
from tests.fakes.integrations import api_services
from tests.integration.test_api import Lambda
from tests.integration.test_connect_organisations import NORTH, PROVIDER, SOUTH, xero_oauth
from tests.integration.test_connect_organisations import several_per_consent as _declared
from tests.integration.test_invoice_sync_engine import ListQueue

several_per_consent = _declared  # the Xero-like provider, declared for every test here


@pytest.fixture
def api(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    oauth = xero_oauth(NORTH, SOUTH)
    services = api_services(kms_key, oauth, ListQueue())
    return SimpleNamespace(call=Lambda(services), oauth=oauth)


def consent(api: SimpleNamespace, claims: dict[str, str]) -> tuple[int, Any]:
    """Connect, the provider's redirect, then the app's confirmation: its status and answer."""
    _, started, _ = api.call("POST", f"/integrations/{PROVIDER}/connect", claims=claims)
    state = started["authorization_url"].split("state=")[1].split("&")[0]
    path = f"/oauth/{PROVIDER}/callback?code=abc&state={state}"
    _, body, _ = api.call("GET", path, route_key="GET /oauth/{provider}/callback")
    status, done, _ = api.call(
        "POST", f"/oauth/{PROVIDER}/complete", {"consent": body["consent"]}, claims=claims
    )
    return status, done


def choose(api: SimpleNamespace, organisation_id: str, claims: dict[str, str]) -> tuple[int, Any]:
    status, body, _ = api.call(
        "POST", f"/integrations/{PROVIDER}/organisation", {"organisation_id": organisation_id}, claims=claims
    )
    return status, body


def test_an_admin_chooses_one_of_the_organisations_the_consent_granted(api: SimpleNamespace) -> None:
    status, done = consent(api, admin())
    assert status == 200 and done["status"] == "choose_organisation" and done["account_id"] is None
    assert done["organisations"] == [
        {"id": "tenant-north", "name": "North Plumbing Ltd"},
        {"id": "tenant-south", "name": "South Heating Ltd"},
    ]
    assert f"POST /integrations/{PROVIDER}/organisation" in done["next"]
    _, shown, _ = api.call("GET", f"/integrations/{PROVIDER}", claims=admin())
    assert (shown["status_label"], shown["actions"]) == (
        "Choose Organisation",
        ["choose_organisation", "disconnect"],
    )
    assert "none is chosen yet" in shown["waiting_for"]
    assert choose(api, "tenant-north", member())[0] == 403
    status, problem = choose(api, "tenant-west", admin())
    assert status == 422 and "North Plumbing Ltd (tenant-north)" in problem["detail"]
    assert "tenant-north, tenant-south" in problem["fix"]
    status, shown = choose(api, "tenant-south", admin())
    assert status == 200 and (shown["status_label"], shown["account_id"]) == ("Connected", "tenant-south")
    assert shown["account_ids"] == {"tenant": "tenant-south", "connection": "conn-s"}
    status, problem = choose(api, "tenant-north", admin())
    assert status == 422 and "no organisation waiting to be chosen" in problem["detail"]


def test_an_organisation_another_company_connected_is_a_409(api: SimpleNamespace) -> None:
    rival = admin("rival", "rival-admin")
    consent(api, rival)
    assert choose(api, "tenant-north", rival)[0] == 200
    consent(api, admin())
    status, problem = choose(api, "tenant-north", admin())
    assert status == 409 and "already connected to another booksync company" in problem["detail"]
    assert api.call("GET", f"/integrations/{PROVIDER}", claims=admin())[1]["status"] == "choose_organisation"
