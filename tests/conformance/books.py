"""The books each provider's conformance run writes to: the provider's adapter against its local
books (its sandbox, or memory) and the faults those books can inject, behind one interface.

A provider plugs into the suite with one subclass of ``Books`` and one row in ``PROVIDERS``
(tests/conformance/conftest.py). The suite reads what the books hold from the books themselves
(a sandbox's ledger, the in-memory objects), never through the adapter it is testing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from booksync.errors import ConnectionDown, RateLimited
from booksync.providers.bulk import CatalogProvider, Gate
from booksync.providers.declaration import AnyDeclaration, Capability, Limits
from booksync.providers.freshbooks.declaration import DECLARATION as FRESHBOOKS
from booksync.providers.freshbooks.oauth import FreshBooksOAuth
from booksync.providers.port import (
    AccountingProvider,
    OAuthClient,
    ProviderDirectory,
    RemoteCustomer,
    RemoteItem,
    TokenSet,
)
from booksync.providers.quickbooks.oauth import QuickBooksOAuth
from booksync.providers.registry import catalog_writer, declaration
from booksync.providers.xero.oauth import XeroOAuth
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.settings import FreshBooksSettings, QuickBooksSettings, WaveSettings, XeroSettings
from booksync.store.connections import ConnectionRepository, TokenTimes
from booksync.store.rate_limits import DynamoRateLimiter
from booksync.sync.rate_limits import ConnectionGate, declared_limits
from booksync.wiring import connection_gate

from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl
from local.sandboxes.kit.oauth import ClientApp as KitApp
from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.wave.config import ClientApp as WaveApp
from local.sandboxes.wave.config import WaveConfig
from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import SCOPES as WAVE_SCOPES
from local.sandboxes.wave.testing import WaveControl
from local.sandboxes.xero.config import ClientApp as XeroApp
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import SCOPES as XERO_SCOPES
from local.sandboxes.xero.testing import XeroControl
from tests.fakes.oauth import FakeOAuth
from tests.fakes.provider import FakeProvider, plain_books
from tests.lambda_env import freshbooks_environment

# What the suite counts in the books: booksync's document kinds.
KINDS = ("customer", "item", "invoice", "payment", "refund")


@dataclass(frozen=True)
class SeenInvoice:
    """An invoice as the books hold it."""

    total: Decimal
    balance: Decimal
    memo: str | None


class Books(ABC):
    """One company's books at one provider, connected through the provider's own OAuth and
    booksync's token store (KMS-sealed tokens, the fenced refresh), as in production."""

    provider: ClassVar[str]  # the key its connections and jobs carry
    # Whether its books can be made to accept two customers or items under one name.
    DUPLICATE_NAMES: ClassVar[bool] = False

    def __init__(self, company: str, connections: ConnectionRepository, vault: KmsTokenVault) -> None:
        self.company = company
        self._connections = connections
        self._vault = vault
        self.oauth = self._oauth()
        self.tokens = ConnectionTokenSource(
            company_id=company,
            provider=self.provider,
            repository=connections,
            cipher=vault,
            oauth=self.oauth,
        )

    @functools.cached_property
    def adapter(self) -> AccountingProvider:
        """The adapter as booksync builds it for the connection (connect first)."""
        return self._adapter()

    @property
    def limits(self) -> Limits:
        """The limits the provider declares (its in-flight cap among them)."""
        limits = declared_limits(self.provider)
        assert limits is not None, f"{self.provider} declares no limits"
        return limits

    def gate(self) -> ConnectionGate:
        """The connection's gate, as booksync builds it: the shared limiter with the declared limits."""
        connection = self._connections.get(self.company, self.provider)
        assert connection is not None, "connect first"
        gate = connection_gate(connection, DynamoRateLimiter())
        assert gate is not None
        return gate

    @classmethod
    def open(cls, request: pytest.FixtureRequest, *company: Any) -> Books:
        """A new company's books: ``company`` is ``__init__``'s arguments (a provider whose books
        need fixtures, such as its sandbox, takes them from ``request``)."""
        return cls(*company)

    def connect(self) -> None:
        """The user consents (again, after a revocation): the tokens are stored as booksync stores them."""
        tokens, account_id = self._consent()
        connection_id = self._connections.new_connection_id()
        context = TokenContext(self.company, self.provider, connection_id)
        refresh_expiry = tokens.refresh_expires_at
        self._connections.store_connection(
            company_id=self.company,
            provider=self.provider,
            connection_id=connection_id,
            account_id=account_id,
            sealed=self._vault.seal(PlainTokens(tokens.access_token, tokens.refresh_token), context),
            times=TokenTimes(
                access_expires_at=tokens.access_expires_at.timestamp(),
                refresh_expires_at=refresh_expiry.timestamp() if refresh_expiry else None,
            ),
            has_refresh_token=bool(tokens.refresh_token),
            connected_by="conformance-admin",
            now=time.time(),
            refresh_every=86_400,
        )

    # -- the provider's parts --------------------------------------------------------------------
    def declaration(self) -> AnyDeclaration:
        """The provider as its package declares it (providers/registry.py)."""
        return declaration(self.provider)

    def settings(self) -> Any:
        """The provider's settings, as its declaration's builders take them, naming these books."""
        return None

    @property
    def account_id(self) -> str:
        connection = self._connections.get(self.company, self.provider)
        assert connection is not None, "connect first"
        return str(connection.account_id)

    def catalog(self, pacing: Gate, deadline: Callable[[], float | None]) -> CatalogProvider:
        """Sync Now's catalog writer as booksync chooses it: the declaration's batch writer, or
        the adapter one record a request where the provider declares no batch writes."""
        return catalog_writer(
            self.declaration(), self.settings(), self.account_id, self.tokens, self.gate(), pacing, deadline
        )

    def directory(self) -> ProviderDirectory:
        """The wizard's reads of what the books hold, as the declaration builds them."""
        build = self.declaration().builders.directory
        assert build is not None, f"{self.provider} declares no directory"
        return build(self.settings(), self.account_id, self.tokens, self.gate())

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """What its declaration says it can do (the suite's tests of it run where it can)."""
        return declaration(cls.provider).supports(capability)

    @classmethod
    def day_capped(cls) -> bool:
        """Whether it declares a cap on a company's requests a day (its books answer 429 past it)."""
        limits = declaration(cls.provider).limits
        return limits is not None and limits.requests_per_day is not None

    @classmethod
    def requires_payment_account(cls) -> bool:
        """Whether its payments need the account they go into (``payment_account_required``):
        the suite chooses one for each world, as an admin does in Account mapping."""
        return declaration(cls.provider).payment_account_required

    @abstractmethod
    def _oauth(self) -> OAuthClient: ...

    @abstractmethod
    def _adapter(self) -> AccountingProvider:
        """The adapter for the connection, with ``self.tokens``."""

    @abstractmethod
    def _consent(self) -> tuple[TokenSet, str]:
        """The consent round trip: the tokens and the provider account they are for."""

    # -- what the books hold ---------------------------------------------------------------------
    @abstractmethod
    def count(self, kind: str) -> int:
        """How many objects of booksync's ``kind`` (``KINDS``) the books hold."""

    def counts(self, *kinds: str) -> tuple[int, ...]:
        return tuple(self.count(kind) for kind in kinds)

    @abstractmethod
    def invoice(self, remote_id: str) -> SeenInvoice: ...

    @abstractmethod
    def item_price(self, remote_id: str) -> Decimal:
        """The unit price of the item the books hold under ``remote_id``."""

    def payment_account(self, remote_id: str) -> str | None:
        """The account the payment the books hold under ``remote_id`` went into (needed of books
        that declare ``payment_account_required``)."""
        raise AssertionError(f"{self.provider}'s books need payment_account() for its payment account test")

    # -- faults ----------------------------------------------------------------------------------
    def accept_duplicate_names(self) -> None:
        """From now on the books accept a second customer or item under a name one holds (as
        FreshBooks and Wave do), where they can be made to (``DUPLICATE_NAMES``)."""
        raise AssertionError(f"{self.provider}'s books always refuse a duplicate name")

    @abstractmethod
    def lose_answer(self, kind: str, operation: str = "create") -> None:
        """The next ``operation`` of ``kind`` is committed, and its answer lost (a reset)."""

    @abstractmethod
    def throttle(self, kind: str, retry_after: int) -> None:
        """The next create of ``kind`` is refused with 429 and this Retry-After (seconds)."""

    def spend_day(self) -> None:
        """The company's requests for the books' day are spent (by other apps too): every call is
        refused with the books' daily-limit 429 until ``restore_day`` (books that declare a cap)."""
        raise AssertionError(f"{self.provider} declares no daily cap")

    def restore_day(self) -> None:
        """The books' next day: calls are counted afresh."""
        raise AssertionError(f"{self.provider} declares no daily cap")

    @abstractmethod
    def revoke(self) -> None:
        """The user disconnects booksync in the provider: every token of the grant dies."""

    @abstractmethod
    def slow(self, seconds: float) -> None:
        """Every API call takes this long to answer (so calls overlap)."""

    @abstractmethod
    def refused_over_limits(self) -> int:
        """How many calls the books refused (429) for going over the provider's limits."""

    @abstractmethod
    def refuse(self) -> None:
        """Every API call is refused as unauthorised (401), a freshly refreshed token's too."""

    @abstractmethod
    def allow(self) -> None:
        """API calls are judged by their token again."""


# ------------------------------------------------------------------------------------- QuickBooks

QBO_CLIENT_ID, QBO_CLIENT_SECRET = "conformance-app", "conformance-secret-0001"
QBO_REDIRECT = "https://booksync.test/oauth/quickbooks/callback"
QBO_ENTITIES = {
    "customer": "Customer",
    "item": "Item",
    "invoice": "Invoice",
    "payment": "Payment",
    "refund": "RefundReceipt",
}


def start_quickbooks_sandbox() -> QuickBooksSandbox:
    """The QuickBooks sandbox the suite runs against. It ignores requestid, as Intuit does not
    promise to honour it: booksync's intents and lookups must carry exactly-once on their own."""
    config = SandboxConfig(
        clients={QBO_CLIENT_ID: ClientApp(secret=QBO_CLIENT_SECRET, redirect_uris=[QBO_REDIRECT])},
        honor_request_id=False,
    )
    return QuickBooksSandbox(host="127.0.0.1", port=0, config=config).start()


class QuickBooksBooks(Books):
    """The QuickBooks adapter against the QuickBooks sandbox (a new company per test)."""

    provider = "quickbooks"

    def __init__(self, sandbox: QuickBooksSandbox, control: SandboxControl, *args: Any) -> None:
        self._sandbox = sandbox
        self.control = control
        self.realm: str | None = None
        super().__init__(*args)

    @classmethod
    def open(cls, request: pytest.FixtureRequest, *company: Any) -> Books:
        sandbox: QuickBooksSandbox = request.getfixturevalue("quickbooks_sandbox")
        control = SandboxControl(sandbox.url)
        request.addfinalizer(control.close)
        return cls(sandbox, control, *company)

    def settings(self) -> QuickBooksSettings:
        """QuickBooks' settings as a deployment names them (QBO_*), pointed at the sandbox."""
        url = self._sandbox.url
        return QuickBooksSettings.model_validate(
            {
                "QBO_API_BASE_URL": url,
                "QBO_AUTH_URL": f"{url}/connect/oauth2",
                "QBO_TOKEN_URL": f"{url}/oauth2/v1/tokens/bearer",
                "QBO_REVOKE_URL": f"{url}/v2/oauth2/tokens/revoke",
                "QBO_CLIENT_ID": QBO_CLIENT_ID,
                "QBO_CLIENT_SECRET": QBO_CLIENT_SECRET,
            }
        )

    def _oauth(self) -> OAuthClient:
        return self.declaration().builders.oauth(self.settings())

    def _adapter(self) -> AccountingProvider:
        """Built by QuickBooks' declaration, as the sync worker builds it (the process-wide client)."""
        build = self.declaration().builders.adapter
        assert build is not None and self.realm is not None, "connect first"
        return build(self.settings(), self.realm, self.tokens, self.gate())

    def _consent(self) -> tuple[TokenSet, str]:
        oauth = self.oauth
        assert isinstance(oauth, QuickBooksOAuth)
        authorize = oauth.authorization_url(state=uuid.uuid4().hex, redirect_uri=QBO_REDIRECT)
        query = parse_qs(urlsplit(self.control.approve_consent(authorize, realm=self.realm)).query)
        self.realm = query["realmId"][0]
        tokens = oauth.exchange_code(code=query["code"][0], redirect_uri=QBO_REDIRECT, realm_id=self.realm)
        return tokens, self.realm

    def _entities(self, kind: str) -> list[dict[str, Any]]:
        assert self.realm is not None
        entities: list[dict[str, Any]] = self.control.ledger(self.realm)["entities"][QBO_ENTITIES[kind]]
        return entities

    def count(self, kind: str) -> int:
        return len(self._entities(kind))

    def item_price(self, remote_id: str) -> Decimal:
        (stored,) = (i for i in self._entities("item") if i["Id"] == remote_id)
        return Decimal(str(stored["UnitPrice"]))

    def invoice(self, remote_id: str) -> SeenInvoice:
        (stored,) = (i for i in self._entities("invoice") if i["Id"] == remote_id)
        return SeenInvoice(
            total=Decimal(str(stored["TotalAmt"])),
            balance=Decimal(str(stored["Balance"])),
            memo=(stored.get("CustomerMemo") or {}).get("value"),
        )

    def _fault(self, action: str, **match: object) -> None:
        self.control.add_fault(action, realm=self.realm, **match)

    def lose_answer(self, kind: str, operation: str = "create") -> None:
        self._fault("commit_then_reset", entity=QBO_ENTITIES[kind], operation=operation, times=1)

    def throttle(self, kind: str, retry_after: int) -> None:
        self._fault(
            "http_429", entity=QBO_ENTITIES[kind], operation="create", times=1, retry_after=retry_after
        )

    def slow(self, seconds: float) -> None:
        self._sandbox.config.latency_ms = round(seconds * 1000)  # the sandbox's fixture resets it

    def refused_over_limits(self) -> int:
        # The sandbox throttles as Intuit does (its limits are Intuit's: 10 in flight a company).
        return sum(1 for r in self.control.requests(self.realm) if r["status"] == 429)

    def revoke(self) -> None:
        assert self.realm is not None
        self.control.revoke_grant(self.realm)

    def refuse(self) -> None:
        self._fault("http_401", path=r"^/v3/company/")

    def allow(self) -> None:
        self.control.clear_faults()


# ------------------------------------------------------------------------------------------ Xero

XERO_CLIENT_ID, XERO_CLIENT_SECRET = "conformance-xero-app", "conformance-xero-secret-0001"
XERO_REDIRECT = "https://booksync.test/oauth/xero/callback"
XERO_COLLECTIONS = {
    "customer": "contacts",
    "item": "items",
    "invoice": "invoices",
    "payment": "payments",
    "refund": "credit_notes",
}


def _xero_entity(kind: str) -> str:
    """How the sandbox's fault rules name the collection (``creditnotes``)."""
    return XERO_COLLECTIONS[kind].replace("_", "")


def start_xero_sandbox() -> XeroSandbox:
    """The Xero sandbox the suite runs against, with a delay every Accounting call can be given
    while it holds its place among the organisation's calls in flight (``XeroBooks.slow``)."""
    config = XeroConfig(
        clients={XERO_CLIENT_ID: XeroApp(secret=XERO_CLIENT_SECRET, redirect_uris=[XERO_REDIRECT])}
    )
    sandbox = XeroSandbox(config=config, organisations=()).start()
    serve = sandbox.accounting._serve
    sandbox.latency = 0.0  # type: ignore[attr-defined]

    def slowed(*args: Any) -> Any:
        time.sleep(sandbox.latency)  # type: ignore[attr-defined]
        return serve(*args)

    sandbox.accounting._serve = slowed  # type: ignore[method-assign]
    return sandbox


class SandboxBooks(Books):
    """Books in a provider's sandbox (a session's server, this test's controls): the OAuth client
    and the adapter built by the provider's declaration from ``settings()``, as booksync builds
    them, for the account the connection holds."""

    SANDBOX_FIXTURE: ClassVar[str]  # the fixture that serves the sandbox
    CONTROL: ClassVar[Callable[[str], Any]]  # the sandbox's control client, by its URL

    def __init__(self, sandbox: Any, control: Any, *args: Any) -> None:
        self._sandbox = sandbox
        self.control = control
        super().__init__(*args)

    @classmethod
    def open(cls, request: pytest.FixtureRequest, *company: Any) -> Books:
        sandbox = request.getfixturevalue(cls.SANDBOX_FIXTURE)
        control = cls.CONTROL(sandbox.url)
        request.addfinalizer(control.close)
        return cls(sandbox, control, *company)

    def _oauth(self) -> OAuthClient:
        return self.declaration().builders.oauth(self.settings())

    def _adapter(self) -> AccountingProvider:
        """Built by the declaration, as the sync worker builds it (the process-wide client)."""
        build = self.declaration().builders.adapter
        assert build is not None, f"{self.provider} declares no adapter"
        return build(self.settings(), self.account_id, self.tokens, self.gate())


class XeroBooks(SandboxBooks):
    """The Xero adapter against the Xero sandbox: a new organisation per test, connected alone."""

    provider = "xero"

    SANDBOX_FIXTURE = "xero_sandbox"
    CONTROL = XeroControl

    def __init__(self, *args: Any) -> None:
        self.tenant: str | None = None
        super().__init__(*args)

    def settings(self) -> XeroSettings:
        """Xero's settings as a deployment names them (XERO_*), pointed at the sandbox."""
        url = self._sandbox.url
        return XeroSettings.model_validate(
            {
                "XERO_CLIENT_ID": XERO_CLIENT_ID,
                "XERO_CLIENT_SECRET": XERO_CLIENT_SECRET,
                "XERO_AUTH_URL": f"{url}/identity/connect/authorize",
                "XERO_TOKEN_URL": f"{url}/connect/token",
                "XERO_REVOKE_URL": f"{url}/connect/revocation",
                "XERO_CONNECTIONS_URL": f"{url}/connections",
                "XERO_API_BASE_URL": f"{url}/api.xro/2.0",
                "XERO_SCOPES": XERO_SCOPES,
            }
        )

    def _consent(self) -> tuple[TokenSet, str]:
        """The user ticks this company's organisation (made on first consent) and allows."""
        if self.tenant is None:
            self.tenant = self.control.call("POST", "/organisations", {"name": f"{self.company} Ltd"})[
                "organisation"
            ]["tenant_id"]
        oauth = self.oauth
        assert isinstance(oauth, XeroOAuth)
        code = self.control.consent(XERO_CLIENT_ID, XERO_REDIRECT, [self.tenant])["code"]
        tokens = oauth.exchange_code(code=code, redirect_uri=XERO_REDIRECT)
        assert [o.id for o in oauth.list_organisations(tokens)] == [self.tenant]
        return tokens, self.tenant

    def _records(self, kind: str) -> list[dict[str, Any]]:
        assert self.tenant is not None
        records = self.control.ledger(self.tenant)[XERO_COLLECTIONS[kind]]
        if kind == "payment":  # a refund's payment is part of the refund (its credit note paid out)
            return [r for r in records if "Invoice" in r]
        return records

    def count(self, kind: str) -> int:
        return len(self._records(kind))

    def item_price(self, remote_id: str) -> Decimal:
        (stored,) = (i for i in self._records("item") if i["ItemID"] == remote_id)
        return Decimal(str(stored["SalesDetails"]["UnitPrice"]))

    def payment_account(self, remote_id: str) -> str | None:
        (stored,) = (p for p in self._records("payment") if p["PaymentID"] == remote_id)
        return str(stored["Account"]["AccountID"])

    def invoice(self, remote_id: str) -> SeenInvoice:
        """A voided invoice counts for nothing (Xero keeps its lines, and owes nothing on it); the
        memo is the line with a description only."""
        (stored,) = (i for i in self._records("invoice") if i["InvoiceID"] == remote_id)
        notes = [line["Description"] for line in stored["LineItems"] if "ItemCode" not in line]
        voided = stored["Status"] == "VOIDED"
        return SeenInvoice(
            total=Decimal(0) if voided else Decimal(str(stored["Total"])),
            balance=Decimal(str(stored["AmountDue"])),
            memo=notes[-1] if notes else None,
        )

    def _fault(self, action: str, **match: object) -> None:
        self.control.add_fault(action, realm=self.tenant, **match)

    def lose_answer(self, kind: str, operation: str = "create") -> None:
        # Xero voids and deletes with an update (Status VOIDED, DELETED).
        found = "update" if operation in ("void", "delete") else operation
        self._fault("commit_then_reset", entity=_xero_entity(kind), operation=found, times=1)

    def throttle(self, kind: str, retry_after: int) -> None:
        self._fault(
            "http_429", entity=_xero_entity(kind), operation="create", times=1, retry_after=retry_after
        )

    def slow(self, seconds: float) -> None:
        self._sandbox.latency = seconds  # type: ignore[attr-defined]  # the sandbox's fixture resets it

    def spend_day(self) -> None:
        # The sandbox counts each organisation's calls over the last 24 hours (the fixture resets it).
        self._sandbox.config.day_limit = 0

    def restore_day(self) -> None:
        self._sandbox.config.day_limit = XeroConfig().day_limit

    def refused_over_limits(self) -> int:
        # The sandbox throttles as Xero does (5 in flight an organisation, 60 a minute).
        return sum(1 for r in self.control.requests(self.tenant) if r["status"] == 429)

    def revoke(self) -> None:
        """The organisation's user disconnects booksync in Xero: its connection and grant go."""
        assert self.tenant is not None
        self.control.call("POST", f"/organisations/{self.tenant}/disconnect", {})

    def refuse(self) -> None:
        self._fault("http_401", path=r"^/api\.xro/")

    def allow(self) -> None:
        self.control.clear_faults()


# ------------------------------------------------------------------------------------ FreshBooks

FRESHBOOKS_CLIENT_ID, FRESHBOOKS_CLIENT_SECRET = "conformance-freshbooks-app", "conformance-fb-secret-0001"
FRESHBOOKS_REDIRECT = "https://booksync.test/oauth/freshbooks/callback"
FRESHBOOKS_KINDS = {"customer": "client", "item": "item", "invoice": "invoice", "payment": "payment"}


def start_freshbooks_sandbox() -> FreshBooksSandbox:
    """The FreshBooks sandbox the suite runs against (no business until a test adds its own), its
    webhook callbacks kept until asked for, refusing (429) a business's calls past the FreshBooks
    adapter's declared concurrency, as an unpublished limit may (``latency_ms`` holds each call's
    place while it is served: ``FreshBooksBooks.slow``)."""
    assert FRESHBOOKS.limits is not None  # its settings' defaults (read_limits({}))
    config = FreshBooksConfig(
        clients={
            FRESHBOOKS_CLIENT_ID: KitApp(secret=FRESHBOOKS_CLIENT_SECRET, redirect_uris=[FRESHBOOKS_REDIRECT])
        },
        delivery="manual",
        business_concurrent_limit=FRESHBOOKS.limits.max_concurrent,
    )
    return FreshBooksSandbox(config=config, businesses=()).start()


class FreshBooksBooks(Books):
    """The FreshBooks adapter against the FreshBooks sandbox: a new business per test (the
    sandbox's one user holds them all: the consent lists every one, and this company's is chosen)."""

    provider = "freshbooks"
    DUPLICATE_NAMES = True  # FreshBooks keeps two clients, or two items, under one name

    def __init__(self, sandbox: FreshBooksSandbox, control: FreshBooksControl, *args: Any) -> None:
        self._sandbox = sandbox
        self.control = control
        self.business: str | None = None
        super().__init__(*args)

    @classmethod
    def open(cls, request: pytest.FixtureRequest, *company: Any) -> Books:
        sandbox: FreshBooksSandbox = request.getfixturevalue("freshbooks_sandbox")
        control = FreshBooksControl(sandbox.url)
        request.addfinalizer(control.close)
        return cls(sandbox, control, *company)

    def settings(self) -> FreshBooksSettings:
        """FreshBooks' settings as a deployment names them (FRESHBOOKS_*), pointed at the sandbox."""
        return FreshBooksSettings.model_validate(
            freshbooks_environment(self._sandbox.url, FRESHBOOKS_CLIENT_ID, FRESHBOOKS_CLIENT_SECRET)
        )

    def _oauth(self) -> OAuthClient:
        return self.declaration().builders.oauth(self.settings())

    def _adapter(self) -> AccountingProvider:
        """Built by FreshBooks' declaration, as the sync worker builds it (the process-wide client)."""
        build = self.declaration().builders.adapter
        assert build is not None and self.business is not None, "connect first"
        return build(self.settings(), self.business, self.tokens, self.gate())

    def _consent(self) -> tuple[TokenSet, str]:
        """The user allows; booksync lists the user's businesses and this company's is chosen."""
        if self.business is None:
            self.business = str(self.control.add_business(f"{self.company} Studio")["account_id"])
        oauth = self.oauth
        assert isinstance(oauth, FreshBooksOAuth)
        location = self.control.consent_at(
            oauth.authorization_url(state=uuid.uuid4().hex, redirect_uri=FRESHBOOKS_REDIRECT)
        )
        code = parse_qs(urlsplit(location).query)["code"][0]
        tokens = oauth.exchange_code(code=code, redirect_uri=FRESHBOOKS_REDIRECT)
        assert self.business in [o.id for o in oauth.list_organisations(tokens)]
        return tokens, self.business

    def _records(self, kind: str) -> list[dict[str, Any]]:
        assert self.business is not None
        plural = f"{FRESHBOOKS_KINDS[kind]}s"
        return [r for r in self.control.ledger(self.business)[plural] if r.get("vis_state") != 1]

    def count(self, kind: str) -> int:
        return len(self._records(kind))

    def item_price(self, remote_id: str) -> Decimal:
        (stored,) = (i for i in self._records("item") if str(i["id"]) == remote_id)
        return Decimal(str(stored["unit_cost"]["amount"]))

    def invoice(self, remote_id: str) -> SeenInvoice:
        (stored,) = (i for i in self._records("invoice") if str(i["id"]) == remote_id)
        return SeenInvoice(
            total=Decimal(str(stored["amount"]["amount"])),
            balance=Decimal(str(stored["outstanding"]["amount"])),
            memo=stored.get("notes") or None,
        )

    def accept_duplicate_names(self) -> None:
        """FreshBooks always does."""

    def _fault(self, action: str, **match: object) -> None:
        self.control.add_fault(action, realm=self.business, **match)

    def lose_answer(self, kind: str, operation: str = "create") -> None:
        self._fault("commit_then_reset", entity=FRESHBOOKS_KINDS[kind], operation=operation, times=1)

    def throttle(self, kind: str, retry_after: int) -> None:
        self._fault(
            "http_429", entity=FRESHBOOKS_KINDS[kind], operation="create", times=1, retry_after=retry_after
        )

    def slow(self, seconds: float) -> None:
        self._sandbox.config.latency_ms = round(seconds * 1000)  # the sandbox's fixture resets it

    def refused_over_limits(self) -> int:
        return sum(1 for r in self.control.requests(self.business) if r["status"] == 429)

    def revoke(self) -> None:
        """The user disconnects booksync in FreshBooks: every grant of the app ends."""
        self.control.disconnect()

    def refuse(self) -> None:
        self._fault("http_401", path=r"^/accounting/")

    def allow(self) -> None:
        self.control.clear_faults()


# ------------------------------------------------------------------------------------------ Wave

WAVE_CLIENT_ID, WAVE_CLIENT_SECRET = "conformance-wave-app", "conformance-wave-secret-0001"
WAVE_REDIRECT = "https://booksync.test/oauth/wave/callback"
WAVE_RECORDS = {"customer": "customers", "item": "products", "invoice": "invoices", "payment": "payments"}
# How the sandbox's fault rules name what a kind is written as.
WAVE_ENTITIES = {
    "customer": "customer",
    "item": "product",
    "invoice": "invoice",
    "payment": "invoice_payment",
}


def start_wave_sandbox() -> WaveSandbox:
    """The Wave sandbox the suite runs against: a business of each test's own, connected alone."""
    config = WaveConfig(
        clients={WAVE_CLIENT_ID: WaveApp(secret=WAVE_CLIENT_SECRET, redirect_uris=[WAVE_REDIRECT])}
    )
    return WaveSandbox(config=config, businesses=()).start()


class WaveBooks(SandboxBooks):
    """The Wave adapter against the Wave sandbox: a new business per test, connected alone. Wave
    records no refunds (its API has no mutation for them): the books never hold one."""

    provider = "wave"
    DUPLICATE_NAMES = True  # Wave keeps no name unique

    SANDBOX_FIXTURE = "wave_sandbox"
    CONTROL = WaveControl

    def __init__(self, *args: Any) -> None:
        self.business: str | None = None
        super().__init__(*args)

    def settings(self) -> WaveSettings:
        """Wave's settings as a deployment names them (WAVE_*), pointed at the sandbox."""
        url = self._sandbox.url
        return WaveSettings.model_validate(
            {
                "WAVE_CLIENT_ID": WAVE_CLIENT_ID,
                "WAVE_CLIENT_SECRET": WAVE_CLIENT_SECRET,
                "WAVE_AUTH_URL": f"{url}/oauth2/authorize/",
                "WAVE_TOKEN_URL": f"{url}/oauth2/token/",
                "WAVE_GRAPHQL_URL": f"{url}/graphql/public",
                "WAVE_SCOPES": WAVE_SCOPES,
            }
        )

    def _consent(self) -> tuple[TokenSet, str]:
        """The user picks this company's business (made on first consent, on a paid plan) and allows."""
        if self.business is None:
            self.business = self.control.add_business(f"{self.company} Inc", "USD", "pro")
        oauth = self.oauth
        authorize = oauth.authorization_url(state=uuid.uuid4().hex, redirect_uri=WAVE_REDIRECT)
        code = parse_qs(urlsplit(self.control.consent_at(authorize, self.business)).query)["code"][0]
        tokens = oauth.exchange_code(code=code, redirect_uri=WAVE_REDIRECT)
        assert [o.id for o in oauth.list_organisations(tokens)] == [self.business]
        return tokens, self.business

    def _records(self, kind: str) -> list[dict[str, Any]]:
        assert self.business is not None
        if kind not in WAVE_RECORDS:  # refunds: Wave records none
            return []
        records: list[dict[str, Any]] = self.control.ledger(self.business)[WAVE_RECORDS[kind]]
        return records

    def count(self, kind: str) -> int:
        return len(self._records(kind))

    def item_price(self, remote_id: str) -> Decimal:
        (stored,) = (p for p in self._records("item") if p["id"] == remote_id)
        return Decimal(str(stored["unitPrice"]))

    def payment_account(self, remote_id: str) -> str | None:
        (stored,) = (p for p in self._records("payment") if p["id"] == remote_id)
        return str(stored["paymentAccountId"])

    def invoice(self, remote_id: str) -> SeenInvoice:
        (stored,) = (i for i in self._records("invoice") if i["id"] == remote_id)
        return SeenInvoice(
            total=Decimal(str(stored["total"])),
            balance=Decimal(str(stored["amountDue"])),
            memo=stored.get("memo") or None,
        )

    def accept_duplicate_names(self) -> None:
        """Wave keeps no name unique: its books always accept a second one."""

    def _fault(self, action: str, **match: object) -> None:
        self.control.add_fault(action, realm=self.business, **match)

    def lose_answer(self, kind: str, operation: str = "create") -> None:
        self._fault("commit_then_reset", entity=WAVE_ENTITIES[kind], operation=operation, times=1)

    def throttle(self, kind: str, retry_after: int) -> None:
        self._fault(
            "http_429", entity=WAVE_ENTITIES[kind], operation="create", times=1, retry_after=retry_after
        )

    def slow(self, seconds: float) -> None:
        self._sandbox.config.latency_s = seconds  # the sandbox's fixture resets it

    def refused_over_limits(self) -> int:
        # The sandbox throttles as Wave is seen to (a 429 past 2 calls in flight).
        return sum(1 for r in self.control.requests(self.business) if r["status"] == 429)

    def revoke(self) -> None:
        """The user removes booksync's access to the business in Wave."""
        assert self.business is not None
        self.control.disconnect(self.business)

    def refuse(self) -> None:
        self._fault("http_401", path=r"^/graphql/")

    def allow(self) -> None:
        self.control.clear_faults()


# ----------------------------------------------------------------------------------- in memory


class BearerGate:
    """In-memory books behind an API's bearer check: every call is made with the access token the
    connection's token source gives, and the books accept only tokens the OAuth server issued and
    has not revoked. A refused call gets one refreshed token and one retry; refused again, the
    connection is down (as QuickBooksClient and every OAuth API client behaves)."""

    LOCAL = frozenset({"distinct", "with_remote"})  # what the adapter answers without a call

    def __init__(
        self,
        books: FakeProvider,
        tokens: ConnectionTokenSource,
        oauth: FakeOAuth,
        gate: ConnectionGate,
    ) -> None:
        self.books = books
        self.refusing = False
        self.latency = 0.0
        self.in_flight = 0
        self.over_limits = 0  # calls refused for going over the declared in-flight cap
        self._tokens = tokens
        self._oauth = oauth
        self._gate = gate
        self._lock = threading.Lock()

    def _accepts(self, token: str) -> bool:
        return not self.refusing and self._oauth.accepts(token)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.books, name)
        if name.startswith("_") or name in self.LOCAL or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            token = self._tokens.access_token()
            if not self._accepts(token) and not self._accepts(self._tokens.refreshed_after_rejection(token)):
                raise ConnectionDown(
                    "The books refuse booksync's access token (401).",
                    provider=self.books.name,
                    fix="Reconnect the integration.",
                )
            with self._gate.slot(batch=False), self._served():
                return attr(*args, **kwargs)

        return call

    @contextlib.contextmanager
    def _served(self) -> Iterator[None]:
        """One call at the books, which throttle past the declared in-flight cap (429)."""
        with self._lock:
            if self.in_flight >= self._gate.limits.max_concurrent:
                self.over_limits += 1
                raise RateLimited("429: too many requests in flight", provider=self.books.name, retry_after=1)
            self.in_flight += 1
        try:
            time.sleep(self.latency)
            yield
        finally:
            with self._lock:
                self.in_flight -= 1


class MemoryBooks(Books):
    """The in-memory provider (tests/fakes/provider.py, ``plain_books``) with no versions on its
    objects, no batch and no payments, under a provider name of its own that no fixed list in
    the core holds (``memory``), declared by the fake itself: nothing QuickBooks' package
    declares helps it pass, and its links are stored under its name as any provider's are."""

    provider = "memory"
    DUPLICATE_NAMES = True
    # Its published throttles: 2 requests in flight (a tight cap, so the suite passes it quickly).
    LIMITS = Limits(max_concurrent=2, requests_per_minute=1000)
    # What it declares beyond plain books' capabilities.
    MORE: tuple[Capability, ...] = ()
    # Whether its payments need the account they go into (as Xero's).
    PAYMENT_ACCOUNT_REQUIRED = False

    def __init__(self, *args: Any) -> None:
        self.memory = plain_books(*self.MORE, name=self.provider)
        self.memory.payment_account_required = self.PAYMENT_ACCOUNT_REQUIRED
        super().__init__(*args)

    def declaration(self) -> AnyDeclaration:
        return dataclasses.replace(self.memory.declaration(), limits=self.LIMITS)

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        return capability in plain_books(*cls.MORE).capabilities

    @classmethod
    def requires_payment_account(cls) -> bool:
        return cls.PAYMENT_ACCOUNT_REQUIRED

    @classmethod
    def day_capped(cls) -> bool:
        return cls.LIMITS.requests_per_day is not None

    def _oauth(self) -> OAuthClient:
        oauth = FakeOAuth()
        oauth.name = self.provider
        return oauth

    def _adapter(self) -> AccountingProvider:
        assert isinstance(self.oauth, FakeOAuth)
        self.gate_keeper = BearerGate(self.memory, self.tokens, self.oauth, self.gate())
        adapter: AccountingProvider = self.gate_keeper  # type: ignore[assignment]
        return adapter

    def _consent(self) -> tuple[TokenSet, str]:
        assert isinstance(self.oauth, FakeOAuth)
        return self.oauth.issue(), f"books-{self.company}"

    def count(self, kind: str) -> int:
        return len(self.memory.objects[kind])

    def item_price(self, remote_id: str) -> Decimal:
        return Decimal(self.memory.objects["item"][remote_id].data["price"])

    def payment_account(self, remote_id: str) -> str | None:
        account = self.memory.objects["payment"][remote_id].data["account"]
        return str(account) if account is not None else None

    def directory(self) -> ProviderDirectory:
        """The fake's listing (what a unit test seeds) made of what these books hold, read through
        the bearer check as every other call."""
        held = self.memory.objects
        self.memory.directory_customers[:] = [
            RemoteCustomer(id=s.id, display_name=s.data["name"], email=s.data["email"], active=s.active)
            for s in held["customer"].values()
        ]
        self.memory.directory_items[:] = [
            RemoteItem(
                id=s.id,
                name=s.data["name"],
                sku=s.data["sku"],
                unit_price=s.data["price"],
                income_account_id=s.data["account"],
                active=s.active,
            )
            for s in held["item"].values()
        ]
        directory: ProviderDirectory = self.gate_keeper  # type: ignore[assignment]
        return directory

    def invoice(self, remote_id: str) -> SeenInvoice:
        data = self.memory.objects["invoice"][remote_id].data
        return SeenInvoice(total=data["total"], balance=data["balance"], memo=data["memo"])

    def accept_duplicate_names(self) -> None:
        self.memory.unique_names = False

    def lose_answer(self, kind: str, operation: str = "create") -> None:
        self.memory.fail_next(f"{operation}_{kind}", "lost_answer")

    def throttle(self, kind: str, retry_after: int) -> None:
        self.memory.retry_after = retry_after
        self.memory.fail_next(f"create_{kind}", "rate_limited")

    def revoke(self) -> None:
        assert isinstance(self.oauth, FakeOAuth)
        self.oauth.revoke_grants()

    def slow(self, seconds: float) -> None:
        self.gate_keeper.latency = seconds

    def refused_over_limits(self) -> int:
        return self.gate_keeper.over_limits

    def refuse(self) -> None:
        self.gate_keeper.refusing = True

    def allow(self) -> None:
        self.gate_keeper.refusing = False


class PerInvoiceMemoryBooks(MemoryBooks):
    """The in-memory provider with payments and refunds, but no payment across invoices (as Xero
    records a payment per invoice), under a name of its own: booksync records a payment across
    invoices there as one payment per invoice. As Xero, its payments need the account they go
    into (a bank account): each world chooses one, and a payment waits while none is chosen."""

    provider = "memory-per-invoice"
    MORE = (Capability.PAYMENTS, Capability.REFUNDS)
    PAYMENT_ACCOUNT_REQUIRED = True


# Every accounting provider the suite runs for: each must pass every test of it.
PROVIDERS: dict[str, type[Books]] = {
    "quickbooks": QuickBooksBooks,
    "xero": XeroBooks,
    "freshbooks": FreshBooksBooks,
    "wave": WaveBooks,
    "memory": MemoryBooks,
    "memory-per-invoice": PerInvoiceMemoryBooks,
}


class Held:
    """``adapter`` with its first ``method`` call held before it is sent, until released: a
    worker caught in the middle of a write while another delivery of the same job runs."""

    def __init__(self, adapter: AccountingProvider, method: str) -> None:
        self.inner = adapter
        self.method = method
        self.entered = threading.Event()
        self.released = threading.Event()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.method or self.entered.is_set():
            return attr

        def held(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            assert self.released.wait(30), "never released"
            return attr(*args, **kwargs)

        return held


class Together:
    """``adapter`` whose ``method`` calls wait for one another and are sent at once (``parties``
    of them): as many requests as the jobs can make at the same moment."""

    def __init__(self, adapter: AccountingProvider, method: str, parties: int) -> None:
        self.inner = adapter
        self.method = method
        self.barrier = threading.Barrier(parties, timeout=60)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.method:
            return attr

        def together(*args: Any, **kwargs: Any) -> Any:
            self.barrier.wait()
            return attr(*args, **kwargs)

        return together
