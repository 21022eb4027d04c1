"""Sync Now for Xero through its arrays (``providers/xero/bulk.py``), with booksync's own stores
(moto) and the catalog walk (``sync/catalog.py``), against the Xero sandbox.

Contacts and items go up to 50 to a request with ``summarizeErrors=false``; an element Xero
refuses is that record's answer and the rest of its array is saved; an array whose outcome is
uncertain is looked up (ContactNumber, Code) before anything is sent again; a run bigger than one
invocation continues from its cursor with its counts; and the organisation's shared limiter
holds every request to Xero's 60 a minute and 5 in flight."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.providers.bulk import CatalogProvider, Gate
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.xero import mapping
from booksync.providers.xero.adapter import XeroProvider
from booksync.providers.xero.bulk import XeroCatalog
from booksync.providers.xero.client import XeroClient
from booksync.providers.xero.declaration import DECLARATION
from booksync.store.catalog_runs import CatalogRunStore
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import SyncRunModel
from booksync.store.rate_limits import DynamoRateLimiter
from booksync.store.runs import RunRepository
from booksync.sync.catalog import CatalogReport, CatalogSync
from booksync.sync.catalog_jobs import CatalogJob, CatalogKind, CatalogRequests
from booksync.wiring import connection_gate, default_income_account

from local.sandboxes.kit.oauth import ClientApp
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import XeroClient as RawXero
from local.sandboxes.xero.testing import XeroControl
from tests import builders
from tests.integration.test_invoice_sync_engine import ListQueue
from tests.xero_connection import CLIENT_ID, CLIENT_SECRET, PROVIDER, REDIRECT, connect_xero

LONG_ENOUGH = 300.0
assert DECLARATION.limits is not None  # XERO_DAY_LIMIT unset: 5,000 a day
LIMITS = DECLARATION.limits


class StaticTokens:
    """The organisation's access token (the sandbox's lasts longer than any test)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        raise AssertionError("the sandbox's token outlives the test")


class Messages:
    def __init__(self) -> None:
        self.sent: list[CatalogJob] = []

    def enqueue(self, job: CatalogJob) -> None:
        self.sent.append(job)


@dataclass
class Books:
    """A company connected to one Xero organisation of the sandbox, and its stores."""

    sandbox: XeroSandbox
    control: XeroControl
    tenant: str
    token: str
    company: str
    scale: float
    docs: DocumentRepository = field(default_factory=DocumentRepository)
    connections: ConnectionRepository = field(default_factory=ConnectionRepository)
    runs: RunRepository = field(default_factory=RunRepository)
    queued: Messages = field(default_factory=Messages)

    def client(self, *, shared: bool = True) -> XeroClient:
        """booksync's Xero client for the organisation, behind the shared limiter's gate; its
        reads time out after a second (a held request is a lost answer quickly)."""
        connection = self.connections.get(self.company, PROVIDER)
        assert connection is not None
        gate = connection_gate(connection, DynamoRateLimiter(), LIMITS.scaled(self.scale)) if shared else None
        http = HttpClient(
            provider=PROVIDER,
            label="Xero",
            settings=HttpSettings(read_timeout=1.0, backoff_base=0.01, backoff_cap=0.05),
        )
        return XeroClient(
            tenant_id=self.tenant,
            tokens=StaticTokens(self.token),
            api_base_url=f"{self.sandbox.url}/api.xro/2.0",
            http=http,
            gate=gate,
        )

    def engine(
        self,
        *,
        catalog: Callable[[Gate, Callable[[], float | None]], CatalogProvider] | None = None,
        page_size: int = 300,
        reserve_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> CatalogSync:
        build = catalog or (lambda pacing, deadline: XeroCatalog(self.client(), pacing, deadline=deadline))
        return CatalogSync(
            documents=self.docs,
            connections=self.connections,
            intents=IntentRepository(),
            runs=CatalogRunStore(),
            catalog_for=lambda _connection, pacing, deadline: build(pacing, deadline),
            income_account_for=lambda connection: default_income_account(
                connection, XeroProvider(self.client())
            ),
            requeue=self.queued.enqueue,
            invoices=ListQueue(),
            limits_for=lambda _provider: LIMITS.scaled(self.scale),
            page_size=page_size,
            reserve_seconds=reserve_seconds,
            clock=clock,
        )

    def sync_now(self, kinds: tuple[CatalogKind, ...] = ("customers", "items")) -> CatalogJob:
        messages = Messages()
        CatalogRequests(runs=self.runs, connections=self.connections, queue=messages).request(
            self.company, PROVIDER, kinds
        )
        return messages.sent.pop()

    def run(self, job: CatalogJob, **options: Any) -> CatalogReport:
        return self.engine(**options).run(job, lambda: LONG_ENOUGH)

    def row(self, job: CatalogJob) -> SyncRunModel:
        row = self.runs.get(self.company, job.run_id)
        assert row is not None
        return row

    def ledger(self, kind: str) -> list[dict[str, Any]]:
        return self.control.ledger(self.tenant)[kind]

    def requests(self, method: str, collection: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.control.requests(self.tenant)
            if e["method"] == method and e["path"].rstrip("/").endswith(f"/{collection}")
        ]

    def raw(self) -> RawXero:
        """Xero as a person (or another app) writes to it: no booksync code."""
        return RawXero(self.sandbox.url, self.token, self.tenant)

    def put_customers(self, *customers: tuple[str, str, str | None]) -> None:
        self.put_documents(
            DocumentKind.CUSTOMER,
            [builders.customer(doc_id, display_name=name, email=email) for doc_id, name, email in customers],
        )

    def put_items(self, count: int) -> None:
        self.put_documents(
            DocumentKind.ITEM,
            [builders.item(f"i-{i:05d}", name=f"Part {i:05d}", price="12.50") for i in range(count)],
        )

    def put_documents(self, kind: DocumentKind, documents: list[Any]) -> None:
        """Straight into the table, as the API stores them (its checks are not what this tests)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda d: self.docs.put(self.company, kind, d, now=time.time(), pending=False), documents
                )
            )

    def link(self, kind: DocumentKind, doc_id: str) -> Any:
        row = self.docs.get(self.company, kind, doc_id)
        assert row is not None
        return row.link(PROVIDER)


def open_books(request: pytest.FixtureRequest, kms_key: str, scale: float) -> Books:
    config = XeroConfig(
        clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])},
        clock_scale=scale,
        access_token_lifetime_s=10**7,  # hours of sandbox time may pass: the token outlives them
    )
    sandbox = XeroSandbox(config=config, organisations=("Bulk Ltd",))
    sandbox.start()
    request.addfinalizer(sandbox.stop)
    control = XeroControl(sandbox.url)
    company = f"xb-{uuid.uuid4().hex[:10]}"
    connected = connect_xero(control, company, kms_key)
    return Books(sandbox, control, connected.tenant, connected.token, company, scale)


@pytest.fixture
def books(request: pytest.FixtureRequest, tables: SimpleNamespace, kms_key: str) -> Books:
    return open_books(request, kms_key, scale=1.0)


# ------------------------------------------------------------------------------------ arrays


def test_customers_and_items_go_fifty_to_a_request_each_element_answering_for_itself(books: Books) -> None:
    books.put_customers(("c-1", "Ada Lovelace", "ada@example.com"), ("c-2", "Bob Stone", None))
    books.put_items(120)
    books.control.clear_requests()

    report = books.run(books.sync_now())

    assert report.status == "succeeded", report.errors
    assert report.counts["created"] == 122
    contacts = books.ledger("contacts")
    assert sorted(c["ContactNumber"] for c in contacts) == ["c-1", "c-2"]
    items = books.ledger("items")
    assert len(items) == 120 and len({i["Code"] for i in items}) == 120
    puts = books.requests("PUT", "Items")
    assert len(puts) == 3  # 50 + 50 + 20
    assert len(books.requests("PUT", "Contacts")) == 1
    assert all(e["summarizeErrors"] == "false" for e in puts)
    # The lookups before creating: one listing of each collection, not a query per document.
    assert len(books.requests("GET", "Items")) == 1
    assert len(books.requests("GET", "Contacts")) == 1
    assert books.link(DocumentKind.ITEM, "i-00119").remote_id in {i["ItemID"] for i in items}
    assert books.link(DocumentKind.CUSTOMER, "c-1").remote_id in {c["ContactID"] for c in contacts}


def test_a_refused_element_is_reported_on_its_record_and_the_rest_of_its_array_is_saved(books: Books) -> None:
    """Acme Ltd's name is held by a contact that is not ours, and so is the name of its own it
    would get: that one customer is refused, saying why, and the others of its array are saved.
    Dora's name was taken after the catalog read the contacts (another worker, a person): its
    create is refused as a duplicate, looked up afresh and linked, as the adapter links one."""
    xero = books.raw()
    acme = builders.customer("c-2", display_name="Acme Ltd", email="orders@acme.test")
    own = mapping.contact_name(mapping.distinct(acme))  # type: ignore[arg-type]
    for name in ("Acme Ltd", own):
        xero.request("PUT", "/Contacts", json={"Contacts": [{"Name": name, "EmailAddress": "x@other.test"}]})
    books.put_customers(
        ("c-1", "Ada Lovelace", "ada@example.com"),
        ("c-2", "Acme Ltd", "orders@acme.test"),
        ("c-3", "Bob Stone", None),
        ("c-4", "Dora Marsh", "dora@example.com"),
    )
    job = books.sync_now(("customers",))
    catalog: list[XeroCatalog] = []

    def read_then_dora_appears(pacing: Gate, deadline: Callable[[], float | None]) -> CatalogProvider:
        made = XeroCatalog(books.client(), pacing, deadline=deadline)
        made.find_customers([builders.customer("c-0", display_name="Nobody")])  # reads the listing
        xero.request(
            "PUT",
            "/Contacts",
            json={"Contacts": [{"Name": "Dora Marsh", "EmailAddress": "dora@example.com"}]},
        )
        catalog.append(made)
        return made

    report = books.run(job, catalog=read_then_dora_appears)

    assert report.status == "failed"
    assert [e["document"] for e in report.errors] == ["customer c-2"]
    assert f"holds the name {own!r}" in str(report.errors[0]["message"])
    assert "could not give this customer a name of its own" in str(report.errors[0]["message"])
    assert report.counts["created"] == 2 and report.counts["linked"] == 1, report.counts
    names = sorted(c["Name"] for c in books.ledger("contacts"))
    assert names == sorted(["Acme Ltd", own, "Ada Lovelace", "Bob Stone", "Dora Marsh"])
    refused = books.link(DocumentKind.CUSTOMER, "c-2")
    assert refused.remote_id is None and refused.outcome == "failed"
    dora = next(c for c in books.ledger("contacts") if c["Name"] == "Dora Marsh")
    assert books.link(DocumentKind.CUSTOMER, "c-4").remote_id == dora["ContactID"]
    # The test's own three; one array of the four customers; one of Acme Ltd under its own name.
    assert len(books.requests("PUT", "Contacts")) == 3 + 2


def test_edits_go_in_update_arrays_and_an_item_deleted_in_xero_is_made_again(books: Books) -> None:
    """Edited after sync: a customer and two items, one of which was deleted in Xero meanwhile.
    The two still there are updated in one POST array each (by their ids), the deleted one is
    created again; the rest is unchanged and costs no write."""
    books.put_customers(("c-1", "Ada Lovelace", "ada@example.com"), ("c-2", "Bob Stone", None))
    books.put_items(3)
    assert books.run(books.sync_now()).counts == {"created": 5}
    gone = books.link(DocumentKind.ITEM, "i-00001").remote_id
    assert books.raw().request("DELETE", f"/Items/{gone}").status_code == 204
    books.put_documents(DocumentKind.CUSTOMER, [builders.customer("c-1", display_name="Ada King")])
    books.put_documents(
        DocumentKind.ITEM,
        [builders.item(f"i-0000{i}", name=f"Part 0000{i}", price="99.00") for i in (0, 1)],
    )
    books.control.clear_requests()

    report = books.run(books.sync_now())

    assert report.status == "succeeded", report.errors
    assert report.counts == {"updated": 2, "created": 1, "unchanged": 2}, report.counts
    contacts = {c["ContactNumber"]: c for c in books.ledger("contacts")}
    assert contacts["c-1"]["Name"] == "Ada King" and len(contacts) == 2
    items = {i["Code"]: i for i in books.ledger("items")}
    assert Decimal(str(items["Part 00000"]["SalesDetails"]["UnitPrice"])) == Decimal("99.00")
    assert len(items) == 3 and books.link(DocumentKind.ITEM, "i-00001").remote_id != gone
    posts = books.requests("POST", "Items") + books.requests("POST", "Contacts")
    assert len(posts) == 2 and all(e["summarizeErrors"] == "false" for e in posts)


# ------------------------------------------------------------------------------------ doubt


def fifty(books: Books, kind: CatalogKind) -> tuple[str, str]:
    """Fifty customers or items (one array): Xero's collection and the key booksync's lookup
    finds each by."""
    if kind == "items":
        books.put_items(50)
        return "items", "Code"
    books.put_customers(*((f"c-{i:03d}", f"Customer {i:03d}", None) for i in range(50)))
    return "contacts", "ContactNumber"


def once_each(books: Books, collection: str, key: str) -> None:
    stored = books.ledger(collection)
    assert len(stored) == 50 and len({row[key] for row in stored}) == 50, sorted(row[key] for row in stored)


@pytest.mark.parametrize("action", ["commit_then_500", "commit_then_timeout"])
@pytest.mark.parametrize("kind", ["items", "customers"])
def test_an_array_whose_answer_was_lost_is_looked_up_before_it_is_sent_again(
    books: Books, action: str, kind: CatalogKind
) -> None:
    """Xero saved the first array but its answer was lost (a 500 or a read timeout after the
    commit), and the client's own retries failed too. Xero has forgotten the Idempotency-Key by
    then (it keeps one 6 minutes; a worker killed mid-write is retried later than that), so only
    the lookup by Code or ContactNumber stands between the retry and a second copy: it finds the
    50, which are linked."""
    collection, key = fifty(books, kind)
    books.sandbox.config.idempotency_ttl_s = 0
    books.control.add_fault(action, method="PUT", entity=collection, times=1, seconds=3)
    books.control.add_fault("http_500", method="PUT", entity=collection, times=2)  # the client's retries

    report = books.run(books.sync_now((kind,)))

    assert report.status == "succeeded", report.errors
    assert report.counts == {"linked": 50}, report.counts
    once_each(books, collection, key)


@pytest.mark.parametrize("kind", ["items", "customers"])
def test_sync_now_after_an_array_was_saved_unanswered_links_what_it_made(
    books: Books, kind: CatalogKind
) -> None:
    """The first array was saved, its answer lost, and everything after it failed (Xero down):
    the run ends without it. Sync Now again once Xero has forgotten the Idempotency-Key: the
    lookup before creating finds the 50 and links them; none is in Xero twice."""
    collection, key = fifty(books, kind)
    books.control.add_fault("commit_then_500", method="PUT", entity=collection, times=1)
    books.control.add_fault("http_500", method="PUT", entity=collection, times=100)
    books.control.add_fault("http_500", method="GET", path="where=", entity=collection, times=100)

    first = books.run(books.sync_now((kind,)))

    assert first.status == "failed"
    assert len(books.ledger(collection)) == 50
    books.control.clear_faults()
    books.control.advance(7 * 60)  # Xero keeps an Idempotency-Key 6 minutes

    again = books.run(books.sync_now((kind,)))

    assert again.status == "succeeded", again.errors
    assert again.counts == {"linked": 50}, again.counts
    once_each(books, collection, key)


def test_an_array_xero_keeps_failing_leaves_each_of_its_records_saying_so(books: Books) -> None:
    """Every try of the array fails (5xx, nothing saved): each of its items carries the error,
    naming Xero, and the run says to press Sync Now again; nothing is in Xero."""
    books.put_items(3)
    books.control.add_fault("http_500", method="PUT", entity="items", times=100)

    report = books.run(books.sync_now(("items",)))

    assert report.status == "failed" and report.counts == {"failed": 3}, report.counts
    assert [e["document"] for e in report.errors] == ["item i-00000", "item i-00001", "item i-00002"]
    assert {e["message"] for e in report.errors} == {"Xero did not confirm this item after 3 tries."}
    assert books.link(DocumentKind.ITEM, "i-00001").outcome == "failed"
    assert books.ledger("items") == []


# ------------------------------------------------------------------------------------ progress


def test_a_catalog_bigger_than_one_invocation_continues_from_its_cursor_with_its_counts(books: Books) -> None:
    books.put_items(250)
    job = books.sync_now(("items",))
    clock = PageClock()

    def catalog(pacing: Gate, deadline: Callable[[], float | None]) -> CatalogProvider:
        return clock.counting(XeroCatalog(books.client(), pacing, deadline=deadline))

    steps: list[tuple[str, int]] = []
    while True:
        # Each invocation's time runs out once a page of 100 is written (the walk checks its
        # deadline between pages): booksync's clock jumps then, not with the machine's load.
        report = books.engine(page_size=100, catalog=catalog, clock=clock).run(job, lambda: LONG_ENOUGH)
        steps.append((report.status, sum(books.row(job).counts.values())))
        if report.status != "continued":
            break
        job = books.queued.sent.pop()
    assert [status for status, _ in steps] == ["continued", "continued", "succeeded"]
    assert [done for _, done in steps] == [100, 200, 250]  # the run's progress after each step
    assert books.row(job).counts == {"created": 250}
    assert len(books.ledger("items")) == 250
    assert len(books.requests("PUT", "Items")) == 5  # 50 + 50 a page, then 50


class PageClock:
    """booksync's clock, an hour on each time another 100 items were written (whatever the
    machine's load, a step's deadline passes between two pages, never within one)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.written = 0
        self._lock = threading.Lock()  # a page's arrays are written by several threads

    def __call__(self) -> float:
        return time.time() + self.offset

    def counting(self, catalog: XeroCatalog) -> CatalogProvider:
        write_many = catalog.write_many

        def counted(writes: Any, *, idempotency_key: str) -> Any:
            answers = write_many(writes, idempotency_key=idempotency_key)
            with self._lock:
                self.written += len(writes)
                if self.written % 100 == 0:
                    self.offset += 3_600.0
            return answers

        catalog.write_many = counted
        return catalog


@pytest.fixture
def busy_books(request: pytest.FixtureRequest, tables: SimpleNamespace, kms_key: str) -> Books:
    """A sandbox whose minute lasts 6 real seconds, the limiter's too."""
    return open_books(request, kms_key, scale=10.0)


def test_the_shared_limiter_holds_the_catalog_to_xeros_minute_with_other_work_going_on(
    busy_books: Books,
) -> None:
    """Another process has used 55 of the organisation's 60 calls this minute (through the
    shared limiter): the catalog's arrays wait for the minute to free, and Xero answers none 429."""
    books = busy_books
    other = XeroProvider(books.client())
    started = time.monotonic()
    for _ in range(55):
        other.company_currencies()
    books.put_items(400)  # 8 arrays, a listing and the chart: more than the 5 left this minute
    report = books.run(books.sync_now(("items",)))
    took = time.monotonic() - started

    assert report.status == "succeeded", report.errors
    log = books.control.requests(books.tenant)
    assert [e for e in log if e["status"] == 429] == []
    assert len(books.ledger("items")) == 400
    assert took >= 60 / books.scale  # it waited for the organisation's minute


DAY = 86_400


def test_xeros_day_running_out_parks_the_catalog_which_resumes_the_next_day_losing_nothing(
    books: Books,
) -> None:
    """The organisation's calls for the day run out after the first array (other work used the
    rest): Xero answers 429 ``day``. The run is parked with its cursor and the reason, the
    connection held until Xero's day comes back; the sweep leaves it until then, and resumes it
    the next day: every item is in Xero once."""
    books.put_items(200)  # four arrays
    books.sandbox.config.day_limit = 4  # the chart, the listing, the chart again, one array
    job = books.sync_now(("items",))

    parked = books.run(job)

    assert parked.status == "parked", parked.errors
    assert parked.errors[-1]["code"] == "daily_limit_reached"
    assert "continues by itself" in str(parked.errors[-1]["fix"])
    assert len(books.ledger("items")) == 50 and parked.counts == {"created": 50}
    connection = books.connections.get(books.company, PROVIDER)
    assert connection is not None and connection.held_until is not None
    assert float(connection.held_until) > time.time() + DAY / 2

    sweep = CatalogRequests(
        runs=books.runs, connections=books.connections, queue=books.queued, parked=CatalogRunStore()
    )
    assert sweep.resume_left_parked() == [] and books.queued.sent == []  # not before Xero's next day
    books.sandbox.config.day_limit = 5_000
    books.control.advance(DAY)  # its rolling day passes
    tomorrow = lambda: time.time() + DAY  # noqa: E731 - booksync's clock, a day on
    sweep._clock = tomorrow
    assert sweep.resume_left_parked() == [job.run_id]
    resumed = books.engine(clock=tomorrow).run(books.queued.sent.pop(), lambda: LONG_ENOUGH)

    assert resumed.status == "succeeded", resumed.errors
    assert books.row(job).counts == {"created": 200}
    items = books.ledger("items")
    assert len(items) == 200 and len({i["Code"] for i in items}) == 200
