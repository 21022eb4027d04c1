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
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel
from booksync.store.runs import RunRepository
from booksync.sync.catalog_jobs import CatalogJob, parse_catalog_job
from booksync.sync.jobs import SyncJob, parse_job
from booksync.sync.sweep import Sweep
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
    invoice_stored(api)
    connect("quickbooks")
    connect("memory")
    for method, path in (("POST", "/invoices/inv-1/sync"), ("GET", "/invoices/inv-1/sync-status")):
        status, problem, _ = api.call(method, path, claims=admin())
        assert status == 422 and problem["errors"][0]["field"] == "provider", (path, problem)
        assert "2 accounting systems are connected" in problem["detail"]
        assert "Plain Books (memory)" in problem["detail"] and "QuickBooks (quickbooks)" in problem["detail"]
        assert problem["fix"] == "Add ?provider= with one of: memory, quickbooks."
    assert api.queue.jobs == []
    status, read, _ = api.call("GET", "/invoices/inv-1", claims=member())  # the document still reads
    assert status == 200 and read["sync"]["badge"] == "Blocked"
    assert read["sync"]["error"]["code"] == "several_accounting_connections"
    status, _, _ = api.call("POST", "/invoices/inv-1/sync?provider=memory", claims=admin())
    assert status == 202 and [j.provider for j in api.queue.jobs] == ["memory"]


def swept(api: SimpleNamespace) -> list[tuple[str, str]]:
    """What the five-minute sweep queues now (pending work, no grace)."""
    api.queue.jobs.clear()
    Sweep(
        documents=DocumentRepository(),
        connections=ConnectionRepository(),
        runs=RunRepository(),
        queue=api.queue,
        grace_seconds=-60,
    ).run()
    return [(j.invoice_id, j.provider) for j in api.queue.jobs]


def test_with_several_books_connected_invoices_wait_saying_which_to_disconnect(api: SimpleNamespace) -> None:
    """Neither auto-sync nor the sweep picks one of two connected accounting systems (the first by
    name, as they did): the invoice waits, pending, and its state and each integration say why
    and what ends it; once one is disconnected, the sweep syncs it to the other."""
    seed(api)  # no books yet
    connect("quickbooks")
    connect("memory")
    body = builders.invoice().model_dump(mode="json")
    status, accepted, _ = api.call("PUT", "/invoices/inv-1", body, claims=admin())
    assert status == 201 and accepted["pending_sync"] is True
    assert api.queue.jobs == [], "auto-sync pushes to neither"
    assert swept(api) == [], "nor does the sweep"

    status, read, _ = api.call("GET", "/invoices/inv-1", claims=member())
    state = read["sync"]
    assert state["badge"] == "Blocked" and state["pending"] is True
    assert state["error"]["message"].startswith(
        "2 accounting systems are connected (Plain Books (memory) and QuickBooks (quickbooks))"
    )
    assert "this invoice waits until one remains" in state["error"]["message"]
    assert "POST /integrations/{provider}/disconnect" in state["error"]["fix"]
    for provider in ("quickbooks", "memory"):
        status, described, _ = api.call("GET", f"/integrations/{provider}", claims=member())
        assert status == 200 and "every invoice waits until one remains" in described["waiting_for"]
    status, listed, _ = api.call("GET", "/integrations", claims=member())
    square = next(i for i in listed if i["provider"] == "square")
    assert square["waiting_for"] is None
    patch = {"auto_sync_items": True}
    status, saved, _ = api.call("PATCH", "/integrations/quickbooks/settings", patch, claims=admin())
    assert status == 200 and "every invoice waits until one remains" in saved["waiting_for"], saved

    connect("memory", status="disconnected")
    assert swept(api) == [("inv-1", "quickbooks")]
    status, described, _ = api.call("GET", "/integrations/quickbooks", claims=member())
    assert described["waiting_for"] is None


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
