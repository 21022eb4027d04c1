"""Requests about the company's books that name no ``?provider=`` (Sync, sync status, a document's
sync state) are about its accounting connection, whichever provider that is; with none connected,
or several, they are refused saying how to name one. Queue messages from before jobs named their
provider still parse (they were all QuickBooks')."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from booksync.providers import registry
from booksync.store.models import ConnectionModel
from booksync.sync.catalog_jobs import CatalogJob, parse_catalog_job
from booksync.sync.jobs import SyncJob, parse_job
from booksync.sync.worker import parse_message
from pydantic import ValidationError

from tests import builders
from tests.apigw import admin, member
from tests.fakes.provider import plain_books
from tests.integration.test_api import api, seed

__all__ = ["api"]


@pytest.fixture(autouse=True)
def memory_declared() -> Iterator[None]:
    """The in-memory provider, under a name of its own (no package, no fixed list holds it)."""
    undo = registry.REGISTRY.declare(plain_books(name="memory").declaration())
    yield
    undo()


def connect(provider: str, status: str = "connected") -> None:
    ConnectionModel("acme", provider, connection_id=f"c-{provider}", status=status, account_id="a1").save()


def invoice_stored(api: SimpleNamespace) -> None:
    seed(api)
    body = builders.invoice().model_dump(mode="json")
    assert api.call("PUT", "/invoices/inv-1", body, claims=admin())[0] in {200, 201}
    api.queue.jobs.clear()


def test_with_no_books_connected_a_sync_is_refused_saying_how_to_connect(api: SimpleNamespace) -> None:
    invoice_stored(api)
    connect("square")  # a payments connection is not the books
    for method, path in (("POST", "/invoices/inv-1/sync"), ("GET", "/invoices/inv-1/sync-status")):
        status, problem, _ = api.call(method, path, claims=admin())
        assert status == 422 and problem["type"].endswith("/no_accounting_connection"), (path, problem)
        assert problem["detail"].startswith("No accounting system is connected to this company")
        assert "POST /integrations/{provider}/connect" in problem["fix"] and "quickbooks" in problem["fix"]
    assert api.queue.jobs == []
    status, read, _ = api.call("GET", "/invoices/inv-1", claims=member())
    assert status == 200 and read["document"]["id"] == "inv-1" and read["sync"] is None


def test_the_one_accounting_connection_is_the_default_whichever_provider(api: SimpleNamespace) -> None:
    connect("quickbooks", status="disconnected")  # a disconnected one is no longer the books
    connect("memory")
    invoice_stored(api)
    status, _, _ = api.call("POST", "/invoices/inv-1/sync", claims=admin())
    assert status == 202 and [j.provider for j in api.queue.jobs] == ["memory"]
    status, state, _ = api.call("GET", "/invoices/inv-1/sync-status", claims=member())
    assert status == 200 and state["badge"] == "Not Synced"
    status, read, _ = api.call("GET", "/invoices/inv-1", claims=member())
    assert status == 200 and read["sync"] == state


def test_with_several_books_connected_the_request_must_name_one(api: SimpleNamespace) -> None:
    connect("quickbooks")
    connect("memory")
    invoice_stored(api)
    for method, path in (("POST", "/invoices/inv-1/sync"), ("GET", "/invoices/inv-1/sync-status")):
        status, problem, _ = api.call(method, path, claims=admin())
        assert status == 422 and problem["errors"][0]["field"] == "provider", (path, problem)
        assert "2 accounting systems are connected" in problem["detail"]
        assert "Plain Books (memory)" in problem["detail"] and "QuickBooks (quickbooks)" in problem["detail"]
        assert problem["fix"] == "Add ?provider= with one of: memory, quickbooks."
    assert api.queue.jobs == []
    status, read, _ = api.call("GET", "/invoices/inv-1", claims=member())  # the document still reads
    assert status == 200 and read["sync"] is None
    status, _, _ = api.call("POST", "/invoices/inv-1/sync?provider=memory", claims=admin())
    assert status == 202 and [j.provider for j in api.queue.jobs] == ["memory"]


def test_messages_queued_before_jobs_named_their_provider_still_parse_as_quickbooks() -> None:
    old = {"job_id": "j-1", "company_id": "acme", "invoice_id": "inv-1", "kind": "invoice", "trigger": "auto"}
    assert parse_job(json.dumps(old)).provider == "quickbooks"
    assert parse_message(json.dumps(old)).provider == "quickbooks"
    catalog = {"job_id": "j-2", "company_id": "acme", "run_id": "r-1", "kinds": ["items"], "step": 0}
    assert parse_catalog_job(json.dumps(catalog)).provider == "quickbooks"
    # A message naming its provider keeps it; a job made now must name one.
    assert parse_job(json.dumps({**old, "provider": "memory"})).provider == "memory"
    with pytest.raises(ValidationError, match="provider"):
        SyncJob(company_id="acme", invoice_id="inv-1")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="provider"):
        CatalogJob(company_id="acme", run_id="r-1", kinds=("items",))  # type: ignore[call-arg]
