"""``QuickBooksProvider``: the ``AccountingProvider`` port over QuickBooks Online.

Lookups (``find_*``) are what the engine runs before a create and after an uncertain outcome,
so each searches on the key QuickBooks itself keeps unique or on booksync's marker:
customers by DisplayName and e-mail, items by Name then Sku (inactive ones included, since
they still hold their name; a customer by its e-mail only while active: ``INACTIVE_BY_EMAIL``),
invoices by DocNumber, payments and refund receipts by customer and date; invoice, payment and
refund matches must carry the marker in PrivateNote, so a record someone else made with the
same number is never taken for ours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from booksync.documents import Customer, Invoice, Item, Payment, PaymentMethod, Refund
from booksync.errors import DuplicateName, Rejected, RemoteNotFound
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
from booksync.providers.quickbooks import mapping
from booksync.providers.quickbooks.client import MAX_PAGE, QuickBooksClient, quote
from booksync.providers.quickbooks.faults import LABEL, PROVIDER
from booksync.providers.quickbooks.names import clean_line, same_name

logger = logging.getLogger(__name__)

Json = dict[str, Any]
ANY_ACTIVE = "Active IN (true,false)"
# A customer found by its e-mail alone must be active, in the single and the bulk lookup alike.
# An inactive customer still holds its DisplayName (so one found by exactly our name is taken,
# and brought back with our data: QuickBooks would refuse ours the name), but one whose name is
# not ours was made inactive by a person (merged, gone, replaced): reviving and renaming it
# because an e-mail and an address agree would silently rewrite a record the books retired.
INACTIVE_BY_EMAIL = False
QUERY_PARSE_ERROR = "4000"
_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e]+")
REFUNDS_ITEM_NAME = "Refunds"

# QuickBooks' own names where it has one (QBO limits PaymentMethod.Name to 15 characters).
PAYMENT_METHOD_NAMES: Mapping[PaymentMethod, str] = {
    PaymentMethod.CASH: "Cash",
    PaymentMethod.CHECK: "Check",
    PaymentMethod.CREDIT_CARD: "Credit Card",
    PaymentMethod.BANK_TRANSFER: "Bank Transfer",
}


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and same_name(a, b)


def _same_folded(a: Any, b: str) -> bool:
    # SKUs are codes, not names: compared without regard to case.
    return isinstance(a, str) and a.strip().casefold() == b.strip().casefold()


class QuickBooksProvider:
    """One QuickBooks company (realm), through ``client``."""

    name = PROVIDER

    def __init__(self, client: QuickBooksClient) -> None:
        self._client = client
        self._payment_methods: dict[str, str] = {}  # name -> Id, per company
        self._refunds_item: str | None = None

    def __repr__(self) -> str:
        return f"QuickBooksProvider(realm_id={self._client.realm_id!r})"

    # ------------------------------------------------------------------ customers

    def find_customer(self, customer: Customer) -> RemoteObject | None:
        """The customer that surely is this one, or None.

        Candidates are the customer whose DisplayName is exactly ours (inactive included: it
        still holds the name) and those with our e-mail; one is taken only when the rest of the
        record agrees (the wizard's duplicate judgement, ``surely_same``): a household sharing a
        mailbox, or a namesake with another address and e-mail, is someone else.
        """
        rows = self._lookup("Customer", "DisplayName", mapping.customer_name(customer), include_inactive=True)
        if customer.email:
            rows += self._customers_by_email(customer.email)
        return mapping.surely_ours(customer, rows)

    def _customers_by_email(self, email: str) -> list[Json]:
        rows = self._lookup(
            "Customer", "PrimaryEmailAddr", email, include_inactive=INACTIVE_BY_EMAIL, exact=False
        )
        return [row for row in rows if mapping.same_email(row, email)]

    def get_customer(self, remote_id: str) -> RemoteObject | None:
        return self._get("Customer", remote_id, "DisplayName")

    def create_customer(
        self, customer: Customer, *, idempotency_key: str, currency: str | None = None
    ) -> RemoteObject:
        created = self._client.create(
            "Customer", mapping.customer_body(customer, currency), idempotency_key=idempotency_key
        )
        return mapping.to_remote(created, "DisplayName")

    def update_customer(
        self, remote: RemoteObject, customer: Customer, *, idempotency_key: str
    ) -> RemoteObject:
        body = self._versioned("Customer", remote, mapping.customer_body(customer))
        updated = self._client.update("Customer", body, idempotency_key=idempotency_key)
        return mapping.to_remote(updated, "DisplayName")

    # ------------------------------------------------------------------ items

    def find_item(self, item: Item) -> RemoteObject | None:
        rows = self._lookup("Item", "Name", mapping.item_name(item), include_inactive=True)
        if not rows and item.sku:
            sku = clean_line(item.sku, mapping.SKU_MAX)
            rows = [
                row
                for row in self._lookup("Item", "Sku", sku, include_inactive=True, exact=False)
                if _same_folded(row.get("Sku"), sku)
            ]
        return mapping.to_remote(rows[0], "Name") if rows else None

    def distinct(self, document: Named) -> Named:
        """``document`` under a name unique to it within QuickBooks' limits ("a-b (k3f9qz)"):
        for when its cleaned name is held by another record."""
        return mapping.distinct(document)

    def get_item(self, remote_id: str) -> RemoteObject | None:
        return self._get("Item", remote_id, "Name")

    def create_item(self, item: Item, refs: ItemRefs, *, idempotency_key: str) -> RemoteObject:
        created = self._client.create("Item", mapping.item_body(item, refs), idempotency_key=idempotency_key)
        return mapping.to_remote(created, "Name")

    def update_item(
        self, remote: RemoteObject, item: Item, refs: ItemRefs, *, idempotency_key: str
    ) -> RemoteObject:
        body = self._versioned("Item", remote, mapping.item_body(item, refs))
        return mapping.to_remote(self._client.update("Item", body, idempotency_key=idempotency_key), "Name")

    # ------------------------------------------------------------------ invoices

    def find_invoice(self, invoice: Invoice, marker: str) -> RemoteObject | None:
        rows = self._lookup("Invoice", "DocNumber", mapping.doc_number(invoice), exact=False)
        return _first_marked(rows, marker, "DocNumber")

    def get_invoice(self, remote_id: str) -> RemoteObject | None:
        return self._get("Invoice", remote_id, "DocNumber")

    def create_invoice(self, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str) -> RemoteObject:
        body = mapping.invoice_body(invoice, refs)
        return mapping.to_remote(
            self._client.create("Invoice", body, idempotency_key=idempotency_key), "DocNumber"
        )

    def update_invoice(
        self, remote: RemoteObject, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject:
        # Sparse, but Line is replaced wholesale: the new lines are the whole invoice.
        body = self._versioned("Invoice", remote, mapping.invoice_body(invoice, refs))
        return mapping.to_remote(
            self._client.update("Invoice", body, idempotency_key=idempotency_key), "DocNumber"
        )

    def void_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> RemoteObject:
        body = self._versioned("Invoice", remote, {})
        voided = self._client.operation("Invoice", body, operation="void", idempotency_key=idempotency_key)
        return mapping.to_remote(voided, "DocNumber")

    def delete_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> None:
        """``POST /invoice?operation=delete``: payments applied to it become unapplied credits."""
        body = self._versioned("Invoice", remote, {})
        self._client.operation("Invoice", body, operation="delete", idempotency_key=idempotency_key)

    # ------------------------------------------------------------------ payments

    def find_payment(self, payment: Payment, refs: PaymentRefs) -> RemoteObject | None:
        where = f"CustomerRef = {quote(refs.customer_id)} and TxnDate = {quote(payment.date.isoformat())}"
        return _first_marked(self._client.select_all("Payment", where), refs.marker, "PaymentRefNum")

    def create_payment(self, payment: Payment, refs: PaymentRefs, *, idempotency_key: str) -> RemoteObject:
        method_id = self._payment_method_id(payment.method, idempotency_key)
        body = mapping.payment_body(payment, refs, method_id)
        return mapping.to_remote(
            self._client.create("Payment", body, idempotency_key=idempotency_key), "PaymentRefNum"
        )

    # ------------------------------------------------------------------ refunds

    def find_refund(self, refund: Refund, refs: RefundRefs) -> RemoteObject | None:
        where = f"CustomerRef = {quote(refs.customer_id)} and TxnDate = {quote(refund.date.isoformat())}"
        return _first_marked(self._client.select_all("RefundReceipt", where), refs.marker, "DocNumber")

    def create_refund(self, refund: Refund, refs: RefundRefs, *, idempotency_key: str) -> RemoteObject:
        """A RefundReceipt on the "Refunds" service item (made on first need), paid out of the
        connection's refunds account or Undeposited Funds, with the payment's method."""
        body = mapping.refund_body(
            refund,
            refs,
            item_id=self._refunds_item_id(f"{idempotency_key}-item"),
            from_account_id=refs.from_account_id or self._account_id_of_sub_type(mapping.UNDEPOSITED_FUNDS),
            method_id=self._payment_method_id(refs.method, idempotency_key),
        )
        created = self._client.create("RefundReceipt", body, idempotency_key=idempotency_key)
        return mapping.to_remote(created, "DocNumber")

    def _refunds_item_id(self, key: str) -> str:
        """The Id of the "Refunds" service item, found (reactivated if inactive) or created once.

        Its income account is "Discounts/Refunds Given" where the company has one, so a refund
        reduces income the way QuickBooks' own refund form does.
        """
        if self._refunds_item is None:
            rows = self._lookup("Item", "Name", REFUNDS_ITEM_NAME, include_inactive=True)
            if rows and rows[0].get("Active") is False:
                row = rows[0]
                revived = {"Id": row["Id"], "SyncToken": row["SyncToken"], "Active": True, "sparse": True}
                rows = [self._client.update("Item", revived, idempotency_key=f"{key}-on")]
            if not rows:
                rows = [self._create_refunds_item(key)]
            self._refunds_item = str(rows[0]["Id"])
        return self._refunds_item

    def _create_refunds_item(self, key: str) -> Json:
        body = {
            "Name": REFUNDS_ITEM_NAME,
            "Type": "Service",
            "Description": "Money refunded to customers (booksync)",
            "IncomeAccountRef": {"value": self._refunds_income_account_id()},
        }
        try:
            return self._client.create("Item", body, idempotency_key=key)
        except DuplicateName:
            # Created meanwhile (another worker, or an earlier attempt whose answer was lost).
            rows = self._lookup("Item", "Name", REFUNDS_ITEM_NAME, include_inactive=True)
            if not rows:
                raise
            return rows[0]

    def _refunds_income_account_id(self) -> str:
        accounts = [a for a in self.list_accounts() if a.active and a.kind is AccountKind.INCOME]
        for account in accounts:
            if account.sub_type == mapping.DISCOUNTS_REFUNDS_GIVEN:
                return account.id
        if not accounts:
            raise Rejected(
                f"{LABEL} has no active income account to book refunds against",
                provider=PROVIDER,
                fix="Add an income account (e.g. Refunds) in QuickBooks, then sync again.",
            )
        return accounts[0].id

    def _account_id_of_sub_type(self, sub_type: str) -> str:
        rows = self._client.select_all("Account", f"AccountSubType = {quote(sub_type)}")
        if not rows:
            raise Rejected(
                f"{LABEL} has no {sub_type} account to pay refunds from",
                provider=PROVIDER,
                fix="Choose the account refunds are paid from in booksync's QuickBooks settings "
                "(refunds_from_account_id), then sync again.",
            )
        return str(rows[0]["Id"])

    # ------------------------------------------------------------------ deposits

    def find_deposit(self, deposit: Deposit) -> RemoteObject | None:
        """Deposits of that date carrying the marker (PrivateNote is not queryable in QBO)."""
        where = f"TxnDate = {quote(deposit.date.isoformat())}"
        return _first_marked(self._client.select_all("Deposit", where), deposit.marker, "DocNumber")

    def get_deposit(self, remote_id: str) -> RemoteObject | None:
        return self._get("Deposit", remote_id, "DocNumber")

    def create_deposit(self, deposit: Deposit, *, idempotency_key: str) -> RemoteObject:
        created = self._client.create(
            "Deposit", mapping.deposit_body(deposit), idempotency_key=idempotency_key
        )
        return mapping.to_remote(created, "DocNumber")

    def _payment_method_id(self, method: PaymentMethod, idempotency_key: str) -> str | None:
        """The Id of QuickBooks' PaymentMethod for ``method``, created on first need and cached.

        A payment is worth more recorded without its method than not recorded: a method that
        cannot be found or made is left off, with a warning.
        """
        name = PAYMENT_METHOD_NAMES.get(method)
        if name is None:
            return None
        if name not in self._payment_methods:
            try:
                self._payment_methods[name] = self._find_or_create_method(name, f"{idempotency_key}-pm")
            except Rejected as exc:
                logger.warning(
                    "payment method unavailable; recording the payment without it",
                    extra={"provider": PROVIDER, "payment_method": name, "code": exc.provider_code},
                )
                return None
        return self._payment_methods[name]

    def _find_or_create_method(self, name: str, key: str) -> str:
        rows = self._lookup("PaymentMethod", "Name", name)
        if rows:
            return str(rows[0]["Id"])
        body = {"Name": name, "Type": "CREDIT_CARD" if name == "Credit Card" else "NON_CREDIT_CARD"}
        try:
            return str(self._client.create("PaymentMethod", body, idempotency_key=key)["Id"])
        except DuplicateName:
            # It exists but is inactive (inactive records still hold their name): reactivate it.
            inactive = self._lookup("PaymentMethod", "Name", name, where_extra="Active = false")
            if not inactive:
                raise
            row = inactive[0]
            revived = {"Id": row["Id"], "SyncToken": row["SyncToken"], "Active": True}
            return str(self._client.update("PaymentMethod", revived, idempotency_key=f"{key}-on")["Id"])

    # ------------------------------------------------------------------ directory (the wizard)

    def list_customers(self, start: int, page_size: int) -> RemotePage[RemoteCustomer]:
        """One page of the active customers, in Id order (STARTPOSITION is 1-based)."""
        size = max(1, min(page_size, MAX_PAGE))
        rows = self._page("Customer", start, size)
        return RemotePage(
            rows=tuple(mapping.to_remote_customer(row) for row in rows),
            start=start,
            next_start=start + len(rows) if len(rows) == size else None,
        )

    def list_items(self, start: int, page_size: int) -> RemotePage[RemoteItem]:
        """One page of the active items one can sell (categories and bundles left out)."""
        size = max(1, min(page_size, MAX_PAGE))
        rows = self._page("Item", start, size)
        items = (mapping.to_remote_item(row) for row in rows)
        return RemotePage(
            rows=tuple(item for item in items if item is not None),
            start=start,
            next_start=start + len(rows) if len(rows) == size else None,
        )

    def _page(self, entity: str, start: int, size: int) -> list[Json]:
        # In Id order so that pages do not shift while the user walks them (entity is ours).
        statement = f"select * from {entity} ORDERBY Id STARTPOSITION {max(1, start)} MAXRESULTS {size}"  # noqa: S608
        page = self._client.query(statement).get(entity) or []
        return [row for row in page if isinstance(row, dict)]

    # ------------------------------------------------------------------ accounts

    def list_accounts(self) -> Sequence[Account]:
        return [mapping.to_account(row) for row in self._client.select_all("Account")]

    # ------------------------------------------------------------------ currencies

    def company_currencies(self) -> CompanyCurrencies:
        return mapping.to_currencies(self._client.preferences())

    # ------------------------------------------------------------------ helpers

    def _get(self, entity: str, remote_id: str, name_key: str) -> RemoteObject | None:
        try:
            return mapping.to_remote(self._client.read(entity, remote_id), name_key)
        except RemoteNotFound:
            return None

    def _versioned(self, entity: str, remote: RemoteObject, body: Json) -> Json:
        """``body`` with Id and the SyncToken the update must carry (read when not known)."""
        version = remote.version
        if version is None:
            version = str(self._client.read(entity, remote.id)["SyncToken"])
        return {**body, "Id": remote.id, "SyncToken": version}

    def _lookup(
        self,
        entity: str,
        field: str,
        value: str,
        *,
        include_inactive: bool = False,
        exact: bool = True,
        where_extra: str | None = None,
    ) -> list[Json]:
        """Rows whose ``field`` equals ``value`` (case-insensitively when ``exact``).

        Intuit's query lexer has refused non-ASCII characters (en dash, curly apostrophe) with
        fault 4000; then the same lookup runs as a LIKE with those characters as wildcards and
        the rows are filtered here exactly.
        """
        extra = [ANY_ACTIVE] if include_inactive else []
        if where_extra:
            extra.append(where_extra)
        try:
            rows = self._select(entity, f"{field} = {quote(value)}", extra)
        except Rejected as exc:
            if exc.provider_code != QUERY_PARSE_ERROR or value.isascii():
                raise
            pattern = _NOT_PLAIN_ASCII.sub("%", value)
            rows = self._select(entity, f"{field} LIKE {quote(pattern)}", extra)
        return [row for row in rows if _same(row.get(field), value)] if exact else rows

    def _select(self, entity: str, condition: str, extra: list[str]) -> list[Json]:
        return self._client.select_all(entity, " and ".join([condition, *extra]))


def _first_marked(rows: Sequence[Mapping[str, Any]], marker: str, number_field: str) -> RemoteObject | None:
    """The first row carrying booksync's marker (found in PrivateNote, which QBO cannot query)."""
    ours = [row for row in rows if mapping.carries_marker(row, marker)]
    return mapping.to_remote(ours[0], number_field) if ours else None
