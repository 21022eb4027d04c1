"""Catalog sync as a caller meets it through the local runtime (template.yaml, the JWT authorizer,
ApiFunction and SyncCatalogFunction in worker processes, moto server, the QuickBooks sandbox):

- connecting a company that already has customers and items starts a ``first_sync`` catalog run,
  visible in sync history;
- ``POST /integrations/quickbooks/sync`` answers 202 with a run id at once; ``GET /sync-runs/{id}``
  shows the run queued or under way, then its final counts;
- account mapping over HTTP: an item mapped to an income account reaches QuickBooks with it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from local import app_return
from local.sandboxes.quickbooks.control import SandboxControl
from local.stack import LocalStack
from tests.e2e.conftest import quickbooks_ledger

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]

COMPANY = "catalog-http"
REALM = "9341453050079001"


def ledger(stack: LocalStack, entity: str) -> list[dict[str, Any]]:
    return quickbooks_ledger(stack, REALM, entity)


def connect(stack: LocalStack, api: httpx.Client, realm: str = REALM) -> None:
    started = api.post("/integrations/quickbooks/connect")
    assert started.status_code == 200, started.text
    with SandboxControl(stack.sandboxes["quickbooks"].url) as control:
        location = control.approve_consent(started.json()["authorization_url"], realm=realm)
    callback = httpx.get(location, timeout=30)
    assert callback.status_code in (200, 302), callback.text
    assert app_return.confirm(api, "quickbooks", callback).status_code == 200


def test_first_sync_then_sync_now_with_history(stack: LocalStack, api: httpx.Client) -> None:
    assert api.put(
        "/customers/c-1", json={"display_name": "Ada Lovelace", "email": "ada@example.com"}
    ).is_success
    for index in range(35):  # more than one batch request of 30
        body = {"name": f"Gutter part {index:02d}", "unit_price": "12.50"}
        assert api.put(f"/items/i-{index:02d}", json=body).status_code == 201

    connect(stack, api)
    history = api.get("/sync-runs").json()
    first = [r for r in history if r["kind"] == "catalog" and r["trigger"] == "first_sync"]
    assert len(first) == 1 and first[0]["subject"] == "customers,items"
    stack.drain(timeout=60)
    done = api.get(f"/sync-runs/{first[0]['run_id']}").json()
    assert done["status"] == "succeeded", done
    assert done["counts"] == {"created": 36}
    assert len(ledger(stack, "Item")) == 35 and len(ledger(stack, "Customer")) == 1

    # Account mapping over HTTP, then Sync Now for the items.
    accounts = api.get("/integrations/quickbooks/accounts", params={"type": "income"}).json()
    chosen = next(a for a in accounts if a["name"] == "Sales of Product Income")
    mapped = api.put("/integrations/quickbooks/account-mapping/items/i-00", json={"account_id": chosen["id"]})
    assert mapped.status_code == 200 and mapped.json()["out_of_date"] is True
    assert api.put("/items/i-35", json={"name": "Downspout", "unit_price": "40.00"}).status_code == 201

    started = api.post("/integrations/quickbooks/sync", json={"kinds": ["items"]})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    assert "Sync History" in started.json()["message"]
    early = api.get(f"/sync-runs/{run_id}")
    assert early.status_code == 200
    assert early.json()["kind"] == "catalog" and early.json()["status"] in ("queued", "running", "succeeded")
    assert isinstance(early.json()["counts"], dict)

    stack.drain(timeout=60)
    final = api.get(f"/sync-runs/{run_id}").json()
    assert final["status"] == "succeeded", final
    assert final["counts"] == {"created": 1, "updated": 1, "unchanged": 34}
    assert final["finished_at"] and final["duration_ms"] is not None and final["errors"] == []
    items = {i["Name"]: i for i in ledger(stack, "Item")}
    assert len(items) == 36
    assert items["Gutter part 00"]["IncomeAccountRef"]["value"] == chosen["id"]

    mapping = api.get("/integrations/quickbooks/account-mapping").json()
    assert mapping["counts"]["mapped"] == 1 and mapping["counts"]["items"] == 36
    assert not [i for i in mapping["items"] if i["out_of_date"]]


def test_a_member_reads_the_mapping_but_cannot_map_accounts(stack: LocalStack) -> None:
    company, realm = "catalog-http-member", "9341453050079002"  # its own company: no order between tests
    admin = stack.mint_token(company, "admin", sub="carol")
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as c:
        assert c.put("/items/i-00", json={"name": "Gutter part 00", "unit_price": "12.50"}).status_code == 201
        connect(stack, c, realm)
    token = stack.mint_token(company, "member", sub="bob")
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        mapping = c.get("/integrations/quickbooks/account-mapping")
        assert mapping.status_code == 200, mapping.text
        assert mapping.json()["counts"]["items"] == 1
        for method, path in (
            ("PUT", "/integrations/quickbooks/account-mapping/items/i-00"),
            ("POST", "/integrations/quickbooks/account-mapping/apply-to-unmapped"),
        ):
            response = c.request(method, path, json={"account_id": "1"})
            assert response.status_code == 403 and response.json()["fix"]
