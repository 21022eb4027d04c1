"""The real SyncCatalogFunction against moto server and the QuickBooks sandbox: items carry their
mapped income account; a run parked by a broken connection resumes by itself after the user
reconnects; a company's first connection starts a catalog sync of what it already has."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.providers.registry import REGISTRY
from booksync.store.connections import ConnectionRepository, ConnectionStatus
from booksync.store.models import ConnectionModel
from booksync.store.runs import RunRepository
from booksync.sync.catalog_jobs import CatalogJob, CatalogRequests

from tests import builders
from tests.fakes.provider import plain_books
from tests.integration.test_sync_catalog import (
    COMPANY,
    RESERVE,
    items_in_quickbooks,
    links,
    put_items,
    run_until_done,
    sandbox,
    stack,
)
from tests.lambda_env import Context, connect_company, receive_sqs_event

__all__ = ["sandbox", "stack"]


def account_ids(stack: SimpleNamespace) -> dict[str, str]:
    accounts = stack.control.ledger(stack.realm)["entities"]["Account"]
    return {a["Name"]: a["Id"] for a in accounts}


def income_refs(stack: SimpleNamespace) -> dict[str, str]:
    return {i["Name"]: i["IncomeAccountRef"]["value"] for i in items_in_quickbooks(stack)}


def deliver_one(stack: SimpleNamespace, *, seconds: float) -> None:
    event = receive_sqs_event(stack.queue, max_messages=1)
    assert event["Records"], "a catalog message was queued"
    assert stack.handler.handler(event, Context(seconds=seconds)) == {"batchItemFailures": []}
    for record in event["Records"]:
        boto3.client("sqs").delete_message(QueueUrl=stack.queue, ReceiptHandle=record["receiptHandle"])


def catalog_runs(company: str) -> list[Any]:
    return [r for r in RunRepository().recent(company) if r.kind == "catalog"]


def test_items_carry_their_mapped_account_and_a_new_mapping_updates_it(stack: SimpleNamespace) -> None:
    put_items(stack, ["Gutter cleaning", "Trip charge", "Hose"])
    chart = account_ids(stack)
    mapped = stack.services.accounts.map_item(
        COMPANY, "quickbooks", "i-00000", chart["Sales of Product Income"]
    )
    assert mapped["source"] == "mapped" and mapped["account_name"] == "Sales of Product Income"
    stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)
    assert income_refs(stack) == {
        "Gutter cleaning": chart["Sales of Product Income"],
        "Trip charge": chart["Services"],  # the default (the chart's usual income account)
        "Hose": chart["Services"],
    }

    stack.services.accounts.map_item(COMPANY, "quickbooks", "i-00000", chart["Uncategorized Income"])
    listing = stack.services.accounts.mapping(COMPANY, "quickbooks")
    assert [i["out_of_date"] for i in listing["items"]] == [True, False, False]
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded" and run.counts == {"updated": 1, "unchanged": 2}
    assert income_refs(stack)["Gutter cleaning"] == chart["Uncategorized Income"]
    assert len(items_in_quickbooks(stack)) == 3


def test_a_run_parked_by_a_broken_connection_resumes_from_its_cursor_after_reconnect(
    stack: SimpleNamespace,
) -> None:
    count = 1290  # 43 batch requests: more than one (sandbox) minute's worth, so more than one step
    put_items(stack, [f"Part {i:05d}" for i in range(count)])
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    deliver_one(stack, seconds=RESERVE + 0.4)
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "running" and run.cursor
    done_before = sum(run.counts.values())
    assert 0 < done_before < count

    # The user revokes booksync's access in QuickBooks while the run is under way.
    stack.control.revoke_grant(stack.realm)
    stack.control.expire_tokens(stack.realm)
    deliver_one(stack, seconds=300)

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "parked" and run.finished_at is None
    assert run.cursor and sum(run.counts.values()) >= done_before
    assert run.errors[-1].code == "needs_reconnection"
    assert "continues by itself" in str(run.errors[-1].fix)
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None and connection.status == ConnectionStatus.NEEDS_RECONNECTION
    assert run_until_done(stack, seconds=300) == 0, "nothing burns retries while it is parked"

    connect_company(stack.services, stack.control, COMPANY, realm=stack.realm)  # Reconnect
    assert run_until_done(stack, seconds=300) >= 1

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert run.errors == []
    assert run.counts["created"] + run.counts.get("linked", 0) == count
    remote = links(DocumentKind.ITEM, count)
    assert None not in remote and len(set(remote)) == count
    assert len(items_in_quickbooks(stack)) == count, "nothing created twice across the break"
    assert [r.run_id for r in catalog_runs(COMPANY)] == [run_id], "resumed, not restarted"


class UnreachableQueue:
    def enqueue(self, job: CatalogJob) -> None:
        raise ConnectionError("SQS could not be reached")


def test_the_sweep_resumes_a_parked_run_that_the_reconnection_could_not_queue(
    stack: SimpleNamespace,
) -> None:
    put_items(stack, ["Gasket", "Washer", "Hose"])
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    stack.control.revoke_grant(stack.realm)
    stack.control.expire_tokens(stack.realm)
    deliver_one(stack, seconds=300)
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "parked"

    sweep = stack.scheduler.handler({"task": "sweep"}, Context())
    assert sweep["catalog_runs_resumed"] == 0, "still broken: the run stays parked"

    # The reconnection succeeds but its follow-up cannot reach the catalog queue.
    working = stack.services.catalog._queue
    stack.services.catalog._queue = UnreachableQueue()
    try:
        connect_company(stack.services, stack.control, COMPANY, realm=stack.realm)
    finally:
        stack.services.catalog._queue = working
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "parked", "the failed send left it parked"

    assert stack.scheduler.handler({"task": "sweep"}, Context())["catalog_runs_resumed"] == 1
    assert stack.scheduler.handler({"task": "sweep"}, Context())["catalog_runs_resumed"] == 0, "once"
    run_until_done(stack, seconds=300)

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert sorted(i["Name"] for i in items_in_quickbooks(stack)) == ["Gasket", "Hose", "Washer"]
    assert [r.run_id for r in catalog_runs(COMPANY)] == [run_id], "resumed, not restarted"


def test_a_first_connection_syncs_the_catalog_the_company_already_has(stack: SimpleNamespace) -> None:
    # The fixture's company connected with nothing in booksync: no catalog run was started.
    assert catalog_runs(COMPANY) == []
    docs = stack.services.documents
    docs.put_customer("newco", builders.customer("c-1"))
    docs.put_item("newco", builders.item("i-1", name="Gutter cleaning"))
    docs.put_item("newco", builders.item("i-2", name="Trip charge"))

    realm = connect_company(stack.services, stack.control, "newco")

    (run,) = catalog_runs("newco")
    assert run.trigger == "first_sync" and run.subject == "customers,items" and run.status == "queued"
    run_until_done(stack, seconds=300)
    run = RunRepository().get("newco", run.run_id)
    assert run is not None and run.status == "succeeded" and run.counts == {"created": 3}
    ledger = stack.control.ledger(realm)["entities"]
    assert sorted(i["Name"] for i in ledger["Item"]) == ["Gutter cleaning", "Trip charge"]
    assert [c["DisplayName"] for c in ledger["Customer"]] == ["Ada Lovelace"]

    # Reconnecting later is not a first connection: no second catalog run.
    connect_company(stack.services, stack.control, "newco", realm=realm)
    assert len(catalog_runs("newco")) == 1


class CatalogQueue:
    def __init__(self) -> None:
        self.jobs: list[CatalogJob] = []

    def enqueue(self, job: CatalogJob) -> None:
        self.jobs.append(job)


def test_the_first_sync_respects_the_auto_sync_toggles(tables: SimpleNamespace) -> None:
    queue = CatalogQueue()
    requests = CatalogRequests(
        runs=RunRepository(),
        connections=ConnectionRepository(),
        queue=queue,
        has_documents=lambda _company, kind: kind in ("customers", "items"),
    )
    row = ConnectionModel("co", "quickbooks", connection_id="c1", status="connected", account_id="r1")
    row.settings.auto_sync_items = False
    row.save()
    run_id = requests.first_sync("co", "quickbooks")
    assert run_id is not None
    assert [(j.kinds, j.trigger) for j in queue.jobs] == [(("customers",), "first_sync")]
    row.update(actions=[ConnectionModel.settings.auto_sync_customers.set(False)])
    assert requests.first_sync("co", "quickbooks") is None, "nothing wanted: no run"
    assert len(queue.jobs) == 1


def test_no_first_sync_while_several_accounting_systems_are_connected(
    tables: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """A second accounting system connected: the catalog is pushed to neither by itself (which
    keeps the books is not known); once one remains, its first sync goes."""
    request.addfinalizer(REGISTRY.declare(plain_books(name="memory").declaration()))
    queue = CatalogQueue()
    requests = CatalogRequests(
        runs=RunRepository(),
        connections=ConnectionRepository(),
        queue=queue,
        has_documents=lambda _c, _k: True,
    )
    ConnectionModel("co", "quickbooks", connection_id="c1", status="connected", account_id="r1").save()
    ConnectionModel("co", "memory", connection_id="c2", status="connected", account_id="m1").save()
    assert requests.first_sync("co", "memory") is None and queue.jobs == []
    ConnectionModel("co", "quickbooks", connection_id="c1", status="disconnected", account_id="r1").save()
    assert requests.first_sync("co", "memory") is not None and len(queue.jobs) == 1


def test_a_run_requested_while_the_connection_is_down_waits_for_the_reconnection(
    stack: SimpleNamespace,
) -> None:
    put_items(stack, ["Gasket", "Washer"])
    connections = ConnectionRepository()
    row = connections.get(COMPANY, "quickbooks")
    assert row is not None
    connections.mark_broken(
        row, status=ConnectionStatus.CONNECTION_DOWN, code="unauthorized", message="QuickBooks said 401."
    )
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "parked" and run.errors[-1].code == "connection_down"
    assert items_in_quickbooks(stack) == []

    connect_company(stack.services, stack.control, COMPANY, realm=stack.realm)
    run_until_done(stack, seconds=300)
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded" and run.counts == {"created": 2}
    assert run.errors == []
