"""Issue 10, items 1 and 2: a link is one-to-one, and a lookup links only what surely is ours.

The invoice engine over moto, first with the in-memory provider (which keeps names as QuickBooks
keeps them), then with the real adapter against the QuickBooks sandbox:
- a household (John and Jane Smith, one mailbox): Jane's invoice lands on a Jane customer;
- two items whose names collide once cleaned (500 characters cut to 100; "a:b" and "a-b") are
  two items in the books, each invoice line on its own item at its own price, and the second
  one's record says how it was renamed;
- "Strauß" and "Strauss" are two items;
- the link claim: two documents can never hold one remote object, even when workers race, and
  links stored before claims existed are claimed on their next sync (a shared one given up).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind, InvoiceLine
from booksync.providers.port import AccountingProvider, ItemRefs
from booksync.providers.quickbooks.names import ITEM_NAME_MAX
from booksync.store.claims import LinkClaims, LinkScope, legacy_claim_key
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import ConnectionModel, IntentModel, new_link
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync
from booksync.sync.jobs import SyncJob
from booksync.sync.records import DocumentService

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests import builders
from tests.fakes.provider import FakeProvider
from tests.integration.test_quickbooks_adapter_sandbox import (
    connect,
    oauth,  # noqa: F401 (fixture)
    sandbox,  # noqa: F401 (fixture)
)
from tests.threads import run_threads

COMPANY = "acme"
SMITHS = "smiths@example.com"
LONG = "Replacement cartridge, ceramic disc, 35 mm, for single-lever kitchen mixer taps " * 3


class Books:
    """What the books hold, read the same way from the fake and from the sandbox."""

    def __init__(self, provider: AccountingProvider, read: Callable[[str, str], dict[str, Any]]) -> None:
        self.provider = provider
        self.read = read

    def customer_name(self, remote_id: str) -> str:
        return str(self.read("customer", remote_id)["name"])

    def item(self, remote_id: str) -> dict[str, Any]:
        return self.read("item", remote_id)

    def invoice(self, remote_id: str) -> dict[str, Any]:
        return self.read("invoice", remote_id)


def fake_books() -> Books:
    fake = FakeProvider()

    def read(kind: str, remote_id: str) -> dict[str, Any]:
        data = fake.objects[kind][remote_id].data
        if kind == "invoice":
            return {
                "customer": data["customer"],
                "lines": [(item, price) for item, _, price in data["lines"]],
            }
        return data

    return Books(fake, read)


def sandbox_books(connected: Any) -> Books:
    client = connected.provider._client
    entity = {"customer": "Customer", "item": "Item", "invoice": "Invoice"}

    def read(kind: str, remote_id: str) -> dict[str, Any]:
        row = client.read(entity[kind], remote_id)
        if kind == "customer":
            return {"name": row["DisplayName"]}
        if kind == "item":
            return {"name": row["Name"], "price": Decimal(str(row.get("UnitPrice")))}
        lines = [
            (
                line["SalesItemLineDetail"]["ItemRef"]["value"],
                Decimal(str(line["SalesItemLineDetail"]["UnitPrice"])),
            )
            for line in row["Line"]
            if line.get("DetailType") == "SalesItemLineDetail"
        ]
        return {"customer": row["CustomerRef"]["value"], "lines": lines}

    return Books(connected.provider, read)


@pytest.fixture(params=["fake", "sandbox"])
def world(request: pytest.FixtureRequest, tables: SimpleNamespace) -> SimpleNamespace:
    ConnectionModel(
        COMPANY, "quickbooks", connection_id="c1", status="connected", account_id="realm-1"
    ).save()
    income = "1"
    if request.param == "fake":
        books = fake_books()
    else:
        server: QuickBooksSandbox = request.getfixturevalue("sandbox")
        with SandboxControl(server.url) as control:
            connected = connect(request.getfixturevalue("oauth"), control, server)
        books, income = sandbox_books(connected), connected.income_account_id
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(
        documents=docs, connections=conns, runs=runs, queue=SimpleNamespace(enqueue=list)
    )

    def engine() -> InvoiceSync:
        return builders.invoice_sync(
            docs, conns, runs, books.provider, income_account_for=lambda _c, _p: income
        )

    return SimpleNamespace(books=books, docs=docs, service=service, engine=engine, runs=runs, income=income)


def sync(world: SimpleNamespace, invoice_id: str) -> Any:
    report = world.engine().run(SyncJob(company_id=COMPANY, invoice_id=invoice_id, provider="quickbooks"))
    assert report.outcome == "synced", report.error
    return report


def link(world: SimpleNamespace, kind: DocumentKind, doc_id: str) -> Any:
    return world.docs.get(COMPANY, kind, doc_id).link("quickbooks")


def invoice_for(world: SimpleNamespace, invoice_id: str, customer_id: str, *items: tuple[str, str]) -> None:
    lines = [
        InvoiceLine(item_id=item_id, quantity=Decimal(1), unit_price=Decimal(price))
        for item_id, price in items
    ]
    world.service.put_invoice(
        COMPANY, builders.invoice(invoice_id, customer_id=customer_id, number=invoice_id.upper(), lines=lines)
    )


def john_then(world: SimpleNamespace, doc_id: str, name: str) -> tuple[Any, Any]:
    """John Smith's invoice synced, then one for ``name``, who shares his mailbox."""
    world.service.put_item(COMPANY, builders.item("i-1"))
    world.service.put_customer(COMPANY, builders.customer("c-john", display_name="John Smith", email=SMITHS))
    world.service.put_customer(COMPANY, builders.customer(doc_id, display_name=name, email=SMITHS))
    invoice_for(world, "inv-john", "c-john", ("i-1", "150.00"))
    invoice_for(world, f"inv-{doc_id}", doc_id, ("i-1", "150.00"))
    return sync(world, "inv-john"), sync(world, f"inv-{doc_id}")


def test_a_household_sharing_a_mailbox_is_two_customers(world: SimpleNamespace) -> None:
    john, jane = john_then(world, "c-jane", "Jane Smith")

    john_customer = world.books.invoice(john.remote_invoice_id)["customer"]
    jane_customer = world.books.invoice(jane.remote_invoice_id)["customer"]
    assert john_customer != jane_customer, "Jane's invoice was posted to John"
    assert world.books.customer_name(jane_customer) == "Jane Smith"
    assert world.books.customer_name(john_customer) == "John Smith"


def test_a_display_name_held_by_a_stranger_gets_a_name_of_its_own(world: SimpleNamespace) -> None:
    # The books already have a Jane Smith, but she is someone else (another mailbox).
    world.service.put_item(COMPANY, builders.item("i-1"))
    world.service.put_customer(
        COMPANY, builders.customer("c-other", display_name="Jane Smith", email="jane@elsewhere.com")
    )
    invoice_for(world, "inv-other", "c-other", ("i-1", "150.00"))
    other = sync(world, "inv-other")
    world.service.put_customer(COMPANY, builders.customer("c-jane", display_name="Jane Smith", email=SMITHS))
    invoice_for(world, "inv-jane", "c-jane", ("i-1", "150.00"))
    jane = sync(world, "inv-jane")

    customer = world.books.invoice(jane.remote_invoice_id)["customer"]
    assert customer != world.books.invoice(other.remote_invoice_id)["customer"]
    held = link(world, DocumentKind.CUSTOMER, "c-jane")
    assert world.books.customer_name(customer) == held.remote_name
    assert held.remote_name.startswith("Jane Smith (") and held.distinct_name
    assert "another record in QuickBooks already has the name" in held.note
    notes = world.runs.get(COMPANY, jane.run_id).notes
    assert [n.code for n in notes] == ["renamed"] and notes[0].document == "customer c-jane"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (LONG + "blue", LONG + "red"),  # the same first 100 characters
        ("Valve a:b", "Valve a-b"),  # ':' becomes '-'
        ("Strauß", "Strauss"),  # Intuit's LIKE fallback and a case fold made these one
    ],
    ids=["cut-to-100", "colon", "eszett"],
)
def test_items_whose_cleaned_names_collide_are_two_items(
    world: SimpleNamespace, first: str, second: str
) -> None:
    world.service.put_customer(COMPANY, builders.customer())
    world.service.put_item(COMPANY, builders.item("i-first", name=first, price="10.00"))
    world.service.put_item(COMPANY, builders.item("i-second", name=second, price="20.00"))
    invoice_for(world, "inv-1", "c-1", ("i-first", "10.00"))
    invoice_for(world, "inv-2", "c-1", ("i-second", "20.00"))
    one, two = sync(world, "inv-1"), sync(world, "inv-2")

    [(item_one, price_one)] = world.books.invoice(one.remote_invoice_id)["lines"]
    [(item_two, price_two)] = world.books.invoice(two.remote_invoice_id)["lines"]
    assert item_one != item_two, "two booksync items share one item in the books"
    assert (price_one, price_two) == (Decimal("10.00"), Decimal("20.00"))
    assert link(world, DocumentKind.ITEM, "i-first").remote_id == item_one
    assert link(world, DocumentKind.ITEM, "i-second").remote_id == item_two
    names = [world.books.item(item_one)["name"], world.books.item(item_two)["name"]]
    assert all(len(name) <= ITEM_NAME_MAX for name in names)
    assert names[0].lower() != names[1].lower()
    # Each renamed item's sync record says under which name the books hold it, and why.
    for doc_id, name in (("i-first", names[0]), ("i-second", names[1])):
        held = link(world, DocumentKind.ITEM, doc_id)
        own = first if doc_id == "i-first" else second
        assert held.remote_name == (None if name == own else name)
        assert (held.note is None) == (name == own)

    # An edit of the renamed one keeps its own name (and its object).
    world.service.put_item(COMPANY, builders.item("i-second", name=second, price="25.00"))
    invoice_for(world, "inv-2", "c-1", ("i-second", "25.00"))
    sync(world, "inv-2")
    assert link(world, DocumentKind.ITEM, "i-second").remote_id == item_two
    assert world.books.item(item_two)["name"] == names[1]


def test_an_item_the_books_already_hold_under_its_exact_name_is_linked_once(world: SimpleNamespace) -> None:
    world.service.put_customer(COMPANY, builders.customer())
    world.service.put_item(COMPANY, builders.item("i-1", name="Valve a-b"))
    invoice_for(world, "inv-1", "c-1", ("i-1", "150.00"))
    first = sync(world, "inv-1")
    # Another document, another name that QuickBooks would store the same: not linked to i-1's.
    world.service.put_item(COMPANY, builders.item("i-2", name="Valve a:b"))
    world.service.put_item(COMPANY, builders.item("i-3", name="valve A-B"))
    invoice_for(world, "inv-2", "c-1", ("i-2", "150.00"), ("i-3", "150.00"))
    second = sync(world, "inv-2")
    held = {link(world, DocumentKind.ITEM, i).remote_id for i in ("i-1", "i-2", "i-3")}
    assert len(held) == 3
    assert (
        world.books.invoice(first.remote_invoice_id)["lines"][0][0]
        == link(world, DocumentKind.ITEM, "i-1").remote_id
    )
    assert {line[0] for line in world.books.invoice(second.remote_invoice_id)["lines"]} == held - {
        link(world, DocumentKind.ITEM, "i-1").remote_id
    }


def test_a_link_claim_is_won_once_whoever_races(tables: SimpleNamespace) -> None:
    claims = LinkClaims()
    scope = LinkScope(COMPANY, "quickbooks", "realm-1")
    winners: list[str] = []
    start = threading.Barrier(8, timeout=30)

    def take(doc_id: str) -> None:
        start.wait()
        if claims.claim(scope, DocumentKind.ITEM, "77", doc_id, now=1.0):
            winners.append(doc_id)

    run_threads(*(functools.partial(take, f"i-{n}") for n in range(8)))
    assert len(winners) == 1
    assert claims.holder(scope, DocumentKind.ITEM, "77") == winners[0]
    assert claims.claim(scope, DocumentKind.ITEM, "77", winners[0], now=2.0)  # again: ours
    # Another kind, company, provider or provider account (QuickBooks realm) is another object.
    assert claims.claim(scope, DocumentKind.CUSTOMER, "77", "c-1", now=2.0)
    assert claims.claim(replace(scope, company_id="globex"), DocumentKind.ITEM, "77", "i-x", now=2.0)
    assert claims.claim(replace(scope, provider="xero"), DocumentKind.ITEM, "77", "i-x", now=2.0)
    assert claims.claim(replace(scope, account_id="realm-2"), DocumentKind.ITEM, "77", "i-x", now=2.0)


def test_a_claim_taken_before_accounts_were_in_its_key_still_holds_its_object(
    tables: SimpleNamespace,
) -> None:
    """A claim row of the earlier key (no provider account) keeps its object for its document."""
    scope = LinkScope(COMPANY, "quickbooks", "realm-1")
    key = legacy_claim_key(scope, DocumentKind.ITEM, "77")
    IntentModel(
        key, request_id=key, state="claimed", claimed_by="i-old", created_at=1.0, updated_at=1.0
    ).save()
    claims = LinkClaims()
    assert claims.holder(scope, DocumentKind.ITEM, "77") == "i-old"
    assert not claims.claim(scope, DocumentKind.ITEM, "77", "i-new", now=2.0)
    assert claims.claim(scope, DocumentKind.ITEM, "77", "i-old", now=2.0)


def test_the_same_remote_id_in_another_quickbooks_company_is_linked_there(tables: SimpleNamespace) -> None:
    """Remote ids are unique within one QuickBooks company (realm) only. A company that moves its
    connection to another realm finds there, under an id its first realm's customer also had, the
    customer its next document surely is: it is linked, not created again under a suffix."""
    ConnectionModel(
        COMPANY, "quickbooks", connection_id="c1", status="connected", account_id="realm-1"
    ).save()
    realms = {"realm-1": FakeProvider(), "realm-2": FakeProvider()}
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(
        documents=docs, connections=conns, runs=runs, queue=SimpleNamespace(enqueue=list)
    )
    engine = InvoiceSync(
        documents=docs,
        connections=conns,
        intents=IntentRepository(),
        runs=runs,
        provider_for=lambda connection: realms[str(connection.account_id)],
        income_account_for=lambda _c, _p: "1",
    )
    service.put_customer(COMPANY, builders.customer("c-1"))
    assert (
        engine.run(
            SyncJob(company_id=COMPANY, invoice_id="c-1", kind="customer", provider="quickbooks")
        ).outcome
        == "synced"
    )
    first = link_of(docs, "c-1")
    grace = realms["realm-2"]._create("customer", {"name": "Grace Hopper", "email": "grace@example.com"})
    assert grace.id == first.remote_id  # the same id, another company's customer

    conns.get(COMPANY, "quickbooks").update(actions=[ConnectionModel.account_id.set("realm-2")])
    service.put_customer(
        COMPANY, builders.customer("c-2", display_name="Grace Hopper", email="grace@example.com")
    )
    assert (
        engine.run(
            SyncJob(company_id=COMPANY, invoice_id="c-2", kind="customer", provider="quickbooks")
        ).outcome
        == "synced"
    )

    held = link_of(docs, "c-2")
    assert held.remote_id == grace.id and held.claimed and not held.distinct_name
    assert list(realms["realm-2"].objects["customer"]) == [grace.id], "nothing created in realm 2"


def link_of(docs: DocumentRepository, customer_id: str) -> Any:
    row = docs.get(COMPANY, DocumentKind.CUSTOMER, customer_id)
    assert row is not None
    return row.link("quickbooks")


def test_links_stored_before_claims_are_claimed_and_a_shared_one_is_given_up(world: SimpleNamespace) -> None:
    """Two items the old code had merged onto one object (no claims then): the first to sync
    claims it; the other lets go and gets an object of its own."""
    world.service.put_customer(COMPANY, builders.customer())
    world.service.put_item(COMPANY, builders.item("i-1", name="Valve a:b", price="10.00"))
    world.service.put_item(COMPANY, builders.item("i-2", name="Valve a-b", price="20.00"))
    first = world.docs.get(COMPANY, DocumentKind.ITEM, "i-1")
    shared = world.books.provider.create_item(
        world.docs.parse(first), ItemRefs(income_account_id=world.income), idempotency_key="legacy-i-1"
    )
    for doc_id in ("i-1", "i-2"):
        row = world.docs.get(COMPANY, DocumentKind.ITEM, doc_id)
        legacy = new_link(
            remote_id=shared.id, version=shared.version, pushed_hash=row.content_hash, outcome="synced"
        )
        world.docs.save_link(row, "quickbooks", legacy)
    invoice_for(world, "inv-1", "c-1", ("i-1", "10.00"))
    invoice_for(world, "inv-2", "c-1", ("i-2", "20.00"))
    one, two = sync(world, "inv-1"), sync(world, "inv-2")

    assert link(world, DocumentKind.ITEM, "i-1").remote_id == shared.id
    assert link(world, DocumentKind.ITEM, "i-1").claimed
    own = link(world, DocumentKind.ITEM, "i-2")
    assert own.remote_id != shared.id and own.claimed and own.distinct_name
    assert world.books.invoice(one.remote_invoice_id)["lines"] == [(shared.id, Decimal("10.00"))]
    assert world.books.invoice(two.remote_invoice_id)["lines"] == [(own.remote_id, Decimal("20.00"))]


def test_a_customer_found_by_a_claimed_customers_email_gets_its_own_under_its_own_name(
    world: SimpleNamespace,
) -> None:
    """John Smith Jr shares John Smith's mailbox: the lookup by e-mail finds John's customer,
    which John holds. That record is not Jr's, and Jr's own name is free: no suffix, no refusal."""
    john, jr = john_then(world, "c-jr", "John Smith Jr")

    jr_customer = world.books.invoice(jr.remote_invoice_id)["customer"]
    assert jr_customer != world.books.invoice(john.remote_invoice_id)["customer"]
    assert world.books.customer_name(jr_customer) == "John Smith Jr"
    held = link(world, DocumentKind.CUSTOMER, "c-jr")
    assert held.remote_id == jr_customer and held.claimed
    assert held.remote_name is None and not held.distinct_name and held.note is None
    assert not world.runs.get(COMPANY, jr.run_id).notes


def test_an_item_found_by_a_claimed_items_sku_gets_its_own_under_its_own_name(world: SimpleNamespace) -> None:
    """Two items with one SKU: the lookup falls back to the SKU and finds the first one's item,
    which it holds. The second's own name is free: it is created under it, no suffix."""
    world.service.put_customer(COMPANY, builders.customer())
    world.service.put_item(COMPANY, builders.item("i-1", name="Valve, brass", price="10.00", sku="V-1"))
    world.service.put_item(COMPANY, builders.item("i-2", name="Valve, chrome", price="20.00", sku="V-1"))
    invoice_for(world, "inv-1", "c-1", ("i-1", "10.00"))
    invoice_for(world, "inv-2", "c-1", ("i-2", "20.00"))
    one, two = sync(world, "inv-1"), sync(world, "inv-2")

    [(item_one, _)] = world.books.invoice(one.remote_invoice_id)["lines"]
    [(item_two, price_two)] = world.books.invoice(two.remote_invoice_id)["lines"]
    assert item_one != item_two and price_two == Decimal("20.00")
    assert world.books.item(item_two)["name"] == "Valve, chrome"
    held = link(world, DocumentKind.ITEM, "i-2")
    assert held.remote_id == item_two and held.remote_name is None and not held.distinct_name
