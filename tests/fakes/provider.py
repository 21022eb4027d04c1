"""An in-memory accounting provider for engine tests, with faults the tests control.

It keeps what a real provider keeps (ids, versions, names, markers) and nothing of booksync's,
so the engine's links, lookups and intents are what make it exactly-once. Names are kept as
QuickBooks keeps them (cleaned and cut by the adapter's own rules: "a:b" is stored "a-b", a
500-character item name as its first 100), unique regardless of case; lookups find by exactly
the stored name, and a customer only when the rest of the record agrees (as the adapter does).

It declares itself as a provider does (``declaration()``): by default with QuickBooks'
capabilities; ``plain_books()`` is a provider with no versions, no batch writes and no payments
(nor refunds), which refuses what it cannot do, as such a provider would.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from booksync.documents import Customer, Invoice, Item, Payment, Refund
from booksync.errors import Conflict, DuplicateName, RateLimited, Rejected, TransientError
from booksync.onboarding.duplicates import surely_same
from booksync.providers.declaration import AnyDeclaration, Builders, Capability, ProviderDeclaration
from booksync.providers.port import (
    Account,
    AccountKind,
    CompanyCurrencies,
    Deposit,
    InvoiceRefs,
    ItemRefs,
    Named,
    PaymentRefs,
    RefundRefs,
    RemoteCustomer,
    RemoteItem,
    RemoteObject,
    RemotePage,
)
from booksync.providers.profile import ProviderProfile
from booksync.providers.quickbooks import mapping
from booksync.providers.quickbooks.declaration import DECLARATION as QUICKBOOKS
from booksync.providers.quickbooks.names import clean_display_name, clean_item_name, same_name
from booksync.providers.text import name_key

T = TypeVar("T")


@dataclass
class Stored:
    id: str
    version: int
    data: dict[str, Any]
    active: bool = True


@dataclass
class FakeProvider:
    name: str = "quickbooks"
    objects: dict[str, dict[str, Stored]] = field(
        default_factory=lambda: {
            k: {} for k in ("customer", "item", "invoice", "payment", "refund", "deposit")
        }
    )
    writes: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    faults: deque[tuple[str, str]] = field(default_factory=deque)
    _ids: Any = field(default_factory=lambda: itertools.count(100))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    # What the wizard lists (list_customers / list_items): customers and items already in the
    # books before booksync was connected, as a test seeds them.
    directory_customers: list[RemoteCustomer] = field(default_factory=list)
    directory_items: list[RemoteItem] = field(default_factory=list)
    # The company's currencies (Preferences.CurrencyPrefs in QuickBooks).
    currencies: CompanyCurrencies = field(default_factory=lambda: CompanyCurrencies("USD", False))
    # False: objects carry no version (Xero, FreshBooks and Wave have no SyncToken).
    versioned: bool = True
    # The Retry-After a "rate_limited" fault answers, in seconds.
    retry_after: float = 3
    # What it declares it can do, and its name in messages (``declaration``).
    capabilities: frozenset[Capability] = QUICKBOOKS.capabilities
    label: str = "QuickBooks"
    # False: two customers or two items may share a name (FreshBooks and Wave accept them).
    unique_names: bool = True
    # True: its payments name the account they go into, one that takes payments (as Xero's);
    # a payment without one is refused, as such books refuse it.
    payment_account_required: bool = False

    def declaration(self) -> AnyDeclaration:
        """The fake, declared as a provider package declares itself (its builders build it)."""
        return ProviderDeclaration[None](
            name=self.name,
            kind="accounting",
            profile=ProviderProfile(
                label=self.label,
                name_rules=f"{self.label} keeps names as QuickBooks does",
                item_name_key=QUICKBOOKS.profile.item_name_key,
                sku_key=QUICKBOOKS.profile.sku_key,
            ),
            capabilities=self.capabilities | ({Capability.VERSIONS} if self.versioned else set()),
            limits=QUICKBOOKS.limits,
            read_settings=lambda: None,
            builders=Builders(oauth=_no_oauth, adapter=lambda _settings, _account, _tokens, _gate: self),
            payment_account_required=self.payment_account_required,
        )

    def _can(self, capability: Capability, operation: str) -> None:
        """Refuses what it did not declare, as a provider without it answers (an engine that did
        not ask first fails there)."""
        if capability not in self.capabilities:
            raise Rejected(f"{self.label} has no {operation}", provider=self.name, fix="none")

    # -- faults --------------------------------------------------------------------------------
    def fail_next(self, operation: str, kind: str) -> None:
        """kind: transient | lost_answer (committed, answer lost) | rate_limited | rejected | conflict"""
        self.faults.append((operation, kind))

    def _fault(self, operation: str, commit: Any) -> Any:
        self.calls[operation] += 1
        for i, (op, kind) in enumerate(self.faults):
            if op == operation:
                del self.faults[i]
                break
        else:
            return commit()
        if kind == "lost_answer":
            commit()
            raise TransientError("read timed out", provider=self.name, uncertain=True)
        if kind == "transient":
            raise TransientError("503", provider=self.name)
        if kind == "rate_limited":
            raise RateLimited("429", provider=self.name, retry_after=self.retry_after)
        if kind == "conflict":
            raise Conflict("stale", provider=self.name)
        raise Rejected("refused", provider=self.name, fix="fix it")

    # -- helpers ---------------------------------------------------------------------------------
    def _create(self, kind: str, data: dict[str, Any], unique: str | None = None) -> RemoteObject:
        with self._lock:
            taken = (name_key(o.data.get("name", "")) for o in self.objects[kind].values())
            if self.unique_names and unique is not None and name_key(unique) in taken:
                raise DuplicateName(f"{unique} exists", provider=self.name, provider_code="6240")
            stored = Stored(id=str(next(self._ids)), version=0, data=data)
            self.objects[kind][stored.id] = stored
            self.writes[f"create_{kind}"] += 1
            return self._remote(stored)

    def _update(self, kind: str, remote: RemoteObject, data: dict[str, Any]) -> RemoteObject:
        with self._lock:
            stored = self.objects[kind][remote.id]
            if remote.version is not None and str(stored.version) != remote.version:
                raise Conflict("Stale Object Error", provider=self.name, provider_code="5010")
            stored.data.update(data)
            stored.version += 1
            stored.active = True
            self.writes[f"update_{kind}"] += 1
            return self._remote(stored)

    def _remote(self, stored: Stored) -> RemoteObject:
        return RemoteObject(
            id=stored.id,
            version=str(stored.version) if self.versioned else None,
            name=stored.data.get("name"),
            active=stored.active,
            voided=stored.data.get("voided") is True,
            marker=stored.data.get("marker"),
            total=stored.data.get("total"),
            balance=stored.data.get("balance"),
            currency=stored.data.get("currency"),
        )

    def _get(self, kind: str, remote_id: str) -> RemoteObject | None:
        self.calls[f"get_{kind}"] += 1
        stored = self.objects[kind].get(remote_id)
        return self._remote(stored) if stored else None

    def _find(self, kind: str, **match: Any) -> RemoteObject | None:
        self.calls[f"find_{kind}"] += 1
        for stored in self.objects[kind].values():
            if all(stored.data.get(k) == v for k, v in match.items() if v is not None):
                return self._remote(stored)
        return None

    def delete(self, kind: str, remote_id: str) -> None:
        del self.objects[kind][remote_id]

    # -- AccountingProvider ----------------------------------------------------------------------
    def find_customer(self, customer: Customer) -> RemoteObject | None:
        self.calls["find_customer"] += 1
        name = clean_display_name(customer.display_name)
        email = (customer.email or "").casefold()
        for stored in self.objects["customer"].values():
            data = stored.data
            # By e-mail only while active, as the adapter finds (INACTIVE_BY_EMAIL).
            candidate = same_name(data["name"], name) or bool(
                email and stored.active and (data.get("email") or "").casefold() == email
            )
            seen = RemoteCustomer(
                id=stored.id,
                display_name=data["name"],
                email=data.get("email"),
                company_name=data.get("company"),
                billing_address=data.get("address"),
            )
            if candidate and surely_same(customer, seen):
                return self._remote(stored)
        return None

    def distinct(self, document: Named) -> Named:
        return mapping.distinct(document)

    def get_customer(self, remote_id: str) -> RemoteObject | None:
        return self._get("customer", remote_id)

    @staticmethod
    def _customer_data(customer: Customer) -> dict[str, Any]:
        return {
            "name": clean_display_name(customer.display_name),
            "email": customer.email,
            "company": customer.company_name,
            "address": customer.billing_address,
        }

    def create_customer(
        self, customer: Customer, *, idempotency_key: str, currency: str | None = None
    ) -> RemoteObject:
        # A customer's currency, as QuickBooks keeps it (the home one when not given).
        data = {**self._customer_data(customer), "currency": currency or self.currencies.home}
        return self._fault("create_customer", lambda: self._create("customer", data, unique=data["name"]))

    def update_customer(
        self, remote: RemoteObject, customer: Customer, *, idempotency_key: str
    ) -> RemoteObject:
        data = self._customer_data(customer)  # its currency stays
        return self._fault("update_customer", lambda: self._update("customer", remote, data))

    def find_item(self, item: Item) -> RemoteObject | None:
        self.calls["find_item"] += 1
        name = clean_item_name(item.name)
        for stored in self.objects["item"].values():
            if same_name(stored.data["name"], name):
                return self._remote(stored)
        sku = (item.sku or "").casefold()
        for stored in self.objects["item"].values():
            if sku and (stored.data.get("sku") or "").casefold() == sku:
                return self._remote(stored)  # as QuickBooks' adapter: by SKU when no name matches
        return None

    def get_item(self, remote_id: str) -> RemoteObject | None:
        return self._get("item", remote_id)

    def create_item(self, item: Item, refs: ItemRefs, *, idempotency_key: str) -> RemoteObject:
        data = {
            "name": clean_item_name(item.name),
            "price": item.unit_price,
            "account": refs.income_account_id,
            "sku": item.sku,
        }
        return self._fault("create_item", lambda: self._create("item", data, unique=data["name"]))

    def update_item(
        self, remote: RemoteObject, item: Item, refs: ItemRefs, *, idempotency_key: str
    ) -> RemoteObject:
        data = {
            "name": clean_item_name(item.name),
            "price": item.unit_price,
            "account": refs.income_account_id,
            "sku": item.sku,
        }
        return self._fault("update_item", lambda: self._update("item", remote, data))

    def _invoice_data(self, invoice: Invoice, refs: InvoiceRefs) -> dict[str, Any]:
        return {
            "number": invoice.number,
            "memo": invoice.memo,
            "customer": refs.customer_id,
            "marker": refs.marker,
            "total": invoice.total,
            "balance": invoice.total,
            "lines": [(refs.item_ids[ln.item_id], ln.quantity, ln.unit_price) for ln in invoice.lines],
        }

    def find_invoice(self, invoice: Invoice, marker: str) -> RemoteObject | None:
        return self._find("invoice", number=invoice.number, marker=marker)

    def get_invoice(self, remote_id: str) -> RemoteObject | None:
        return self._get("invoice", remote_id)

    def create_invoice(self, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str) -> RemoteObject:
        return self._fault(
            "create_invoice", lambda: self._create("invoice", self._invoice_data(invoice, refs))
        )

    def update_invoice(
        self, remote: RemoteObject, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject:
        data = self._invoice_data(invoice, refs)
        data["balance"] = invoice.total - self.paid(remote.id)
        return self._fault("update_invoice", lambda: self._update("invoice", remote, data))

    def void_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> RemoteObject:
        self._can(Capability.VOIDS, "voids")
        return self._fault(
            "void_invoice",
            lambda: self._update(
                "invoice", remote, {"total": Decimal(0), "balance": Decimal(0), "voided": True}
            ),
        )

    def delete_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> None:
        def commit() -> None:
            self.writes["delete_invoice"] += 1
            del self.objects["invoice"][remote.id]

        self._fault("delete_invoice", commit)

    def paid(self, remote_invoice_id: str) -> Decimal:
        return sum(
            (
                amount
                for p in self.objects["payment"].values()
                for invoice_id, amount in p.data["lines"]
                if invoice_id == remote_invoice_id
            ),
            Decimal(0),
        )

    def find_payment(self, payment: Payment, refs: PaymentRefs) -> RemoteObject | None:
        return self._find("payment", marker=refs.marker)

    def create_payment(self, payment: Payment, refs: PaymentRefs, *, idempotency_key: str) -> RemoteObject:
        self._can(Capability.PAYMENTS, "payments")
        if refs.applications:
            self._can(Capability.PAYMENTS_ACROSS_INVOICES, "payments across invoices")
        takes = {a.id for a in self.list_accounts() if a.takes_payments}
        if (
            self.payment_account_required or refs.deposit_account_id
        ) and refs.deposit_account_id not in takes:
            raise Rejected(
                f"{self.label} takes payments into {sorted(takes)}, not {refs.deposit_account_id}",
                provider=self.name,
                fix="choose another account",
            )

        def commit() -> RemoteObject:
            lines = refs.lines(payment.amount)
            data = {
                "amount": payment.amount,
                "invoice": refs.invoice_id,
                "lines": lines,
                "marker": refs.marker,
                "account": refs.deposit_account_id,
            }
            remote = self._create("payment", data)
            for invoice_id, _amount in lines:
                invoice = self.objects["invoice"][invoice_id]
                invoice.data["balance"] = invoice.data["total"] - self.paid(invoice_id)
            return remote

        return self._fault("create_payment", commit)

    def find_refund(self, refund: Refund, refs: RefundRefs) -> RemoteObject | None:
        return self._find("refund", marker=refs.marker)

    def create_refund(self, refund: Refund, refs: RefundRefs, *, idempotency_key: str) -> RemoteObject:
        self._can(Capability.REFUNDS, "refunds")
        data = {
            "amount": refund.amount,
            "customer": refs.customer_id,
            "method": refs.method,
            "account": refs.from_account_id,
            "marker": refs.marker,
        }
        return self._fault("create_refund", lambda: self._create("refund", data))

    def find_deposit(self, deposit: Deposit) -> RemoteObject | None:
        return self._find("deposit", marker=deposit.marker, date=deposit.date)

    def get_deposit(self, remote_id: str) -> RemoteObject | None:
        return self._get("deposit", remote_id)

    def create_deposit(self, deposit: Deposit, *, idempotency_key: str) -> RemoteObject:
        """As QuickBooks: each linked payment exists, is deposited whole and only once."""
        self._can(Capability.DEPOSITS, "deposits")

        def commit() -> RemoteObject:
            with self._lock:
                held = {
                    line.payment_id
                    for d in self.objects["deposit"].values()
                    for line in d.data["lines"]
                    if line.payment_id
                }
                held |= {line.refund_id for d in self.objects["deposit"].values() for line in d.data["lines"]}
                for line in deposit.lines:
                    if line.payment_id is not None:
                        payment = self.objects["payment"].get(line.payment_id)
                        if (
                            payment is None
                            or payment.data["amount"] != line.amount
                            or line.payment_id in held
                        ):
                            raise Rejected(
                                f"payment {line.payment_id} can't be deposited", provider=self.name
                            )
                    if line.refund_id is not None:
                        refund = self.objects["refund"].get(line.refund_id)
                        if refund is None or refund.data["amount"] != -line.amount or line.refund_id in held:
                            raise Rejected(f"refund {line.refund_id} can't be deposited", provider=self.name)
                data = {
                    "marker": deposit.marker,
                    "date": deposit.date,
                    "memo": deposit.memo,
                    "bank": deposit.bank_account_id,
                    "lines": list(deposit.lines),
                    "total": deposit.total,
                }
                return self._create("deposit", data)

        return self._fault("create_deposit", commit)

    def list_accounts(self) -> Sequence[Account]:
        return [
            Account(id="1", name="Services", kind=AccountKind.INCOME, account_type="Income"),
            Account(id="2", name="Checking", kind=AccountKind.BANK, account_type="Bank"),
            Account(
                id="3",
                name="Undeposited Funds",
                kind=AccountKind.CLEARING,
                account_type="Other Current Asset",
                sub_type="UndepositedFunds",
            ),
        ]

    def company_currencies(self) -> CompanyCurrencies:
        self.calls["company_currencies"] += 1
        return self.currencies

    # -- ProviderDirectory (the post-connection wizard) ---------------------------------------
    def list_customers(self, start: int, page_size: int) -> RemotePage[RemoteCustomer]:
        self.calls["list_customers"] += 1
        return self._page(self.directory_customers, start, page_size)

    def list_items(self, start: int, page_size: int) -> RemotePage[RemoteItem]:
        self.calls["list_items"] += 1
        return self._page(self.directory_items, start, page_size)

    @staticmethod
    def _page(rows: list[T], start: int, page_size: int) -> RemotePage[T]:
        chunk = rows[start - 1 : start - 1 + page_size]
        more = start - 1 + page_size < len(rows)
        return RemotePage(rows=tuple(chunk), start=start, next_start=start + page_size if more else None)

    def with_remote(self, remote: RemoteObject, **changes: Any) -> RemoteObject:
        return replace(remote, **changes)


def _no_oauth(_settings: None) -> Any:
    raise AssertionError("the in-memory provider is given to the engine, never connected through OAuth")


# Versions, batch writes, payments (and so refunds and deposits) are what QuickBooks has and
# Xero-, FreshBooks- or Wave-like books may not: the core must not assume any of them.
PLAIN_CAPABILITIES = frozenset({Capability.VOIDS, Capability.INCOME_ACCOUNT_PER_ITEM})


def plain_books(*more: Capability, less: Capability | None = None, name: str = "quickbooks") -> FakeProvider:
    """An in-memory provider "Plain Books" with no versions, no batch writes and no payments;
    ``more`` and ``less`` make variants of it (payments, but not across invoices...); ``name``:
    the key its connections and links are stored under."""
    capabilities = (PLAIN_CAPABILITIES | set(more)) - {less}
    return FakeProvider(name=name, versioned=False, capabilities=frozenset(capabilities), label="Plain Books")


class Recording:
    """Any provider with every call to it counted by method name, reads and lookups included."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return call
