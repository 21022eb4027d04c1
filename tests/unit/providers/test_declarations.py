"""Each provider declares itself once (providers/declaration.py), and the registry, the job types,
the keep-alive and the wiring read that declaration instead of naming a provider (issue 14)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.errors import ConfigurationError, NotFoundError
from booksync.providers import registry
from booksync.providers.declaration import Builders, Capability, Limits, ProviderDeclaration
from booksync.providers.one_by_one import OneByOne
from booksync.providers.port import ItemRefs
from booksync.providers.profile import ProviderProfile, provider_label
from booksync.providers.quickbooks.adapter import QuickBooksProvider
from booksync.providers.quickbooks.bulk import QuickBooksCatalog
from booksync.providers.square.oauth import SquareOAuth
from booksync.settings import ApiSettings
from booksync.sync.catalog_jobs import CatalogJob, CatalogRequests
from booksync.sync.jobs import SyncJob
from booksync.sync.limiter import Limiter
from booksync.sync.rate_limits import declared_limits
from pydantic import ValidationError

from tests import builders
from tests.fakes.provider import plain_books
from tests.unit.providers.qbo_fake import FakeTokens
from tests.unit.test_settings import BASE

ENV = {
    **BASE,
    "QBO_CLIENT_ID": "ABcd1234",
    "QBO_CLIENT_SECRET": "s3cr3tV4lue",
    "QBO_API_BASE_URL": "http://127.0.0.1:1/qbo",
    "SQUARE_APPLICATION_ID": "sq0idp-Abcd1234",
    "SQUARE_APPLICATION_SECRET": "sq0csp-s3cr3tV4lue",
}


def settings(monkeypatch: pytest.MonkeyPatch, **extra: str) -> ApiSettings:
    for name, value in {**ENV, **extra}.items():
        monkeypatch.setenv(name, value)
    return ApiSettings.from_env()


def test_an_unknown_provider_is_refused_naming_the_ones_booksync_knows() -> None:
    with pytest.raises(NotFoundError) as refused:
        registry.declaration("sage")
    assert (
        refused.value.message
        == "booksync knows no provider 'sage' (it knows freshbooks, quickbooks, square, wave, xero)."
    )
    assert refused.value.fix == "Use one of: freshbooks, quickbooks, square, wave, xero."
    with pytest.raises(NotFoundError, match="it knows freshbooks, quickbooks, square, wave, xero"):
        provider_label("sage")  # labels too come from declarations only


def test_jobs_name_an_accounting_provider_the_registry_knows() -> None:
    assert SyncJob(company_id="acme", invoice_id="inv-1", provider="quickbooks").provider == "quickbooks"
    with pytest.raises(ValidationError, match=r"Square is not an accounting system but a payments processor"):
        SyncJob(company_id="acme", invoice_id="inv-1", provider="square")
    with pytest.raises(ValidationError, match=r"booksync knows no provider 'memory'"):
        CatalogJob(company_id="acme", run_id="r-1", kinds=("items",), provider="memory")


def test_the_declarations_say_what_each_provider_is_and_allows() -> None:
    quickbooks, square = registry.declaration("quickbooks"), registry.declaration("square")
    assert (quickbooks.kind, quickbooks.label, square.kind, square.label) == (
        "accounting",
        "QuickBooks",
        "payments",
        "Square",
    )
    assert registry.REGISTRY.names("accounting") == ("freshbooks", "quickbooks", "wave", "xero")
    assert registry.REGISTRY.names("payments") == ("square",)
    # Intuit's throttles per realm and app; no daily cap.
    assert quickbooks.limits == Limits(max_concurrent=10, requests_per_minute=500, batches_per_minute=40)
    assert quickbooks.limits is not None and quickbooks.limits.scaled(4).window_seconds == 15.0
    assert quickbooks.supports(Capability.VERSIONS) and quickbooks.supports(Capability.DEPOSITS)
    assert not quickbooks.supports(Capability.ORGANISATION_CHOICE)
    assert square.capabilities == {Capability.WEBHOOKS} and square.builders.adapter is None


def test_xero_declares_what_it_has_and_its_day_by_the_apps_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    """No versions; batch writes (Xero's arrays: Sync Now's catalog writer); one payment per
    invoice (the core splits the rest); the organisation chosen after consent; webhooks; 5 in
    flight, 60 a minute and XERO_DAY_LIMIT a day."""
    xero = registry.declaration("xero")
    assert (xero.kind, xero.label, xero.account_on_redirect) == ("accounting", "Xero", None)
    assert xero.capabilities == {
        Capability.BATCH_WRITES,
        Capability.PAYMENTS,
        Capability.REFUNDS,
        Capability.VOIDS,
        Capability.ORGANISATION_CHOICE,
        Capability.INCOME_ACCOUNT_PER_ITEM,
        Capability.WEBHOOKS,
    }
    assert xero.builders.catalog is not None and xero.builders.webhooks is not None
    assert xero.limits == Limits(max_concurrent=5, requests_per_minute=60, requests_per_day=5000)
    assert xero.income_account_names[0] == "Sales" and xero.payment_account_required

    # Read when asked, not at import: set after the registry was imported, it counts.
    monkeypatch.setenv("XERO_DAY_LIMIT", "1000")
    assert declared_limits("xero") == Limits(max_concurrent=5, requests_per_minute=60, requests_per_day=1000)
    assert xero.limits == Limits(max_concurrent=5, requests_per_minute=60, requests_per_day=5000)
    monkeypatch.setenv("XERO_DAY_LIMIT", "2000")
    with pytest.raises(ConfigurationError, match="XERO_DAY_LIMIT"):
        declared_limits("xero")


def test_freshbooks_declares_no_key_of_its_own_and_modest_settable_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No versions, no batch writes, no income account per item (FreshBooks items carry none),
    one payment per invoice; the business chosen after consent; its unpublished limits kept
    modest and settable (FRESHBOOKS_MAX_CONCURRENT, FRESHBOOKS_REQUESTS_PER_MINUTE)."""
    freshbooks = registry.declaration("freshbooks")
    assert (freshbooks.kind, freshbooks.label, freshbooks.account_on_redirect) == (
        "accounting",
        "FreshBooks",
        None,
    )
    assert Capability.ORGANISATION_CHOICE in freshbooks.capabilities
    assert not freshbooks.capabilities & {
        Capability.BATCH_WRITES,
        Capability.VERSIONS,
        Capability.PAYMENTS_ACROSS_INVOICES,
        Capability.INCOME_ACCOUNT_PER_ITEM,
        Capability.DEPOSITS,
    }
    assert freshbooks.limits == Limits(max_concurrent=2, requests_per_minute=120)
    assert freshbooks.profile.account_id_key == "account" and not freshbooks.payment_account_required

    # Read when asked, not at import: set after the registry was imported, they count.
    monkeypatch.setenv("FRESHBOOKS_MAX_CONCURRENT", "4")
    monkeypatch.setenv("FRESHBOOKS_REQUESTS_PER_MINUTE", "30")
    assert declared_limits("freshbooks") == Limits(max_concurrent=4, requests_per_minute=30)
    assert freshbooks.limits == Limits(max_concurrent=2, requests_per_minute=120)  # what they are unset
    monkeypatch.setenv("FRESHBOOKS_MAX_CONCURRENT", "0")
    with pytest.raises(ConfigurationError, match="FRESHBOOKS_MAX_CONCURRENT"):
        declared_limits("freshbooks")


def test_wave_declares_payments_one_request_at_a_time_and_no_voids_or_refunds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Payments (one per invoice, into the account chosen), the business chosen after consent, an
    income account per product; no versions, batches, webhooks, voids or refunds (Wave's API has
    none); one request in flight per business unless WAVE_MAX_CONCURRENT says more."""
    wave = registry.declaration("wave")
    assert (wave.kind, wave.label, wave.account_on_redirect) == ("accounting", "Wave", None)
    assert wave.capabilities == {
        Capability.PAYMENTS,
        Capability.ORGANISATION_CHOICE,
        Capability.INCOME_ACCOUNT_PER_ITEM,
    }
    assert wave.limits is not None and wave.limits.max_concurrent == 1
    assert wave.payment_account_required and wave.income_account_names == ("Sales",)
    refused = wave.not_supported(Capability.REFUNDS, "refund r-1")
    assert refused.message == "Recording refunds is not supported by Wave (refund r-1)."
    monkeypatch.setenv("WAVE_MAX_CONCURRENT", "2")
    assert declared_limits("wave") == Limits(max_concurrent=2, requests_per_minute=120)
    monkeypatch.setenv("WAVE_MAX_CONCURRENT", "0")
    with pytest.raises(ConfigurationError, match="WAVE_MAX_CONCURRENT"):
        declared_limits("wave")
    assert wave.limits == Limits(max_concurrent=1, requests_per_minute=120)


def test_importing_the_registry_reads_no_provider_limits_from_the_environment() -> None:
    """Wrong limits for FreshBooks, Wave and Xero break only what uses them, where it does (a
    ConfigurationError naming the variable), never the import of every declaration."""
    import subprocess
    import sys
    from pathlib import Path

    import booksync

    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(booksync.__file__).parents[1]),
        "FRESHBOOKS_MAX_CONCURRENT": "0",
        "WAVE_MAX_CONCURRENT": "many",
        "XERO_DAY_LIMIT": "2000",
    }
    code = (
        "from booksync.providers import registry; "
        "print(registry.declaration('freshbooks').limits); print(registry.declaration('xero').limits)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "max_concurrent=2" in done.stdout
    assert "requests_per_day=5000" in done.stdout


def test_an_accounting_declaration_without_limits_or_adapter_is_refused() -> None:
    with pytest.raises(ValueError, match="declares its limits and its adapter"):
        ProviderDeclaration[Any](
            name="books",
            kind="accounting",
            profile=ProviderProfile(label="Books", name_rules=""),
            capabilities=frozenset(),
            limits=None,
            read_settings=lambda: None,
            builders=Builders(oauth=lambda _s: SimpleNamespace()),
        )


def test_the_parts_are_built_from_each_providers_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    api = settings(monkeypatch, SQUARE_OAUTH_FLOW="pkce")
    square = registry.oauth_client("square", api)
    assert isinstance(square, SquareOAuth) and square.uses_pkce
    connection = SimpleNamespace(provider="quickbooks", account_id="9130")
    adapter = registry.accounting_provider(connection, api, FakeTokens("a-1"))  # type: ignore[arg-type]
    assert isinstance(adapter, QuickBooksProvider) and adapter._client.realm_id == "9130"
    with pytest.raises(NotFoundError, match="Square is not an accounting system"):
        registry.accounting_provider(SimpleNamespace(provider="square"), api, FakeTokens("a-1"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flow", "kept_alive"),
    [("code", ("quickbooks", "wave", "xero")), ("pkce", ("quickbooks", "square", "wave", "xero"))],
)
def test_the_keep_alive_refreshes_the_providers_whose_refresh_tokens_lapse(
    monkeypatch: pytest.MonkeyPatch, flow: str, kept_alive: tuple[str, ...]
) -> None:
    """Intuit's refresh tokens lapse 100 days after last use, Xero's 60; Square's only in the PKCE
    flow; Wave does not say (kept alive in case)."""
    assert registry.refreshed_by_keep_alive(settings(monkeypatch, SQUARE_OAUTH_FLOW=flow)) == kept_alive


def test_a_declared_provider_joins_the_registry_and_the_not_supported_message_names_it() -> None:
    books = ProviderDeclaration[Any](
        name="books",
        kind="accounting",
        profile=ProviderProfile(label="Plain Books", name_rules=""),
        capabilities=frozenset({Capability.PAYMENTS}),
        limits=Limits(max_concurrent=5, requests_per_minute=60, requests_per_day=5000),
        read_settings=lambda: None,
        builders=Builders(oauth=lambda _s: SimpleNamespace(), adapter=lambda _s, _a, _t: SimpleNamespace()),
    )
    grown = registry.REGISTRY.with_declaration(books)
    assert (
        grown.names("accounting") == ("freshbooks", "quickbooks", "wave", "xero", "books")
        and grown.get("books") is books
    )
    refused = books.not_supported(Capability.REFUNDS, "refund r-1")
    assert refused.message == "Recording refunds is not supported by Plain Books (refund r-1)."
    assert refused.code == "not_supported" and not refused.retryable and refused.provider == "books"


def test_sync_now_of_customers_and_items_is_written_one_a_request_where_no_batch_writes_are_declared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Books without a batch API: Sync Now of customers and items is taken at the door, a first
    connection starts its catalog run, and the catalog writer is the adapter one record a
    request; QuickBooks' is its batch writer."""
    books = plain_books(name="memory")
    undo = registry.REGISTRY.declare(books.declaration())
    try:
        connection = SimpleNamespace(settings=SimpleNamespace(auto_sync_customers=True, auto_sync_items=True))
        sent: list[CatalogJob] = []
        requests = CatalogRequests(
            runs=SimpleNamespace(start=lambda *_a, **_k: SimpleNamespace(run_id="run-1")),  # type: ignore[arg-type]
            connections=SimpleNamespace(  # type: ignore[arg-type]
                get=lambda _company, _provider: connection,
                accounting_connections=lambda _company: [connection],  # the company's one books
            ),
            queue=SimpleNamespace(enqueue=sent.append),  # type: ignore[arg-type]
            has_documents=lambda _company, _kind: True,
        )
        assert requests.request("acme", "memory", ["customers", "items", "invoices"]) == "run-1"
        assert requests.first_sync("acme", "memory") == "run-1"
        assert [(j.kinds, j.trigger) for j in sent] == [
            (("customers", "items", "invoices"), "manual"),
            (("customers", "items"), "first_sync"),
        ]
        pacing = Limiter(Limits(max_concurrent=1, requests_per_minute=10))
        writer = registry.catalog_writer(
            registry.declaration("memory"), None, "acct", FakeTokens(), None, pacing, lambda: None
        )
        assert isinstance(writer, OneByOne) and writer.batch_size == 1
        books.create_item(builders.item("i-1"), ItemRefs("1"), idempotency_key="typed-in")
        assert list(writer.find_items([builders.item("i-1"), builders.item("i-2", name="Other")])) == ["i-1"]
    finally:
        undo()
    quickbooks = registry.catalog_writer(
        registry.declaration("quickbooks"),
        settings(monkeypatch).provider_settings("quickbooks"),
        "realm-1",
        FakeTokens(),
        None,
        Limiter(Limits(max_concurrent=1, requests_per_minute=10)),
        lambda: None,
    )
    assert isinstance(quickbooks, QuickBooksCatalog) and quickbooks.batch_size == 30
    with pytest.raises(NotFoundError, match="knows no provider 'memory'"):
        registry.declaration("memory")  # declared for the test only
