"""The API as API Gateway invokes it (payload 2.0 through Mangum), over moto tables."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.api.app import ApiServices, create_app, lambda_adapter
from booksync.store.models import ConnectionModel

from tests import builders
from tests.apigw import admin, http_event, member
from tests.dynamo_limits import enforce
from tests.fakes.integrations import api_services
from tests.fakes.oauth import FakeOAuth
from tests.integration.test_invoice_sync_engine import ListQueue


class Lambda:
    def __init__(self, services: ApiServices) -> None:
        self._asgi = lambda_adapter(create_app(lambda: services))

    def __call__(
        self, method: str, path: str, body: Any = None, *, claims: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any, dict[str, str]]:
        result = self._asgi(http_event(method, path, body, claims=claims, **kw), SimpleNamespace())
        assert not result.get("isBase64Encoded"), "JSON answers must not be base64"
        text = result.get("body") or ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return result["statusCode"], payload, result.get("headers", {})


@pytest.fixture
def api(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    queue, oauth = ListQueue(), FakeOAuth()
    services = api_services(kms_key, oauth, queue)
    return SimpleNamespace(call=Lambda(services), queue=queue, oauth=oauth)


def seed(api: SimpleNamespace, claims: dict[str, str] | None = None) -> None:
    claims = claims or admin()
    status, payload, _ = api.call(
        "PUT", "/customers/c-1", builders.customer().model_dump(mode="json"), claims=claims
    )
    assert status == 201
    # Connected (auto_sync_customers on by default), the customer is pending and queued on its own.
    jobs = [(j.kind, j.invoice_id) for j in api.queue.jobs]
    assert jobs == ([("customer", "c-1")] if payload["pending_sync"] else [])
    assert bool(payload["sync_run_id"]) == bool(jobs)
    api.queue.jobs.clear()
    for iid, name in (("i-1", "Drain cleaning"), ("i-2", "Trip charge")):
        body = builders.item(iid, name=name).model_dump(mode="json")
        assert api.call("PUT", f"/items/{iid}", body, claims=claims)[0] == 201


def connected(company: str = "acme") -> None:
    ConnectionModel(company, "quickbooks", connection_id="c1", status="connected", account_id="r1").save()


def test_health_and_openapi_need_no_token(api: SimpleNamespace) -> None:
    assert api.call("GET", "/health", route_key="GET /health")[0] == 200
    status, doc, _ = api.call("GET", "/openapi.json", route_key="GET /openapi.json")
    assert status == 200 and "/invoices/{doc_id}" in doc["paths"]


def test_no_identity_is_401_with_a_problem_document(api: SimpleNamespace) -> None:
    status, body, headers = api.call("GET", "/integrations")
    assert status == 401 and headers["content-type"] == "application/problem+json"
    assert "Authorization" in body["fix"]


def test_put_is_idempotent_and_field_errors_name_the_field(api: SimpleNamespace) -> None:
    seed(api)
    body = builders.customer().model_dump(mode="json")
    status, payload, _ = api.call("PUT", "/customers/c-1", body, claims=admin())
    assert status == 200 and payload["changed"] is False
    status, problem, _ = api.call(
        "PUT", "/customers/c-2", {"display_name": "", "email": "nope"}, claims=admin()
    )
    assert status == 422
    fields = {e["field"] for e in problem["errors"]}
    assert {"display_name", "email"} <= fields and problem["fix"]
    status, problem, _ = api.call("PUT", "/customers/c-3", {**body, "id": "other"}, claims=admin())
    assert status == 422 and problem["errors"][0]["field"] == "id"
    status, problem, _ = api.call("PUT", "/customers/c-4", "{not json", claims=admin())
    assert status == 422


def test_draft_is_stored_but_never_queued_sent_is_queued(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    draft = builders.invoice(status="DRAFT").model_dump(mode="json")
    status, payload, _ = api.call("PUT", "/invoices/inv-1", draft, claims=admin())
    assert status == 201 and payload["pending_sync"] is False and api.queue.jobs == []
    sent = {**draft, "status": "SENT"}
    status, payload, _ = api.call("PUT", "/invoices/inv-1", sent, claims=admin())
    assert status == 200 and payload["pending_sync"] and payload["sync_run_id"]
    assert [j.invoice_id for j in api.queue.jobs] == ["inv-1"]
    status, state, _ = api.call("GET", "/invoices/inv-1/sync-status", claims=admin())
    assert state["badge"] == "Not Synced" and state["pending"] is True


def test_invoice_referring_to_unknown_item_is_a_field_error(api: SimpleNamespace) -> None:
    seed(api)
    body = builders.invoice().model_dump(mode="json")
    body["lines"][0]["item_id"] = "ghost"
    status, problem, _ = api.call("PUT", "/invoices/inv-1", body, claims=admin())
    assert status == 422 and "ghost" in problem["detail"] and "PUT /items/ghost" in problem["fix"]


def test_auto_sync_off_stores_but_does_not_queue(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    assert (
        api.call("PATCH", "/integrations/quickbooks/settings", {"auto_sync_invoices": False}, claims=admin())[
            0
        ]
        == 200
    )
    status, payload, _ = api.call(
        "PUT", "/invoices/inv-1", builders.invoice().model_dump(mode="json"), claims=admin()
    )
    assert payload["pending_sync"] and payload["sync_run_id"] is None and api.queue.jobs == []
    status, started, _ = api.call("POST", "/invoices/inv-1/sync", claims=admin())
    assert status == 202 and "Sync History" in started["message"]
    assert len(api.queue.jobs) == 1 and api.queue.jobs[0].trigger == "manual"


def test_connect_is_admin_only_and_the_state_is_one_time(api: SimpleNamespace) -> None:
    assert api.call("POST", "/integrations/quickbooks/connect", claims=member())[0] == 403
    status, started, _ = api.call("POST", "/integrations/quickbooks/connect", claims=admin())
    assert status == 200
    state = started["authorization_url"].split("state=")[1].split("&")[0]
    path = f"/oauth/quickbooks/callback?code=abc&state={state}&realmId=9130"
    status, body, _ = api.call("GET", path, route_key="GET /oauth/{provider}/callback")
    assert status == 200 and body["status"] == "awaiting_confirmation"
    status, problem, _ = api.call("GET", path, route_key="GET /oauth/{provider}/callback")
    assert status == 422 and "already used" in problem["detail"]
    assert quickbooks_row(api, admin())["status_label"] == "Not Connected"
    confirm = {"consent": body["consent"]}
    status, done, _ = api.call("POST", "/oauth/quickbooks/complete", confirm, claims=admin())
    assert status == 200 and (done["connected"], done["account_id"]) == ("quickbooks", "9130")
    row = quickbooks_row(api, admin())
    assert row["status_label"] == "Connected" and row["connected_by"] == "u-admin"


def quickbooks_row(api: SimpleNamespace, claims: dict[str, Any]) -> dict[str, Any]:
    """QuickBooks' row of GET /integrations (one row per provider, in the registry's order)."""
    status, listing, _ = api.call("GET", "/integrations", claims=claims)
    assert status == 200
    return next(row for row in listing if row["provider"] == "quickbooks")


def callback(api: SimpleNamespace, query: str) -> tuple[int, Any, dict[str, str]]:
    """The provider's redirect to the public callback (no JWT)."""
    return api.call("GET", f"/oauth/quickbooks/callback?{query}", route_key="GET /oauth/{provider}/callback")


def test_a_consent_confirmed_by_another_company_is_403_saying_how_to_connect_your_own(
    api: SimpleNamespace,
) -> None:
    _, started, _ = api.call("POST", "/integrations/quickbooks/connect", claims=admin())
    state = started["authorization_url"].split("state=")[1].split("&")[0]
    _, body, _ = callback(api, f"code=abc&state={state}&realmId=9130")
    confirm = {"consent": body["consent"]}
    status, problem, headers = api.call(
        "POST", "/oauth/quickbooks/complete", confirm, claims=admin("rival", "rival-admin")
    )
    assert status == 403 and headers["content-type"] == "application/problem+json"
    assert "started by another account" in problem["detail"]
    assert "from your own account" in problem["fix"]
    for company in ("rival", "acme"):
        assert quickbooks_row(api, admin(company))["status_label"] == "Not Connected"


def test_denied_consent_is_explained(api: SimpleNamespace) -> None:
    _, started, _ = api.call("POST", "/integrations/quickbooks/connect", claims=admin())
    state = started["authorization_url"].split("state=")[1].split("&")[0]
    status, problem, _ = callback(api, f"error=access_denied&state={state}")
    assert status == 422 and "access_denied" in problem["detail"]


def test_another_companys_invoice_is_404(api: SimpleNamespace) -> None:
    seed(api)
    api.call(
        "PUT", "/invoices/inv-1", builders.invoice(status="DRAFT").model_dump(mode="json"), claims=admin()
    )
    assert api.call("GET", "/invoices/inv-1", claims=admin("acme"))[0] == 200
    assert api.call("GET", "/invoices/inv-1", claims=admin("rival"))[0] == 404


def test_delete_invoice_route(api: SimpleNamespace) -> None:
    seed(api)
    api.call(
        "PUT", "/invoices/inv-1", builders.invoice(status="DRAFT").model_dump(mode="json"), claims=admin()
    )
    status, body, _ = api.call("DELETE", "/invoices/inv-1", claims=admin())
    assert status == 200
    assert body["changed"] is True
    assert body["pending_sync"] is False, "never synced: nothing to delete in the books"
    status, problem, _ = api.call(
        "PUT", "/invoices/inv-1", builders.invoice().model_dump(mode="json"), claims=admin()
    )
    assert status == 422
    assert problem["errors"][0]["field"] == "id"
    assert api.call("DELETE", "/invoices/ghost", claims=admin())[0] == 404


def test_reconnect_and_disconnect_are_admin_only(api: SimpleNamespace) -> None:
    for action in ("reconnect", "disconnect"):
        assert api.call("POST", f"/integrations/quickbooks/{action}", claims=member())[0] == 403
    status, started, _ = api.call("POST", "/integrations/quickbooks/reconnect", claims=admin())
    assert status == 200
    assert "state=" in started["authorization_url"]
    status, problem, _ = api.call("POST", "/integrations/quickbooks/disconnect", claims=admin())
    assert status == 404
    assert problem["fix"]


LONG = "k" * 3_000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/sync-runs/{LONG}"),
        ("PATCH", f"/integrations/{LONG}/settings"),
        ("GET", f"/integrations/{LONG}/invoice-badges"),
        ("GET", f"/invoices/inv-1?provider={LONG}"),
        ("GET", f"/invoices/inv-1/sync-status?provider={LONG}"),
        ("POST", f"/notifications/{LONG}/read"),
    ],
)
def test_an_outside_key_too_long_for_dynamodb_is_a_422_before_any_read(
    api: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    enforce(monkeypatch)  # DynamoDB's key limits, which moto does not check on reads
    status, problem, headers = api.call(method, path, {} if method == "PATCH" else None, claims=admin())
    assert status == 422, problem
    assert headers["content-type"] == "application/problem+json"
    assert "200 characters" in json.dumps(problem["errors"])


def test_a_token_whose_company_id_cannot_be_a_key_is_401(
    api: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    enforce(monkeypatch)
    status, problem, _ = api.call("GET", "/sync-runs", claims=admin(company="c" * 3_000))
    assert status == 401 and "at most 200 characters" in problem["fix"]
