"""The ports the sync engine speaks to.

``AccountingProvider`` is shaped for QuickBooks Online, Xero, FreshBooks and Wave alike:
- every write takes an ``idempotency_key`` (QuickBooks ``requestid``, Xero ``Idempotency-Key``;
  adapters of providers without one ignore it and rely on the engine's lookup-before-create);
- every object the provider holds comes back as a ``RemoteObject`` with an opaque ``version``
  (QuickBooks SyncToken; None where the provider has no optimistic locking);
- ``find_*`` calls are the lookups the engine makes before a create and after an uncertain
  outcome, each by the natural key the provider can search on; they return None, never raise,
  when nothing matches.
References to other remote objects travel as ``InvoiceRefs``/``PaymentRefs``/``RefundRefs`` so that an adapter
never reads booksync's tables.

``OAuthClient`` is the authorization-code flow and token lifecycle of one provider, with the
organisations a consent grants (``list_organisations``: one where a consent is for one account,
several where the user may pick, as Xero's tenants) and how a grant is given up (``disconnect``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Generic, Protocol, TypeVar, runtime_checkable

from booksync.documents import Address, Customer, Invoice, Item, Payment, PaymentMethod, Refund

T = TypeVar("T")
# A document the provider keys on by name: a customer (DisplayName) or an item (Name).
Named = TypeVar("Named", Customer, Item)


@dataclass(frozen=True)
class RemoteObject:
    """An object as it stands in the provider."""

    id: str
    version: str | None = None
    name: str | None = None
    # Totals the provider computed (e.g. invoice balance), for checks and summaries.
    total: Decimal | None = None
    balance: Decimal | None = None
    active: bool = True
    # An invoice that stands voided in the books (Xero's VOIDED): a thin webhook's fetch reads it
    # as a void made there.
    voided: bool = False
    marker: str | None = None
    currency: str | None = None  # ISO 4217, where the provider says (a QuickBooks customer's)


@dataclass(frozen=True)
class CompanyCurrencies:
    """What a company's books can hold: its home currency, and whether others are allowed."""

    home: str
    multicurrency: bool

    def books(self, currency: str) -> bool:
        return currency == self.home or self.multicurrency


class AccountKind(StrEnum):
    """What an account is for, in booksync's words: each adapter maps its provider's own types to
    these (QuickBooks' AccountType and AccountSubType, Xero's Type and Class...) and keeps the
    provider's own type beside the kind (``Account.account_type``, ``sub_type``)."""

    BANK = "bank"
    CLEARING = "clearing"  # money received and not yet banked (QuickBooks' Undeposited Funds)
    RECEIVABLE = "receivable"
    ASSET = "asset"  # any other asset
    CREDIT_CARD = "credit_card"
    PAYABLE = "payable"
    LIABILITY = "liability"  # any other liability
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"
    OTHER = "other"  # a type booksync has no word for: listed, never chosen for a purpose

    @property
    def classification(self) -> str:
        """Which of the five parts of the books it is in (Asset, Liability, Equity, Revenue,
        Expense); "" for ``OTHER``."""
        return _CLASSIFICATION.get(self, "")


_CLASSIFICATION: Mapping[AccountKind, str] = {
    AccountKind.BANK: "Asset",
    AccountKind.CLEARING: "Asset",
    AccountKind.RECEIVABLE: "Asset",
    AccountKind.ASSET: "Asset",
    AccountKind.CREDIT_CARD: "Liability",
    AccountKind.PAYABLE: "Liability",
    AccountKind.LIABILITY: "Liability",
    AccountKind.EQUITY: "Equity",
    AccountKind.INCOME: "Revenue",
    AccountKind.EXPENSE: "Expense",
}


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    kind: AccountKind
    account_type: str  # the provider's own type, e.g. "Income", "Bank", "Other Current Asset"
    sub_type: str | None = None  # the provider's own finer type, e.g. "UndepositedFunds"
    active: bool = True
    # The provider lets payments go into it though it is no bank or clearing account (Xero's
    # EnablePaymentsToAccount).
    payments_allowed: bool = False
    # The provider's own code for it, where it keeps one (Xero's Code: its items name their sales
    # account by it, so an income account without one cannot be an item's).
    code: str | None = None

    @property
    def classification(self) -> str:
        return self.kind.classification

    @property
    def takes_payments(self) -> bool:
        """Whether a payment can go into it: a bank or clearing account (QuickBooks' Undeposited
        Funds), or one the provider says accepts payments (``payments_allowed``)."""
        return self.payments_allowed or self.kind in (AccountKind.BANK, AccountKind.CLEARING)


@dataclass(frozen=True)
class InvoiceRefs:
    customer_id: str
    item_ids: Mapping[str, str]  # local item id -> remote item id
    marker: str  # booksync's marker, stored where the provider lets us search or read it back


@dataclass(frozen=True)
class PaymentRefs:
    customer_id: str
    invoice_id: str  # the (first) invoice it pays
    marker: str
    currency: str  # ISO 4217: the payment's, which is its invoices' (no default: said every time)
    # The account the money goes into (the connection's ``payment_account_id``, one that
    # ``Account.takes_payments``); None: the provider's default (QuickBooks: Undeposited Funds,
    # from which a payout's deposit takes it). A provider whose declaration has
    # ``payment_account_required`` never gets None: its payments wait until one is chosen.
    deposit_account_id: str | None = None
    # A payment applied across several invoices: (remote invoice id, amount) for each, in order.
    # Empty: the whole amount goes to ``invoice_id``. A provider whose declaration has no
    # payments_across_invoices never gets any: it is asked for one payment per invoice instead.
    applications: tuple[tuple[str, Decimal], ...] = ()

    def lines(self, amount: Decimal) -> list[tuple[str, Decimal]]:
        """(remote invoice id, amount applied) for each invoice the payment pays."""
        return list(self.applications) or [(self.invoice_id, amount)]

    def one_invoice(self, amount: Decimal) -> tuple[str, Decimal]:
        """(remote invoice id, amount) of a payment on one invoice: what a provider that records
        one payment per invoice is asked for (its declaration has no payments across invoices,
        so the core splits the rest)."""
        lines = self.lines(amount)
        if len(lines) != 1:
            raise AssertionError("one payment per invoice: the core splits a payment across invoices")
        return lines[0]


@dataclass(frozen=True)
class RefundRefs:
    customer_id: str
    marker: str
    method: PaymentMethod  # the refunded payment's method
    currency: str  # ISO 4217: its payment's (its invoices') currency
    # The account the money is paid from (``refunds_from_account_id``, else the payment account);
    # None: the provider's default (QBO: Undeposited Funds).
    from_account_id: str | None = None


@dataclass(frozen=True)
class ItemRefs:
    income_account_id: str | None


@dataclass(frozen=True)
class DepositLine:
    """One line of a bank deposit: a payment waiting in Undeposited Funds (``payment_id``, the
    provider's id; deposited whole), a refund receipt paid out of Undeposited Funds (``refund_id``;
    netted whole, a negative line) or money to/from an account (``account_id``; negative for fees)."""

    amount: Decimal
    description: str
    payment_id: str | None = None
    account_id: str | None = None
    refund_id: str | None = None


@dataclass(frozen=True)
class Deposit:
    """Money that reached the bank, as one provider deposit (total = sum of the lines)."""

    bank_account_id: str
    date: date
    marker: str  # booksync's marker: first line of the memo, what ``find_deposit`` matches
    memo: str  # the rest of the memo (payout id, bank reference)
    lines: tuple[DepositLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


@dataclass(frozen=True)
class RemoteCustomer:
    """A customer as the provider holds it, for the post-connection wizard (booksync/onboarding/)."""

    id: str
    display_name: str
    version: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    billing_address: Address | None = None
    active: bool = True


@dataclass(frozen=True)
class RemoteItem:
    """An item (product or service) as the provider holds it, for the post-connection wizard."""

    id: str
    name: str
    version: str | None = None
    sku: str | None = None
    type: str = "service"  # service | non_inventory | inventory | other (provider-neutral)
    unit_price: Decimal | None = None
    description: str | None = None
    income_account_id: str | None = None
    income_account_name: str | None = None
    taxable: bool = True
    active: bool = True


@dataclass(frozen=True)
class RemotePage(Generic[T]):
    """One page of a provider listing; ``next_start`` is where the next page starts (None: last)."""

    rows: tuple[T, ...]
    start: int
    next_start: int | None


@runtime_checkable
class ProviderDirectory(Protocol):
    """Paged reads of the provider's customers and items (``start`` is 1-based), for importing
    them into booksync. Beside ``AccountingProvider``: only the wizard reads whole lists."""

    name: str

    def list_customers(self, start: int, page_size: int) -> RemotePage[RemoteCustomer]: ...
    def list_items(self, start: int, page_size: int) -> RemotePage[RemoteItem]: ...


@runtime_checkable
class AccountingProvider(Protocol):
    """What the sync engine needs from an accounting system."""

    name: str

    # customers
    def find_customer(self, customer: Customer) -> RemoteObject | None: ...
    def get_customer(self, remote_id: str) -> RemoteObject | None: ...
    # ``currency``: the customer's, where the provider keeps one per customer (set once, at create).
    def create_customer(
        self, customer: Customer, *, idempotency_key: str, currency: str | None = None
    ) -> RemoteObject: ...
    def update_customer(
        self, remote: RemoteObject, customer: Customer, *, idempotency_key: str
    ) -> RemoteObject: ...

    def distinct(self, document: Named) -> Named:
        """``document`` (a customer or an item) under a name unique to it within the provider's
        limits, the same each time: for when its cleaned name is held by another record."""
        ...

    # items
    def find_item(self, item: Item) -> RemoteObject | None: ...
    def get_item(self, remote_id: str) -> RemoteObject | None: ...
    def create_item(self, item: Item, refs: ItemRefs, *, idempotency_key: str) -> RemoteObject: ...
    def update_item(
        self, remote: RemoteObject, item: Item, refs: ItemRefs, *, idempotency_key: str
    ) -> RemoteObject: ...

    # invoices
    def find_invoice(self, invoice: Invoice, marker: str) -> RemoteObject | None: ...
    def get_invoice(self, remote_id: str) -> RemoteObject | None: ...
    def create_invoice(
        self, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject: ...
    def update_invoice(
        self, remote: RemoteObject, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject: ...
    def void_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> RemoteObject: ...
    def delete_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> None: ...

    # payments
    def find_payment(self, payment: Payment, refs: PaymentRefs) -> RemoteObject | None: ...
    def create_payment(
        self, payment: Payment, refs: PaymentRefs, *, idempotency_key: str
    ) -> RemoteObject: ...

    # refunds
    def find_refund(self, refund: Refund, refs: RefundRefs) -> RemoteObject | None: ...
    def create_refund(self, refund: Refund, refs: RefundRefs, *, idempotency_key: str) -> RemoteObject: ...

    # chart of accounts
    def list_accounts(self) -> Sequence[Account]: ...

    # the company's currencies (QuickBooks: Preferences.CurrencyPrefs)
    def company_currencies(self) -> CompanyCurrencies: ...


@runtime_checkable
class PayoutBooks(Protocol):
    """Booking a payout: a payments processor's payout reaching the bank, as one deposit of the
    payments, refunds and fees it carries. The adapter of a provider that declares
    ``Capability.DEPOSITS`` implements it (QuickBooks: a Deposit out of Undeposited Funds); the
    payout job asks the declaration before it books, so other adapters need not."""

    name: str

    def find_deposit(self, deposit: Deposit) -> RemoteObject | None: ...
    def get_deposit(self, remote_id: str) -> RemoteObject | None: ...
    def create_deposit(self, deposit: Deposit, *, idempotency_key: str) -> RemoteObject: ...


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint answers. Never logged: ``__repr__`` hides the secrets."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    # The provider company the grant is for (QuickBooks realmId, Xero tenant), when the
    # token endpoint or redirect tells it.
    account_id: str | None = None


@dataclass(frozen=True)
class Organisation:
    """One provider company a consent grants: ``id`` is the one booksync claims and keys on
    (QuickBooks realm, Xero tenant, FreshBooks account), ``name`` what a person picks it by, and
    ``ids`` every id the provider keys it by, by kind (``{"realm": ...}``; Xero's
    ``{"tenant": ..., "connection": ...}``; FreshBooks' ``{"account": ..., "business": ...}``)."""

    id: str
    name: str | None
    ids: Mapping[str, str]


@runtime_checkable
class OAuthClient(Protocol):
    """Authorization-code flow and token lifecycle for one provider."""

    name: str
    # True: connecting sends a PKCE code_challenge and the code exchange its code_verifier
    # (RFC 7636); the one-time state row keeps the verifier between the two.
    uses_pkce: bool

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> str: ...
    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> TokenSet: ...
    def refresh(self, refresh_token: str) -> TokenSet: ...
    def revoke(self, token: str) -> None: ...
    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        """Whether ``tokens`` were granted for ``account_id``, as the provider says (a QuickBooks
        realmId comes on the browser's redirect, where it can be edited: one call bound to it
        answers; Square names its merchant with the tokens)."""
        ...

    def list_organisations(self, tokens: TokenSet) -> Sequence[Organisation]:
        """The organisations ``tokens`` were granted for. A provider with one account per consent
        answers that one (``tokens.account_id``, the redirect's where it names it); one whose
        consent may cover several (Xero's connections) asks, and an admin then picks one."""
        ...

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        """Give the grant up at the provider: revoke it, and whatever more the provider keeps
        (Xero: delete the connection ``ids["connection"]``). A grant already gone is success.
        True when given up there; False when the provider offers an app no way to (Wave: the
        user removes the app in the provider's own settings)."""
        ...


@runtime_checkable
class TokenSource(Protocol):
    """Gives an adapter a usable access token; refreshes are serialised behind it."""

    def access_token(self) -> str: ...

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        """The provider answered 401 to ``rejected_token``: get a fresher one (refreshing only
        if nobody has since). Raises ``NeedsReconnection`` when the grant is gone."""
        ...
