"""The real SyncCatalogFunction handler, with real SQS events, against moto server and the sandbox.

The sandbox runs on a compressed clock (clock_scale) and the job's limiter on the same scale, so
Intuit's minute windows pass in a second while every ratio between them holds.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.settings import ApiSettings
from booksync.store.documents import DocumentRepository
from booksync.store.models import new_link
from booksync.store.runs import RunRepository
from booksync.wiring import api_services

from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests import builders
from tests.lambda_env import Context, connect_company, environment, idempotency_table, receive_sqs_event

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "ABtestclient0001", "s3cr3t-for-tests"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"
SCALE = 60.0  # one sandbox minute per real second
RESERVE = 20.0  # SyncCatalogFunction stops this many seconds before its deadline


@pytest.fixture
def sandbox() -> Iterator[QuickBooksSandbox]:
    config = SandboxConfig(
        clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])},
        clock_scale=SCALE,
        latency_ms=500,
        # Hours of sandbox time pass during a test: tokens must outlive it.
        access_token_lifetime_s=10**7,
    )
    with QuickBooksSandbox(config=config) as sb:
        yield sb


def _import(module: str, env: dict[str, str]) -> ModuleType:
    os.environ.update(env)
    sys.modules.pop(module, None)
    return importlib.import_module(module)


@pytest.fixture
def stack(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, sandbox: QuickBooksSandbox
) -> Iterator[SimpleNamespace]:
    catalog_queue = boto3.client("sqs").create_queue(QueueName=f"catalog-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    env = environment(
        tables,
        queue_url=sqs_queue,
        key_id=kms_key,
        qbo_url=sandbox.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        idempotency_table=idempotency_table(),
    ) | {"SYNC_CATALOG_QUEUE_URL": catalog_queue}
    saved = {k: os.environ.get(k) for k in env}
    try:
        handler: Any = _import("functions.sync_catalog.handler", env)
        # The limiter's minute runs on the sandbox's scale (what `make bench` does too).
        from booksync.wiring import sync_catalog

        handler.engine.cache_clear()
        built = sync_catalog(handler.SETTINGS, window_scale=SCALE)
        handler.engine = lambda: built
        services = api_services(ApiSettings.from_env(env))
        control = SandboxControl(sandbox.url)
        realm = connect_company(services, control, COMPANY)
        yield SimpleNamespace(
            handler=handler,
            scheduler=_import("functions.scheduler.handler", env),
            services=services,
            control=control,
            realm=realm,
            queue=catalog_queue,
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def put_items(stack: SimpleNamespace, names: list[str]) -> None:
    for index, name in enumerate(names):
        stack.services.documents.put_item(COMPANY, builders.item(f"i-{index:05d}", name=name, price="10.00"))


def run_until_done(stack: SimpleNamespace, *, seconds: float, max_invocations: int = 60) -> int:
    """Deliver catalog messages to the handler until the queue is empty; the invocation count."""
    invocations = 0
    while invocations < max_invocations:
        event = receive_sqs_event(stack.queue, max_messages=1)
        if not event["Records"]:
            return invocations
        invocations += 1
        answer = stack.handler.handler(event, Context(seconds=seconds))
        assert answer == {"batchItemFailures": []}
        sqs = boto3.client("sqs")
        for record in event["Records"]:
            sqs.delete_message(QueueUrl=stack.queue, ReceiptHandle=record["receiptHandle"])
    raise AssertionError("the catalog job did not finish")


def items_in_quickbooks(stack: SimpleNamespace) -> list[dict[str, Any]]:
    ledger = stack.control.ledger(stack.realm)
    items: list[dict[str, Any]] = ledger["entities"].get("Item", [])
    return items


def links(kind: DocumentKind, count: int) -> list[str | None]:
    rows = DocumentRepository().get_many(COMPANY, kind, [f"i-{i:05d}" for i in range(count)])
    return [
        (row.link_quickbooks.remote_id if row.link_quickbooks else None)
        for row in (rows[f"i-{i:05d}"] for i in range(count))
    ]


def _batch_times(entries: list[dict[str, Any]]) -> list[float]:
    return sorted(datetime.fromisoformat(e["time"]).timestamp() for e in entries if e["operation"] == "batch")


def test_a_catalog_bigger_than_one_invocation_completes_across_several(stack: SimpleNamespace) -> None:
    count = 1290  # 43 batch requests: more than Intuit's 40 per minute
    stack.control.seed(
        stack.realm,
        {"Item": [{"Name": "Item 00007", "Type": "Service", "IncomeAccountRef": {"value": "9"}}]},
    )
    put_items(stack, [f"Item {i:05d}" for i in range(count)])
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])

    invocations = run_until_done(stack, seconds=RESERVE + 0.4)

    assert invocations >= 2
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert run.counts == {"created": count - 1, "linked": 1}
    remote = links(DocumentKind.ITEM, count)
    assert None not in remote and len(set(remote)) == count  # every item linked, none shared
    assert len(items_in_quickbooks(stack)) == count  # one per item: nothing created twice
    log = stack.control.requests(stack.realm)
    assert not [e for e in log if e["status"] == 429]
    # Intuit's 40 batch requests per (sandbox) minute, checked in every sliding window.
    times = _batch_times(log)
    window = 60.0 / SCALE
    assert max(sum(1 for t in times if start <= t < start + window) for start in times) <= 40


def test_nothing_in_flight_beyond_ten(stack: SimpleNamespace) -> None:
    put_items(stack, [f"Thing {i:04d}" for i in range(600)])
    stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)
    log = stack.control.requests(stack.realm)
    spans = [
        (datetime.fromisoformat(e["time"]).timestamp(), e["duration_ms"] / 1000)
        for e in log
        if e["operation"] in ("batch", "query")
    ]
    assert len([e for e in log if e["operation"] == "batch"]) == 20
    assert not [e for e in log if e["status"] == 429]
    # Intervals from the sandbox's own clock (millisecond stamps): a little slack for rounding.
    overlap = max(sum(1 for s, d in spans if s <= t < s + d - 0.002) for t, _ in spans)
    assert overlap <= 10


def test_items_whose_cleaned_names_collide_are_never_one_item(stack: SimpleNamespace) -> None:
    """Issue 10.2 through the Batch API: the app's items whose names clean to one QuickBooks
    name (a tab dropped, ':' made '-', 500 characters cut to 100) and "Strauß" beside the books'
    "Strauss" are each their own item; the 6240 of the second create in a batch gets it a name
    of its own, said in the run's notes and in its sync record."""
    stack.control.seed(
        stack.realm, {"Item": [{"Name": "Strauss", "Type": "Service", "IncomeAccountRef": {"value": "9"}}]}
    )
    long = "Replacement cartridge, ceramic disc, 35 mm, for single-lever kitchen mixer taps " * 6
    names = [
        "Pipe\twrench",
        "Pipewrench",
        "Valve a:b",
        "Valve a-b",
        long + "blue",
        long + "red",
        "Strauß",
        "Hose",
    ]
    put_items(stack, names)
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)

    remote = links(DocumentKind.ITEM, len(names))
    assert None not in remote and len(set(remote)) == len(names), "two documents share one item"
    stored = {i["Id"]: i["Name"] for i in items_in_quickbooks(stack)}
    assert len(stored) == len(names) + 1  # each of ours, and the books' own Strauss untouched
    assert "Strauss" not in {stored[r] for r in remote if r}
    assert all(len(name) <= 100 for name in stored.values())
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert run.counts == {"created": len(names), "renamed": 3}
    renamed = sorted(n.document for n in run.notes or [])
    assert len(renamed) == 3 and all(n.code == "renamed" for n in run.notes or [])
    for note in run.notes or []:
        row = DocumentRepository().get(COMPANY, DocumentKind.ITEM, note.document.split()[-1])
        link = row.link_quickbooks
        assert link.distinct_name and stored[link.remote_id] == link.remote_name
        assert link.note == note.message and "suffix of its own" in note.message


def test_links_stored_before_claims_are_claimed_and_a_shared_one_is_given_up(stack: SimpleNamespace) -> None:
    """Two items the old code had merged onto one object (no claims then): the catalog claims it
    for the first and gives the second an object of its own."""
    stack.control.seed(
        stack.realm, {"Item": [{"Name": "Valve a-b", "Type": "Service", "IncomeAccountRef": {"value": "9"}}]}
    )
    shared = items_in_quickbooks(stack)[0]["Id"]
    put_items(stack, ["Valve a-b", "Valve a:b"])
    docs = DocumentRepository()
    for index in range(2):
        row = docs.get(COMPANY, DocumentKind.ITEM, f"i-{index:05d}")
        docs.save_link(
            row, "quickbooks", new_link(remote_id=shared, pushed_hash=row.content_hash, outcome="synced")
        )
    stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)

    first, second = links(DocumentKind.ITEM, 2)
    assert first == shared and second is not None and second != shared
    assert len(items_in_quickbooks(stack)) == 2


SMITHS = {"Address": "smiths@example.com"}


def books_hold_john_smith(stack: SimpleNamespace) -> None:
    stack.control.seed(stack.realm, {"Customer": [{"DisplayName": "John Smith", "PrimaryEmailAddr": SMITHS}]})


def put_smith(stack: SimpleNamespace, doc_id: str, name: str) -> None:
    stack.services.documents.put_customer(
        COMPANY, builders.customer(doc_id, display_name=name, email=SMITHS["Address"])
    )


def customers_synced(stack: SimpleNamespace, run_id: str, doc_ids: list[str]) -> tuple[Any, dict[str, str]]:
    """Runs the catalog out; the (succeeded) run's counts and each document's name in the books."""
    run_until_done(stack, seconds=300)
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    customers = {c["Id"]: c["DisplayName"] for c in stack.control.ledger(stack.realm)["entities"]["Customer"]}
    rows = DocumentRepository().get_many(COMPANY, DocumentKind.CUSTOMER, doc_ids)
    return run.counts, {doc_id: customers[rows[doc_id].link_quickbooks.remote_id] for doc_id in doc_ids}


def test_a_household_sharing_a_mailbox_is_two_customers(stack: SimpleNamespace) -> None:
    """Issue 10.1 through the Batch API: the books' John Smith shares Jane's mailbox; Jane gets
    her own customer, John (the same name and mailbox) is linked to the books' John."""
    books_hold_john_smith(stack)
    put_smith(stack, "c-jane", "Jane Smith")
    put_smith(stack, "c-john", "John Smith")
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["customers"])
    counts, names = customers_synced(stack, run_id, ["c-jane", "c-john"])

    assert counts == {"linked": 1, "created": 1}
    assert names["c-jane"] == "Jane Smith"
    assert names["c-john"] == "John Smith"


def test_a_customer_found_by_a_linked_customers_email_gets_its_own_under_its_own_name(
    stack: SimpleNamespace,
) -> None:
    """John Smith Jr shares the mailbox of John Smith, whom the books hold and John's document
    is linked to: the lookup by e-mail finds John's record, which is not Jr's. Jr's own name is
    free: Jr is created under it (no suffix, no refusal)."""
    books_hold_john_smith(stack)
    put_smith(stack, "c-john", "John Smith")
    customers_synced(stack, stack.services.catalog.request(COMPANY, "quickbooks", ["customers"]), ["c-john"])
    put_smith(stack, "c-jr", "John Smith Jr")
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["customers"])
    counts, names = customers_synced(stack, run_id, ["c-john", "c-jr"])

    assert counts == {"unchanged": 1, "created": 1}
    assert names == {"c-john": "John Smith", "c-jr": "John Smith Jr"}
    jr = DocumentRepository().get(COMPANY, DocumentKind.CUSTOMER, "c-jr").link_quickbooks
    assert not jr.distinct_name and jr.remote_name is None


def test_a_lost_batch_answer_never_duplicates(stack: SimpleNamespace) -> None:
    stack.control.add_fault("commit_then_reset", operation="batch", times=1)
    put_items(stack, [f"Valve {i}" for i in range(45)])
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)

    assert len(items_in_quickbooks(stack)) == 45
    remote = links(DocumentKind.ITEM, 45)
    assert None not in remote and len(set(remote)) == 45
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded"
    assert run.counts["created"] + run.counts["linked"] == 45
    assert run.counts["linked"] >= 1  # what the lost answer had created was found, not re-created
    lost = [e for e in stack.control.requests(stack.realm) if e["injected"] == "commit_then_reset"]
    assert len(lost) == 1


def test_customers_are_linked_by_email_and_invoices_queued(stack: SimpleNamespace, sqs_queue: str) -> None:
    stack.control.seed(
        stack.realm,
        {"Customer": [{"DisplayName": "LOVELACE, Ada", "PrimaryEmailAddr": {"Address": "ada@example.com"}}]},
    )
    docs = stack.services.documents
    docs.put_customer(COMPANY, builders.customer("c-1"))
    docs.put_customer(
        COMPANY, builders.customer("c-2", display_name="Grace Hopper", email="grace@example.com")
    )
    docs.put_item(COMPANY, builders.item("i-1"))
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["customers", "items", "invoices"])
    run_until_done(stack, seconds=300)

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded"
    assert run.counts == {"linked": 1, "created": 2, "invoices_queued": 0}
    customers = stack.control.ledger(stack.realm)["entities"]["Customer"]
    assert sorted(c["DisplayName"] for c in customers) == ["Grace Hopper", "LOVELACE, Ada"]


def test_an_item_edited_on_both_sides_is_updated_with_the_current_sync_token(stack: SimpleNamespace) -> None:
    put_items(stack, ["Gasket", "Washer"])
    stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)
    first, _ = links(DocumentKind.ITEM, 2)
    assert first is not None
    # Someone edits it in QuickBooks (its SyncToken moves), and the app edits its price.
    stack.control.edit_entity(stack.realm, "Item", first, {"Description": "edited in QuickBooks"})
    stack.services.documents.put_item(COMPANY, builders.item("i-00000", name="Gasket", price="11.00"))

    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert run.counts == {"updated": 1, "unchanged": 1}
    gasket = next(i for i in items_in_quickbooks(stack) if i["Id"] == first)
    assert gasket["UnitPrice"] == 11.0
    assert len(items_in_quickbooks(stack)) == 2


def test_an_item_edited_back_and_forth_is_updated_by_every_sync_now(stack: SimpleNamespace) -> None:
    """Issue 14: an item edited A->B->A->B with Sync Now each time. Keyed without the version or a
    push count, the second B's batch found the first B's intent done, and the run ended failed
    ('another worker took over') until the intent expired: each push has a key of its own."""
    put_items(stack, ["Gasket"])
    stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    run_until_done(stack, seconds=300)
    [remote_id] = links(DocumentKind.ITEM, 1)
    for price in ("11.00", "10.00", "11.00"):
        stack.services.documents.put_item(COMPANY, builders.item("i-00000", name="Gasket", price=price))
        run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
        run_until_done(stack, seconds=300)
        run = RunRepository().get(COMPANY, run_id)
        assert run is not None and run.status == "succeeded", run.errors if run else None
        assert run.counts == {"updated": 1}
        [gasket] = items_in_quickbooks(stack)
        assert gasket["Id"] == remote_id and gasket["UnitPrice"] == float(price)


# ---------------------------------------------------------------- long runs: the step chain (issue 13)


def rebuild_engine(stack: SimpleNamespace, **options: Any) -> None:
    """The handler's engine built with these ``sync_catalog`` options."""
    from booksync.wiring import sync_catalog

    built = sync_catalog(stack.handler.SETTINGS, window_scale=SCALE, **options)
    stack.handler.engine = lambda: built


def put_many_items(count: int) -> None:
    """``count`` items straight into the table (the API's checks are not what this tests)."""
    from booksync.store.documents import DocumentRepository as Repository

    repository = Repository()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: repository.put(
                    COMPANY,
                    DocumentKind.ITEM,
                    builders.item(f"i-{i:05d}", name=f"Part {i:05d}", price="10.00"),
                    now=time.time(),
                    pending=False,
                ),
                range(count),
            )
        )


# Each invocation has a Lambda's 300 s, so whatever is in flight has time to land, but stops
# taking pages (of 100 documents) a second after it starts: a page or a few per step, so the
# chain is long whatever the machine's speed.
LONG_CHAIN = {"reserve_seconds": 300 - 1.0, "page_size": 100}
# BOOKSYNC_LONG_CATALOG_ITEMS: the size of the long-chain proof (10,000 by default; it takes
# minutes against moto server, hence the `long` marker).
LONG_CATALOG_ITEMS = int(os.environ.get("BOOKSYNC_LONG_CATALOG_ITEMS", "10000"))


@pytest.mark.long
def test_a_10000_item_catalog_completes_over_many_steps_under_the_cap(stack: SimpleNamespace) -> None:
    """Lambda's recursive loop detection stops a function that re-queues itself after about 16
    hops (template.yaml allows SyncCatalogFunction's recursion): the run's own step cap bounds
    the chain instead. With a few pages of 100 per step, 10,000 items take more than 16 steps
    (at most 6 pages a second would be needed to stay under); the run finishes below the cap,
    with every item created once."""
    from booksync.sync.catalog import MAX_STEPS

    rebuild_engine(stack, **LONG_CHAIN)
    count = LONG_CATALOG_ITEMS
    put_many_items(count)
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])

    hops = run_until_done(stack, seconds=300, max_invocations=MAX_STEPS)

    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert run.counts == {"created": count}
    assert hops < MAX_STEPS
    if count >= 10_000:
        assert hops > 16, hops
    assert int(run.step) == hops - 1  # the row keeps the step the chain is at
    assert len(items_in_quickbooks(stack)) == count  # nothing created twice across the hops
    assert not [e for e in stack.control.requests(stack.realm) if e["status"] == 429]


def test_a_run_past_its_step_cap_stops_and_says_so_in_history(stack: SimpleNamespace) -> None:
    rebuild_engine(stack, max_steps=2, **LONG_CHAIN)
    put_many_items(700)
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])

    hops = run_until_done(stack, seconds=300)

    assert hops == 2  # no third message was queued
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "failed"
    (error,) = [e for e in run.errors or [] if e.code == "step_cap_reached"]
    assert "stopped after 2 steps" in str(error.message)
    assert "Start the sync again" in str(error.fix)
    synced = sum(1 for link in links(DocumentKind.ITEM, 700) if link)
    assert 100 <= synced < 700 and run.counts["created"] == synced  # what it synced is kept
