"""The sync engine and the company's currencies (issue 10, item 4): an invoice the books cannot hold
in its currency is held (Blocked, with the reason) instead of being booked in the home currency."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind
from booksync.providers.port import CompanyCurrencies
from booksync.providers.registry import REGISTRY, declaration
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.sync.engine import InvoiceSync
from booksync.sync.jobs import SyncJob

from tests import builders
from tests.integration.test_invoice_sync_engine import COMPANY, job, world

__all__ = ["world"]


def engine(world: SimpleNamespace, clock: list[float]) -> InvoiceSync:
    return world.engine(notifications=NotificationRepository(), clock=lambda: clock[0])


def test_a_eur_invoice_in_a_usd_only_company_is_held_not_booked(world: SimpleNamespace) -> None:
    clock = [1_800_000_000.0]
    world.service.put_invoice(COMPANY, builders.invoice(currency="EUR"))
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    report = engine(world, clock).run(job())
    assert report.outcome == "blocked"
    assert "is in EUR" in str(report.error) and "USD only (multicurrency is off)" in str(report.error)
    assert sum(world.provider.writes.values()) == 0, "nothing reached the books"
    row = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    link = row.link("quickbooks")
    assert link.outcome == "blocked" and link.error_code == "currency_not_bookable"
    assert "multicurrency" in str(link.error_fix)
    assert not row.pending_bucket, "not retried by every sweep: a person must act"
    payment = world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1")
    assert not payment.pending_bucket and not payment.link("quickbooks"), "it waits with its invoice"
    # The company's currencies are cached on the connection row.
    connection = ConnectionModel.get(COMPANY, "quickbooks")
    assert (connection.home_currency, connection.multicurrency) == ("USD", False)
    # A second run (the user pressed Resync): still held, admins told once.
    clock[0] += 60
    assert engine(world, clock).run(job()).outcome == "blocked"
    notes = [n for n in NotificationRepository().for_company(COMPANY) if "currency" in n.kind]
    assert len(notes) == 1 and "EUR" in str(notes[0].message)
    # Held before a refusal, the preferences are read afresh: once per run, no more.
    assert world.provider.calls["company_currencies"] == 3


def test_once_multicurrency_is_on_the_invoice_syncs_in_its_currency(world: SimpleNamespace) -> None:
    clock = [1_800_000_000.0]
    world.service.put_invoice(COMPANY, builders.invoice(currency="EUR"))
    assert engine(world, clock).run(job()).outcome == "blocked"
    world.provider.currencies = CompanyCurrencies("USD", multicurrency=True)
    clock[0] += 60
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    report = engine(world, clock).run(job())
    assert report.outcome == "synced", report.error
    assert world.provider.writes["create_invoice"] == 1
    assert world.provider.writes["create_payment"] == 1, "the Resync pushes its payment too"


def test_the_cached_currencies_are_read_again_after_a_day(world: SimpleNamespace) -> None:
    clock = [1_800_000_000.0]
    world.service.put_invoice(COMPANY, builders.invoice())
    assert engine(world, clock).run(job()).outcome == "synced"
    assert world.provider.calls["company_currencies"] == 1
    world.service.put_invoice(COMPANY, builders.invoice(memo="edited"))
    clock[0] += 3600
    engine(world, clock).run(job())
    assert world.provider.calls["company_currencies"] == 1, "cached for a day"
    world.service.put_invoice(COMPANY, builders.invoice(memo="edited again"))
    clock[0] += 24 * 3600
    engine(world, clock).run(job())
    assert world.provider.calls["company_currencies"] == 2


def test_a_customer_kept_in_usd_does_not_take_a_eur_invoice(world: SimpleNamespace) -> None:
    """With multicurrency, a customer is booked in one currency: another is another customer."""
    clock = [1_800_000_000.0]
    world.provider.currencies = CompanyCurrencies("USD", multicurrency=True)
    world.service.put_invoice(COMPANY, builders.invoice())
    assert engine(world, clock).run(job()).outcome == "synced"
    world.service.put_invoice(COMPANY, builders.invoice("inv-2", currency="EUR"))
    report = engine(world, clock).run(job("inv-2"))
    assert report.outcome == "blocked"
    assert "customer 'Ada Lovelace' is kept in USD" in str(report.error)
    link = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-2").link("quickbooks")
    assert "Ada Lovelace (EUR)" in str(link.error_fix)
    assert world.provider.writes["create_invoice"] == 1, "only the USD invoice reached the books"


def customer_job(customer_id: str = "c-1") -> SyncJob:
    return SyncJob(company_id=COMPANY, invoice_id=customer_id, kind="customer", provider="quickbooks")


def test_with_multicurrency_a_new_customers_own_job_leaves_it_to_its_first_invoice(
    world: SimpleNamespace,
) -> None:
    """The customer's own job (auto_sync_customers) would create it in the home currency, which
    the books keep for good: its first EUR invoice would be held. It waits for that invoice."""
    clock = [1_800_000_000.0]
    world.provider.currencies = CompanyCurrencies("USD", multicurrency=True)
    report = engine(world, clock).run(customer_job())
    assert report.outcome == "synced" and report.counts == {"waiting": 1}
    assert world.provider.writes["create_customer"] == 0
    row = world.docs.get(COMPANY, DocumentKind.CUSTOMER, "c-1")
    assert row.pending_bucket is None, "not swept again: its invoice pushes it"
    [note] = world.runs.get(COMPANY, report.run_id).notes
    assert note.document == "customer c-1" and "waits for its first invoice" in note.message

    world.service.put_invoice(COMPANY, builders.invoice(currency="EUR"))
    assert engine(world, clock).run(job()).outcome == "synced"
    [customer] = world.provider.objects["customer"].values()
    assert customer.data["currency"] == "EUR"

    # Once linked, its own job updates it as before.
    world.service.put_customer(COMPANY, builders.customer(email="ada@lovelace.example"))
    assert engine(world, clock).run(customer_job()).counts == {"updated": 1}
    assert customer.data["email"] == "ada@lovelace.example"


def test_without_multicurrency_a_new_customers_own_job_creates_it(world: SimpleNamespace) -> None:
    report = engine(world, [1_800_000_000.0]).run(customer_job())
    assert report.outcome == "synced" and report.counts == {"created": 1}
    assert world.provider.writes["create_customer"] == 1


def test_where_an_invoice_names_its_own_currency_the_customers_is_no_bar(
    world: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """Books whose invoices name their own currency whatever their customer's (FreshBooks:
    ``customer_currency_binds`` False): a EUR invoice for a customer kept in USD is booked as sent,
    and a new customer's own job creates it rather than wait for its first invoice."""
    request.addfinalizer(REGISTRY.declare(replace(declaration("quickbooks"), customer_currency_binds=False)))
    clock = [1_800_000_000.0]
    world.provider.currencies = CompanyCurrencies("USD", multicurrency=True)
    assert engine(world, clock).run(customer_job()).counts == {"created": 1}
    world.service.put_invoice(COMPANY, builders.invoice(currency="EUR"))
    report = engine(world, clock).run(job())
    assert report.outcome == "synced", report.error
    assert world.provider.writes["create_invoice"] == 1
    assert world.provider.calls["get_customer"] == 0, "no customer read for its currency"
