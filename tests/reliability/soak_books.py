"""The books the reliability suite writes to, one class per accounting provider: its sandbox (set
up so its throttles stay out of the way: the faults the soak injects are what it is about), the
functions' environment for it, the consent that connects a company, its idempotency-key switch,
and its ledger read back in booksync's terms (``Ledger``), so the soak's proof is written once.

A provider joins the soak with one subclass of ``SoakBooks`` and its row in ``SOAK_BOOKS``.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from local.sandboxes.kit.client import ControlClient
from tests.lambda_env import connect_company

CLIENT_ID, CLIENT_SECRET = "ABreliability001", "s3cr3t-for-reliability"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RemoteInvoice:
    customer: str  # the remote customer's id
    lines: list[tuple[str, Decimal]]  # (remote item id, amount) of each item line, in order
    total: Decimal
    balance: Decimal
    number: str


@dataclass(frozen=True)
class RemotePayment:
    amount: Decimal
    applied: list[tuple[str, Decimal]]  # (remote invoice id, amount)


@dataclass(frozen=True)
class RemoteRefund:
    amount: Decimal
    date: str  # YYYY-MM-DD


@dataclass
class Ledger:
    """One company's books as booksync's kinds, by remote id (each id once: ``unique`` checks)."""

    customers: dict[str, str] = field(default_factory=dict)  # id -> the name the books keep
    items: dict[str, str] = field(default_factory=dict)
    invoices: dict[str, RemoteInvoice] = field(default_factory=dict)
    payments: dict[str, RemotePayment] = field(default_factory=dict)
    refunds: dict[str, RemoteRefund] = field(default_factory=dict)


def unique(ids: list[str], what: str) -> None:
    twice = [rid for rid, n in Counter(ids).items() if n > 1]
    assert not twice, f"the books list {what} {twice[:3]} more than once"


def money(value: Any) -> Decimal:
    return Decimal(str(value))


class SoakBooks(ABC):
    """One provider's sandbox for the reliability suite (a context manager: started on enter)."""

    provider: ClassVar[str]
    # The provider API's paths (a regex): the faults the soak injects hit these, not OAuth.
    api_path: ClassVar[str]
    # How many of the soak's pairs of item names (test_soak.COLLIDING) the books would keep as
    # one name, so that one of each pair must get a name of its own. Where none, an item may still
    # be renamed beside another of its very name, letter case aside (sync/naming.namesake_item).
    colliding_pairs: ClassVar[int]
    control: ControlClient
    url: str

    @abstractmethod
    def __enter__(self) -> SoakBooks: ...

    def __exit__(self, *_: object) -> None:
        self._stack.close()

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    @abstractmethod
    def environment(self) -> dict[str, str]:
        """The provider's settings for the functions, naming this sandbox."""

    @abstractmethod
    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        """The company connects through the sandbox's consent; the account id it is connected to."""

    def consented(self, services: Any, company_id: str, user_id: str, redirect: str) -> str:
        """booksync's callback on the consent's ``redirect``, then the connection confirmed (the
        books' one organisation, no choice): the account id it is connected to."""
        query = parse_qs(urlsplit(redirect).query)
        consent = services.integrations.accept_callback(
            provider=self.provider, state=query["state"][0], code=query["code"][0], account_id=None
        )
        connected = services.integrations.confirm_connect(
            company_id=company_id, user_id=user_id, provider=self.provider, consent=consent
        )
        return str(connected.account_id)

    def prepare(self, services: Any, company_id: str, account: str) -> None:  # noqa: B027 - most need nothing
        """What the company's admin sets before the first sync, where the provider needs it."""

    @abstractmethod
    def honour_keys(self, honoured: bool) -> None:
        """Whether the sandbox replays a repeated idempotency key (else only booksync's intents
        and lookups after doubt stand between a retry and a duplicate)."""

    @abstractmethod
    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        """What the books hold (``refunds``: whether booksync recorded any, for the helper objects
        a provider makes on first need)."""

    def requests(self, account: str) -> list[dict[str, Any]]:
        return self.control.requests(account)


class QuickBooksBooks(SoakBooks):
    provider = "quickbooks"
    api_path = r"^/v3/company/"
    colliding_pairs = 3  # ':' stored as '-', names cut to 100, unique whatever their case
    REDIRECT = "https://api.example.com/oauth/quickbooks/callback"

    def __enter__(self) -> QuickBooksBooks:
        from local.sandboxes.quickbooks.config import ClientApp, Limits, SandboxConfig
        from local.sandboxes.quickbooks.control import SandboxControl
        from local.sandboxes.quickbooks.server import QuickBooksSandbox

        config = SandboxConfig(
            clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[self.REDIRECT])},
            limits=Limits(requests_per_minute=1_000_000, max_concurrent=1_000, batch_per_minute=1_000),
        )
        sandbox = self._stack.enter_context(QuickBooksSandbox(config=config))
        self.url = sandbox.url
        self.control = self._stack.enter_context(SandboxControl(sandbox.url))
        return self

    def environment(self) -> dict[str, str]:
        return {}  # tests.lambda_env.environment names the QuickBooks sandbox itself

    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        return connect_company(services, self.control, company_id, user_id=user_id)

    def honour_keys(self, honoured: bool) -> None:
        self.control.set_config(honor_request_id=honoured)

    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        entities: dict[str, list[dict[str, Any]]] = self.control.ledger(account)["entities"]  # type: ignore[attr-defined]
        # booksync's own "Refunds" item (made on first need for refund receipts) has no document.
        own = [obj for obj in entities.get("Item", []) if obj["Name"] == "Refunds"]
        assert len(own) == (1 if refunds else 0), "one Refunds item, whatever the retries"
        for entity in ("Customer", "Item", "Invoice", "Payment", "RefundReceipt"):
            unique([str(obj["Id"]) for obj in entities.get(entity, [])], entity)
        books = Ledger(
            customers={str(c["Id"]): c["DisplayName"] for c in entities.get("Customer", [])},
            items={str(i["Id"]): i["Name"] for i in entities.get("Item", []) if i["Name"] != "Refunds"},
        )
        for invoice in entities.get("Invoice", []):
            books.invoices[str(invoice["Id"])] = RemoteInvoice(
                customer=str(invoice["CustomerRef"]["value"]),
                lines=[
                    (str(line["SalesItemLineDetail"]["ItemRef"]["value"]), money(line["Amount"]))
                    for line in invoice["Line"]
                    if line.get("DetailType") == "SalesItemLineDetail"
                ],
                total=money(invoice["TotalAmt"]),
                balance=money(invoice["Balance"]),
                number=str(invoice.get("DocNumber")),
            )
        for payment in entities.get("Payment", []):
            books.payments[str(payment["Id"])] = RemotePayment(
                amount=money(payment["TotalAmt"]),
                applied=[
                    (str(txn["TxnId"]), money(line["Amount"]))
                    for line in payment.get("Line", [])
                    for txn in line.get("LinkedTxn", [])
                ],
            )
        for receipt in entities.get("RefundReceipt", []):
            # The money leaves Undeposited Funds, where the payments went (no account set).
            assert receipt["DepositToAccountRef"]["name"] == "Undeposited Funds", receipt["Id"]
            books.refunds[str(receipt["Id"])] = RemoteRefund(money(receipt["TotalAmt"]), receipt["TxnDate"])
        return books


class XeroBooks(SoakBooks):
    provider = "xero"
    api_path = r"^/api\.xro/2\.0/"
    colliding_pairs = 0  # an item is keyed by its Code, which the adapter keeps its own
    REDIRECT = "https://api.example.com/oauth/xero/callback"

    def __enter__(self) -> XeroBooks:
        from local.sandboxes.xero.config import ClientApp, XeroConfig
        from local.sandboxes.xero.server import XeroSandbox
        from local.sandboxes.xero.testing import XeroControl

        config = XeroConfig(
            clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[self.REDIRECT])},
            concurrent_limit=1_000,
            minute_limit=1_000_000,
            day_limit=1_000_000,
            app_minute_limit=1_000_000,
        )
        sandbox = self._stack.enter_context(XeroSandbox(config=config, organisations=("Soak Ltd",)))
        self.url = sandbox.url
        self.control = self._stack.enter_context(XeroControl(sandbox.url))
        return self

    def environment(self) -> dict[str, str]:
        return {
            "XERO_CLIENT_ID": CLIENT_ID,
            "XERO_CLIENT_SECRET": CLIENT_SECRET,
            "XERO_AUTH_URL": f"{self.url}/identity/connect/authorize",
            "XERO_TOKEN_URL": f"{self.url}/connect/token",
            "XERO_REVOKE_URL": f"{self.url}/connect/revocation",
            "XERO_CONNECTIONS_URL": f"{self.url}/connections",
            "XERO_API_BASE_URL": f"{self.url}/api.xro/2.0",
        }

    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        """The user ticks the sandbox's one organisation and allows: connected to it (no choice)."""
        url = services.integrations.start_connect(
            company_id=company_id, user_id=user_id, provider=self.provider
        )
        return self.consented(services, company_id, user_id, self.control.consent_at(url))  # type: ignore[attr-defined]

    def prepare(self, services: Any, company_id: str, account: str) -> None:
        """Payments go into the organisation's Business Bank Account (Xero needs one chosen)."""
        accounts = self.control.ledger(account)["accounts"]  # type: ignore[attr-defined]
        [bank] = [a["AccountID"] for a in accounts if a["Name"] == "Business Bank Account"]
        services.accounts.set_payment_account(company_id, self.provider, bank)

    def honour_keys(self, honoured: bool) -> None:
        # Xero keeps a key 6 minutes; ignoring it is keeping it for none.
        self.control.set_config(idempotency_ttl_s=6 * 60 if honoured else 0)

    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        from local.sandboxes.xero.books import day

        books: dict[str, list[dict[str, Any]]] = self.control.ledger(account)  # type: ignore[attr-defined]
        for name, key in (
            ("contacts", "ContactID"),
            ("items", "ItemID"),
            ("invoices", "InvoiceID"),
            ("payments", "PaymentID"),
            ("credit_notes", "CreditNoteID"),
        ):
            unique([str(obj[key]) for obj in books[name]], name)
        item_ids = {str(i["Code"]): str(i["ItemID"]) for i in books["items"]}
        found = Ledger(
            customers={str(c["ContactID"]): c["Name"] for c in books["contacts"]},
            items={str(i["ItemID"]): i["Name"] for i in books["items"]},
        )
        for invoice in books["invoices"]:
            found.invoices[str(invoice["InvoiceID"])] = RemoteInvoice(
                customer=str(invoice["Contact"]["ContactID"]),
                # Each item line at its price (its LineAmount is after its share of the discount).
                lines=[
                    (
                        item_ids[str(line["ItemCode"])],
                        (money(line["Quantity"]) * money(line["UnitAmount"])).quantize(CENT),
                    )
                    for line in invoice["LineItems"]
                    if line.get("ItemCode") is not None
                ],
                total=money(invoice["Total"]),
                balance=money(invoice["AmountDue"]),
                number=str(invoice["InvoiceNumber"]),
            )
        paid_out: dict[str, list[Decimal]] = {}
        for payment in books["payments"]:
            if "CreditNote" in payment:  # a refund's money paid out on its credit note (below)
                paid_out.setdefault(str(payment["CreditNote"]["CreditNoteID"]), []).append(
                    money(payment["Amount"])
                )
                continue
            found.payments[str(payment["PaymentID"])] = RemotePayment(
                amount=money(payment["Amount"]),
                applied=[(str(payment["Invoice"]["InvoiceID"]), money(payment["Amount"]))],
            )
        for note in books["credit_notes"]:
            # A refund is a credit note paid out, once: one payment of its whole amount.
            note_id = str(note["CreditNoteID"])
            got = paid_out.pop(note_id, [])
            assert got == [money(note["Total"])], f"credit note {note_id} of {note['Total']}: paid out {got}"
            found.refunds[note_id] = RemoteRefund(money(note["Total"]), day(note["Date"], "Date").isoformat())
        return found


class WaveBooks(SoakBooks):
    provider = "wave"
    api_path = r"^/graphql/public"
    colliding_pairs = 0  # Wave keeps no name unique: two products may share one (namesake rule aside)
    REDIRECT = "https://api.example.com/oauth/wave/callback"

    def __enter__(self) -> WaveBooks:
        from local.sandboxes.wave.config import ClientApp, WaveConfig
        from local.sandboxes.wave.server import WaveSandbox
        from local.sandboxes.wave.testing import WaveControl

        config = WaveConfig(
            clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[self.REDIRECT])},
            concurrent_limit=1_000,
        )
        sandbox = self._stack.enter_context(
            WaveSandbox(config=config, businesses=({"name": "Soak Inc", "currency": "USD", "plan": "pro"},))
        )
        self.url = sandbox.url
        self.control = self._stack.enter_context(WaveControl(sandbox.url))
        return self

    def environment(self) -> dict[str, str]:
        from local.sandboxes.wave.testing import SCOPES

        return {
            "WAVE_CLIENT_ID": CLIENT_ID,
            "WAVE_CLIENT_SECRET": CLIENT_SECRET,
            "WAVE_AUTH_URL": f"{self.url}/oauth2/authorize/",
            "WAVE_TOKEN_URL": f"{self.url}/oauth2/token/",
            "WAVE_GRAPHQL_URL": f"{self.url}/graphql/public",
            "WAVE_SCOPES": SCOPES,
        }

    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        """The user picks the sandbox's one business and allows: connected to it."""
        url = services.integrations.start_connect(
            company_id=company_id, user_id=user_id, provider=self.provider
        )
        business = self.control.business_id("Soak Inc")  # type: ignore[attr-defined]
        return self.consented(services, company_id, user_id, self.control.consent_at(url, business))  # type: ignore[attr-defined]

    def prepare(self, services: Any, company_id: str, account: str) -> None:
        """Payments go into the business's checking account (Wave needs one chosen)."""
        accounts = self.control.ledger(account)["accounts"]  # type: ignore[attr-defined]
        [bank] = [a["id"] for a in accounts if a["name"] == "Business Checking"]
        services.accounts.set_payment_account(company_id, self.provider, bank)

    def honour_keys(self, honoured: bool) -> None:
        """Wave has no idempotency key: booksync's intents and lookups carry every run alone."""

    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        books: dict[str, list[dict[str, Any]]] = self.control.ledger(account)  # type: ignore[attr-defined]
        for name in ("customers", "products", "invoices", "payments"):
            unique([str(obj["id"]) for obj in books[name]], name)
        found = Ledger(
            customers={str(c["id"]): c["name"] for c in books["customers"]},
            items={str(p["id"]): p["name"] for p in books["products"]},
        )
        for invoice in books["invoices"]:
            found.invoices[str(invoice["id"])] = RemoteInvoice(
                customer=str(invoice["customerId"]),
                lines=[
                    (
                        str(line["productId"]),
                        (money(line["quantity"]) * money(line["unitPrice"])).quantize(CENT),
                    )
                    for line in invoice["items"]
                ],
                total=money(invoice["total"]),
                balance=money(invoice["amountDue"]),
                number=str(invoice["invoiceNumber"]),
            )
        for payment in books["payments"]:
            found.payments[str(payment["id"])] = RemotePayment(
                amount=money(payment["amount"]),
                applied=[(str(payment["invoiceId"]), money(payment["amount"]))],
            )
        return found


class FreshBooksBooks(SoakBooks):
    provider = "freshbooks"
    api_path = r"^/accounting/account/"
    colliding_pairs = 0  # FreshBooks keeps two items under one name: none is renamed
    REDIRECT = "https://api.example.com/oauth/freshbooks/callback"

    def __enter__(self) -> FreshBooksBooks:
        from local.sandboxes.freshbooks.config import FreshBooksConfig
        from local.sandboxes.freshbooks.server import FreshBooksSandbox
        from local.sandboxes.freshbooks.testing import FreshBooksControl
        from local.sandboxes.kit.oauth import ClientApp

        config = FreshBooksConfig(
            clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[self.REDIRECT])},
            business_minute_limit=0,
            delivery="manual",
        )
        sandbox = self._stack.enter_context(FreshBooksSandbox(config=config, businesses=("Soak Studio",)))
        self.url = sandbox.url
        self.control = self._stack.enter_context(FreshBooksControl(sandbox.url))
        return self

    def environment(self) -> dict[str, str]:
        from tests.lambda_env import freshbooks_environment

        return freshbooks_environment(self.url, CLIENT_ID, CLIENT_SECRET)

    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        """The user allows; the sandbox's one business is the one connected (no choice)."""
        url = services.integrations.start_connect(
            company_id=company_id, user_id=user_id, provider=self.provider
        )
        return self.consented(services, company_id, user_id, self.control.consent_at(url))  # type: ignore[attr-defined]

    def honour_keys(self, honoured: bool) -> None:
        """FreshBooks has no idempotency key: booksync's intents and lookups carry every run alone."""

    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        books: dict[str, list[dict[str, Any]]] = self.control.ledger(account)  # type: ignore[attr-defined]
        live = {
            name: [r for r in books[name] if r.get("vis_state") != 1] for name in books if name != "events"
        }
        for name in ("clients", "items", "invoices", "payments"):
            unique([str(obj["id"]) for obj in live[name]], name)
        found = Ledger(
            customers={str(c["id"]): c["organization"] for c in live["clients"]},
            items={str(i["id"]): i["name"] for i in live["items"]},
        )
        for invoice in live["invoices"]:
            found.invoices[str(invoice["id"])] = RemoteInvoice(
                customer=str(invoice["customerid"]),
                # A line names its item by name (FreshBooks' lines carry no item id): the live item
                # of that name, where only one has it.
                lines=[
                    (_one_named(live["items"], line["name"]), money(line["amount"]["amount"]))
                    for line in invoice["lines"]
                ],
                total=money(invoice["amount"]["amount"]),
                balance=money(invoice["outstanding"]["amount"]),
                number=str(invoice["invoice_number"]),
            )
        for payment in live["payments"]:
            found.payments[str(payment["id"])] = RemotePayment(
                amount=money(payment["amount"]["amount"]),
                applied=[(str(payment["invoiceid"]), money(payment["amount"]["amount"]))],
            )
        return found


def _one_named(items: list[dict[str, Any]], name: str) -> str:
    named = [str(i["id"]) for i in items if i["name"] == name]
    assert len(named) == 1, f"{len(named)} items named {name!r} in the books"
    return named[0]


SOAK_BOOKS: dict[str, type[SoakBooks]] = {
    "quickbooks": QuickBooksBooks,
    "xero": XeroBooks,
    "wave": WaveBooks,
    "freshbooks": FreshBooksBooks,
}


@contextlib.contextmanager
def soak_books(provider: str) -> Iterator[SoakBooks]:
    with SOAK_BOOKS[provider]() as books:
        yield books
