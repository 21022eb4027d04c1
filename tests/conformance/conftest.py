"""One world per test and provider: a new company connected to that provider's books, booksync's
own stores (moto), the document service that accepts the business's documents, and the sync
engine over the provider's adapter. ``world`` runs a test for every provider in ``PROVIDERS``;
``refunding_world`` and ``splitting_world`` for those whose declarations say they record refunds,
and payments across invoices; ``per_invoice_world`` for those that record payments, but each on
one invoice; ``day_capped_world`` for those that cap a company's requests a day; ``payment_account_world`` for those whose payments need the account they go into
(every world of theirs has one chosen, as an admin chooses it in Account mapping); ``lenient_world`` for those whose books can be made to accept two customers or items
under one name (as FreshBooks and Wave do), made so."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import boto3
import pytest
from booksync.account_mapping import AccountMapping
from booksync.documents import DocumentKind
from booksync.providers.declaration import Capability
from booksync.providers.registry import REGISTRY
from booksync.security.vault import KmsTokenVault
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import ALL_MODELS, ConnectionModel, DocumentModel, LinkMap, bind_tables
from booksync.store.notifications import NotificationRepository
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync, SyncReport
from booksync.sync.jobs import SyncJob
from booksync.sync.records import DocumentService
from booksync.wiring import default_income_account

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.wave.config import WaveConfig
from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from tests import builders
from tests.conformance.books import (
    PROVIDERS,
    Books,
    start_freshbooks_sandbox,
    start_quickbooks_sandbox,
    start_wave_sandbox,
    start_xero_sandbox,
)
from tests.integration.test_invoice_sync_engine import ListQueue


@pytest.fixture(scope="session")
def conformance_table_names(moto_url: str) -> SimpleNamespace:
    suffix = uuid.uuid4().hex[:8]
    return SimpleNamespace(**{field: f"{field}-conformance-{suffix}" for field in ALL_MODELS})


@pytest.fixture
def conformance_tables(conformance_table_names: SimpleNamespace) -> SimpleNamespace:
    """booksync's tables, shared by the suite (each test is a company of its own in them): made on
    first use and again after a local stack started in this process reset moto, whose state every
    moto server of the process shares. Never deleted: they go with the session's moto server."""
    bind_tables(conformance_table_names)
    for model in ALL_MODELS.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    return conformance_table_names


@pytest.fixture
def token_vault(conformance_tables: SimpleNamespace) -> KmsTokenVault:
    """A key of its own per test: a session's key would go with a reset of moto too."""
    key = boto3.client("kms").create_key(Description="booksync conformance tokens")
    return KmsTokenVault(str(key["KeyMetadata"]["KeyId"]))


@pytest.fixture(scope="session")
def quickbooks_sandbox_server() -> Iterator[QuickBooksSandbox]:
    sandbox = start_quickbooks_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def quickbooks_sandbox(quickbooks_sandbox_server: QuickBooksSandbox) -> Iterator[QuickBooksSandbox]:
    yield quickbooks_sandbox_server
    quickbooks_sandbox_server.faults.clear()
    quickbooks_sandbox_server.config.latency_ms = 0


@pytest.fixture(scope="session")
def xero_sandbox_server() -> Iterator[XeroSandbox]:
    sandbox = start_xero_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def xero_sandbox(xero_sandbox_server: XeroSandbox) -> Iterator[XeroSandbox]:
    yield xero_sandbox_server
    xero_sandbox_server.faults.clear()
    xero_sandbox_server.latency = 0.0  # type: ignore[attr-defined]
    xero_sandbox_server.config.day_limit = XeroConfig().day_limit


@pytest.fixture(scope="session")
def freshbooks_sandbox_server() -> Iterator[FreshBooksSandbox]:
    sandbox = start_freshbooks_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def freshbooks_sandbox(freshbooks_sandbox_server: FreshBooksSandbox) -> Iterator[FreshBooksSandbox]:
    yield freshbooks_sandbox_server
    freshbooks_sandbox_server.faults.clear()
    freshbooks_sandbox_server.config.latency_ms = 0


@pytest.fixture(scope="session")
def wave_sandbox_server() -> Iterator[WaveSandbox]:
    sandbox = start_wave_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def wave_sandbox(wave_sandbox_server: WaveSandbox) -> Iterator[WaveSandbox]:
    yield wave_sandbox_server
    wave_sandbox_server.faults.clear()
    wave_sandbox_server.config.latency_s = WaveConfig().latency_s


@dataclass
class World:
    books: Books
    company: str
    docs: DocumentRepository
    connections: ConnectionRepository
    runs: RunRepository
    queue: ListQueue
    service: DocumentService

    def engine(self, owner: str | None = None, adapter: object | None = None) -> InvoiceSync:
        return builders.invoice_sync(
            self.docs,
            self.connections,
            self.runs,
            adapter or self.books.adapter,  # type: ignore[arg-type]
            owner=owner,
            income_account_for=default_income_account,
            notifications=NotificationRepository(),
        )

    def job(self, invoice_id: str = "inv-1") -> SyncJob:
        return SyncJob(company_id=self.company, invoice_id=invoice_id, provider=self.books.provider)

    def sync(self, invoice_id: str = "inv-1") -> SyncReport:
        return self.engine().run(self.job(invoice_id))

    def row(self, kind: DocumentKind, doc_id: str) -> DocumentModel:
        row = self.docs.get(self.company, kind, doc_id)
        assert row is not None
        return row

    def link(self, kind: DocumentKind, doc_id: str) -> LinkMap:
        link = self.row(kind, doc_id).link(self.books.provider)
        assert link is not None, f"{kind.value} {doc_id} has no link"
        return link

    def connection(self) -> ConnectionModel:
        row = self.connections.get(self.company, self.books.provider)
        assert row is not None
        return row

    def income_account(self) -> str | None:
        """The income account an item is posted to in the books: their first revenue account
        where items carry one (INCOME_ACCOUNT_PER_ITEM), else none (FreshBooks' items carry none)."""
        if not self.books.supports(Capability.INCOME_ACCOUNT_PER_ITEM):
            return None
        return next(a.id for a in self.books.adapter.list_accounts() if a.classification == "Revenue")

    def remote_invoice(self, invoice_id: str = "inv-1") -> str:
        remote_id = self.link(DocumentKind.INVOICE, invoice_id).remote_id
        assert remote_id
        return str(remote_id)


def open_world(
    request: pytest.FixtureRequest, name: str, tables: SimpleNamespace, vault: KmsTokenVault
) -> World:
    """A company connected to ``name``'s books, with a customer and two items (not synced yet)."""
    bind_tables(tables)  # other tests in this process bind tables of their own
    company = f"co-{uuid.uuid4().hex[:12]}"
    connections, docs, runs, queue = (
        ConnectionRepository(),
        DocumentRepository(),
        RunRepository(),
        ListQueue(),
    )
    books = PROVIDERS[name].open(request, company, connections, vault)
    request.addfinalizer(REGISTRY.declare(books.declaration()))  # booksync knows it as declared
    books.connect()
    if books.requires_payment_account():  # an admin chooses it in Account mapping, from those listed
        mapping = AccountMapping(
            connections=connections, documents=docs, provider_for=lambda _c: books.adapter
        )
        (first, *_) = mapping.accounts(company, name, "payments")
        mapping.set_payment_account(company, name, str(first["id"]))
    service = DocumentService(documents=docs, connections=connections, runs=runs, queue=queue)
    service.put_customer(company, builders.customer())
    service.put_item(company, builders.item("i-1"))
    service.put_item(company, builders.item("i-2", name="Trip\tcharge", price="80.00"))
    queue.jobs.clear()  # the customer's own job: the invoices' jobs push it
    return World(books, company, docs, connections, runs, queue, service)


@pytest.fixture(params=sorted(PROVIDERS))
def world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    return open_world(request, request.param, conformance_tables, token_vault)


def able(*capabilities: Capability) -> list[str]:
    """The providers whose declarations say they can do all of ``capabilities``."""
    return sorted(name for name, books in PROVIDERS.items() if all(map(books.supports, capabilities)))


@pytest.fixture(params=able(Capability.PAYMENTS, Capability.REFUNDS))
def refunding_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(params=able(Capability.VOIDS))
def voiding_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(params=sorted(set(PROVIDERS) - set(able(Capability.VOIDS))))
def non_voiding_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    """Books with no void (FreshBooks): a voided invoice is said not supported, never tried."""
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(params=able(Capability.PAYMENTS_ACROSS_INVOICES))
def splitting_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(
    params=sorted(set(able(Capability.PAYMENTS)) - set(able(Capability.PAYMENTS_ACROSS_INVOICES)))
)
def per_invoice_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    """Books that record payments, each on one invoice: booksync splits a payment across invoices."""
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(
    params=sorted(
        set(able(Capability.PAYMENTS)) & {n for n, b in PROVIDERS.items() if b.requires_payment_account()}
    )
)
def payment_account_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    """Books whose payments need the account they go into (one chosen, as every world has)."""
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(params=sorted(name for name, books in PROVIDERS.items() if books.day_capped()))
def day_capped_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    """Books that cap a company's requests a day (Xero's 1,000 or 5,000)."""
    return open_world(request, request.param, conformance_tables, token_vault)


@pytest.fixture(params=sorted(name for name, books in PROVIDERS.items() if books.DUPLICATE_NAMES))
def lenient_world(
    request: pytest.FixtureRequest, conformance_tables: SimpleNamespace, token_vault: KmsTokenVault
) -> World:
    world = open_world(request, request.param, conformance_tables, token_vault)
    world.books.accept_duplicate_names()
    return world
