"""The conformance suite, continued: Sync Now of customers and items (the catalog,
``sync/catalog.py``) and the post-connection wizard's import (``onboarding/wizard.py``), for every
provider in ``PROVIDERS``, through each provider's parts as its declaration builds them.

Sync Now writes customers and items through the provider's batch writer where it declares batch
writes, else one record a request through its adapter (``providers/one_by_one.py``): either way
each is in the books once, however often the run's message comes and whatever answer is lost."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from booksync.documents import CustomerType, DocumentKind
from booksync.onboarding.wizard import CustomerChoice, ItemChoice, Wizard
from booksync.providers.port import ItemRefs
from booksync.store.catalog_runs import CatalogRunStore
from booksync.store.intents import IntentRepository
from booksync.store.models import SyncRunModel
from booksync.sync.catalog import CatalogReport, CatalogSync
from booksync.sync.catalog_jobs import CatalogJob, CatalogKind, CatalogRequests
from booksync.sync.engine import Outcome
from booksync.wiring import default_income_account

from tests import builders
from tests.conformance.conftest import World

LONG_ENOUGH = 300.0  # seconds an invocation has: nothing here runs out of time


class Messages:
    """The catalog queue: what was sent, delivered as many times as a test says."""

    def __init__(self) -> None:
        self.sent: list[CatalogJob] = []

    def enqueue(self, job: CatalogJob) -> None:
        self.sent.append(job)


def catalog(world: World, messages: Messages, owner: str | None = None) -> CatalogSync:
    """The catalog engine over the world's stores and the provider's catalog writer."""
    return CatalogSync(
        documents=world.docs,
        connections=world.connections,
        intents=IntentRepository(),
        runs=CatalogRunStore(),
        catalog_for=lambda _connection, pacing, deadline: world.books.catalog(pacing, deadline),
        income_account_for=lambda connection: default_income_account(connection, world.books.adapter),
        requeue=messages.enqueue,
        invoices=world.queue,
        limits_for=lambda _provider: world.books.limits,
        owner=owner,
    )


def requests(world: World, messages: Messages) -> CatalogRequests:
    return CatalogRequests(runs=world.runs, connections=world.connections, queue=messages)


def sync_now(world: World, kinds: Sequence[CatalogKind], messages: Messages) -> CatalogJob:
    """Sync Now pressed: the run's message."""
    requests(world, messages).request(world.company, world.books.provider, kinds)
    return messages.sent.pop()


def deliver(world: World, job: CatalogJob, owner: str | None = None) -> CatalogReport:
    return catalog(world, Messages(), owner).run(job, lambda: LONG_ENOUGH)


def run_row(world: World, job: CatalogJob) -> SyncRunModel:
    row = world.runs.get(world.company, job.run_id)
    assert row is not None
    return row


def invoices_delivered(world: World, times: int = 2) -> None:
    """Each queued invoice job delivered ``times`` times (duplicated deliveries)."""
    jobs, world.queue.jobs = list(world.queue.jobs), []
    for job in jobs:
        for attempt in range(times):
            report = world.engine(f"w{attempt}").run(job)
            assert report.outcome == Outcome.SYNCED, report.error


# ------------------------------------------------------------------------------------ the catalog


def test_sync_now_puts_each_customer_and_item_in_the_books_once_however_often_it_comes(world: World) -> None:
    """Sync Now's message delivered twice, its first write's answer lost (a batch's, or one
    item's where the provider has no batch writes), then Sync Now again (delivered twice): one
    object per customer and item, and the invoice's jobs (each delivered twice) write none again."""
    world.service.put_invoice(world.company, builders.invoice())
    world.queue.jobs.clear()
    world.books.lose_answer("item")
    job = sync_now(world, ("customers", "items", "invoices"), Messages())

    first = deliver(world, job, "w1")
    assert first.status == "succeeded", first.errors
    assert first.counts["linked"] >= 1  # what the lost answer had created was found, not re-created
    assert deliver(world, job, "w2").status == "skipped"  # the same message again
    invoices_delivered(world)
    assert world.books.counts("customer", "item", "invoice") == (1, 2, 1)

    again = sync_now(world, ("customers", "items"), Messages())
    for owner in ("w3", "w4"):
        deliver(world, again, owner)
    assert run_row(world, again).status == "succeeded"
    assert world.books.counts("customer", "item", "invoice") == (1, 2, 1)
    for kind, doc_id in (
        (DocumentKind.CUSTOMER, "c-1"),
        (DocumentKind.ITEM, "i-1"),
        (DocumentKind.ITEM, "i-2"),
    ):
        assert world.link(kind, doc_id).remote_id


@pytest.mark.parametrize("kind", ["customer", "item"])
def test_a_lost_answer_makes_one_object_where_the_books_accept_duplicate_names(
    lenient_world: World, kind: str
) -> None:
    """Books that accept two records under one name (FreshBooks, Wave) never refuse a second
    create: after a lost answer only the catalog's lookup finds what the first write made, so
    nothing is created twice."""
    world = lenient_world
    world.books.lose_answer(kind)
    job = sync_now(world, ("customers", "items"), Messages())

    report = deliver(world, job, "w1")
    assert report.status == "succeeded", report.errors
    assert deliver(world, job, "w2").status == "skipped"
    assert world.books.counts("customer", "item") == (1, 2)
    assert report.counts["linked"] == 1 and report.counts["created"] == 2, report.counts
    for doc_kind, doc_id in ((DocumentKind.CUSTOMER, "c-1"), (DocumentKind.ITEM, "i-1")):
        assert world.link(doc_kind, doc_id).remote_id


def test_an_item_edited_back_and_forth_reaches_the_books_each_time(world: World) -> None:
    """Issue 14: an item edited A->B->A->B, Sync Now after each edit: every edit is written, none
    found 'done' under an earlier edit's key, and the run never says another worker took over."""
    world.service.put_invoice(world.company, builders.invoice())
    deliver(world, sync_now(world, ("customers", "items"), Messages()))
    remote_id = world.link(DocumentKind.ITEM, "i-1").remote_id
    assert remote_id

    for price in ("11.00", "10.00", "11.00"):
        world.service.put_item(world.company, builders.item("i-1", price=price))
        job = sync_now(world, ("items",), Messages())
        report = deliver(world, job)
        assert report.status == "succeeded", report.errors
        assert report.counts["updated"] == 1, report.counts
        assert world.books.item_price(str(remote_id)) == Decimal(price)
        assert world.link(DocumentKind.ITEM, "i-1").remote_id == remote_id
    assert world.books.count("item") == 2


def test_invoices_alone_are_queued_by_sync_now_for_every_provider(world: World) -> None:
    """Sync Now of invoices builds no catalog writer: a provider without one queues its invoices."""
    world.service.put_invoice(world.company, builders.invoice())
    world.queue.jobs.clear()
    report = deliver(world, sync_now(world, ("invoices",), Messages()))
    assert report.status == "succeeded", report.errors
    assert report.counts == {"invoices_queued": 1}
    assert [j.invoice_id for j in world.queue.jobs] == ["inv-1"]


# ------------------------------------------------------------------------------------- the wizard


def wizard(world: World) -> Wizard:
    return Wizard(
        connections=world.connections, documents=world.docs, directory_for=lambda _c: world.books.directory()
    )


def test_the_wizard_imports_what_the_books_hold_once_with_its_income_account(world: World) -> None:
    """Customers and items typed into the books before booksync (seeded through the adapter, so
    every provider seeds alike) are listed, imported as booksync documents linked to them, items
    with the income account they have in the books; an import sent twice imports once, and an
    invoice for what was imported writes no customer or item again."""
    adapter = world.books.adapter
    income = world.income_account()
    grace = adapter.create_customer(
        builders.customer("c-x", display_name="Grace Hopper", email="grace@example.com"),
        idempotency_key="typed-in-grace",
    )
    pump = adapter.create_item(
        builders.item("i-x", name="Sump pump", price="420.00"),
        ItemRefs(income),
        idempotency_key="typed-in-pump",
    )
    steps = wizard(world)
    steps.open(world.company, world.books.provider)

    listed = steps.customers(world.company, world.books.provider, page=1, page_size=50)
    [row] = [r for r in listed["customers"] if r["remote_id"] == grace.id]
    assert row["status"] == "New" and row["preselected"]
    choices = [CustomerChoice(remote_id=grace.id, type=CustomerType.BUSINESS)]
    first = steps.import_customers(world.company, world.books.provider, choices)
    assert [a["remote_id"] for a in first["added"]] == [grace.id]
    again = steps.import_customers(world.company, world.books.provider, choices)
    assert again["added"] == [] and [a["remote_id"] for a in again["already"]] == [grace.id]
    grace_doc = first["added"][0]["customer_id"]
    assert world.link(DocumentKind.CUSTOMER, grace_doc).remote_id == grace.id

    items = steps.items(world.company, world.books.provider, page=1, page_size=50)
    assert [r["status"] for r in items["items"] if r["remote_id"] == pump.id] == ["New"]
    first_items = steps.import_items(world.company, world.books.provider, [ItemChoice(remote_id=pump.id)])
    assert [(a["remote_id"], a["income_account_id"]) for a in first_items["added"]] == [(pump.id, income)]
    again_items = steps.import_items(world.company, world.books.provider, [ItemChoice(remote_id=pump.id)])
    assert again_items["added"] == [] and [a["remote_id"] for a in again_items["already"]] == [pump.id]
    pump_doc = first_items["added"][0]["item_id"]
    assert world.link(DocumentKind.ITEM, pump_doc).remote_id == pump.id

    world.service.put_invoice(
        world.company,
        builders.invoice(
            "inv-9",
            customer_id=grace_doc,
            lines=[{"item_id": pump_doc, "quantity": "1", "unit_price": "420.00"}],
        ),
    )
    assert world.sync("inv-9").outcome == Outcome.SYNCED
    assert world.books.counts("customer", "item", "invoice") == (1, 1, 1)


def test_sync_now_gives_an_item_named_as_another_a_name_of_its_own(lenient_world: World) -> None:
    """Books that keep two records under one name (FreshBooks, Wave): Sync Now of an item under
    another item's very name, its create's answer lost, makes one record of its own, found again
    by its own name (not the namesake's, which another document holds)."""
    world = lenient_world
    deliver(world, sync_now(world, ("customers", "items"), Messages()))
    world.service.put_item(world.company, builders.item("i-3", name="Drain cleaning", price="90.00"))
    world.books.lose_answer("item")
    report = deliver(world, sync_now(world, ("items",), Messages()))
    assert report.status == "succeeded", report.errors
    assert world.books.count("item") == 3, "the namesake's item was created twice"
    held = {world.link(DocumentKind.ITEM, doc_id).remote_id for doc_id in ("i-1", "i-3")}
    assert len(held) == 2 and world.link(DocumentKind.ITEM, "i-3").distinct_name
