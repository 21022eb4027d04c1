"""``WaveProvider``: the ``AccountingProvider`` port over Wave's GraphQL API (one business).

Wave keeps no idempotency key, and no external id outside money transactions: every write is
claimed as an intent first (``sync/once.py``), and the lookups (``find_*``) run before a create
and after an uncertain outcome find what an earlier attempt made, so nothing is made twice:
customers by their ``displayId`` (booksync's id of them), else under their name when the rest of
the record agrees and they carry no other number; products by name; invoices by number, billed to
booksync's customer; payments on their invoice by booksync's marker in their memo.

An invoice is up to three steps in Wave (created approved, approved if Wave answers a draft, marked
sent): an attempt stopped between them leaves a draft or an unsent invoice, which the next
attempt's lookup finds and finishes, each step taken only when the invoice still needs it. Wave
keeps no version on its records (every ``RemoteObject.version`` is None), cannot void an invoice
or record a refund (the declaration says so, and the engine says it on the document without
trying).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NoReturn

from booksync.documents import Customer, Invoice, Item, Payment, Refund
from booksync.errors import Rejected
from booksync.providers.declaration import Capability
from booksync.providers.port import (
    Account,
    CompanyCurrencies,
    InvoiceRefs,
    ItemRefs,
    Named,
    PaymentRefs,
    RefundRefs,
    RemoteObject,
)
from booksync.providers.text import customer_row, same_name
from booksync.providers.wave import LABEL, PROVIDER, mapping
from booksync.providers.wave import operations as ops
from booksync.providers.wave.client import WaveClient

Json = dict[str, Any]
PAYMENT_ACCOUNT_FIX = (
    f"Choose the {LABEL} account payments are paid into (a cash and bank account) in booksync's "
    f"{LABEL} settings, then sync again."
)
_BY_NAME = {"sort": ["NAME_ASC"]}


class WaveProvider:
    """One Wave business, through ``client``."""

    name = PROVIDER

    def __init__(self, client: WaveClient) -> None:
        self._client = client
        self._sales_taxes: list[Json] | None = None

    def __repr__(self) -> str:
        return f"WaveProvider(business_id={self._client.business_id!r})"

    # ------------------------------------------------------------------ customers

    def find_customer(self, customer: Customer) -> RemoteObject | None:
        """The customer carrying booksync's id of this one; else the one under its name that
        surely is this one (``customer_among``). Wave filters customers by e-mail only, and an
        e-mail may have changed since: the business's customers are read, a page of 200 a request."""
        return customer_among(customer, self._client.pages(ops.CUSTOMERS, "customers", _BY_NAME))

    def get_customer(self, remote_id: str) -> RemoteObject | None:
        found = self._client.record(ops.CUSTOMER, "customer", remote_id)
        return mapping.to_customer(found) if found is not None else None

    def create_customer(
        self, customer: Customer, *, idempotency_key: str, currency: str | None = None
    ) -> RemoteObject:
        fields = {"businessId": self._client.business_id, **mapping.customer_input(customer, currency)}
        return mapping.to_customer(self._client.mutate(ops.CUSTOMER_CREATE, fields)["customer"])

    def update_customer(
        self, remote: RemoteObject, customer: Customer, *, idempotency_key: str
    ) -> RemoteObject:
        fields = {"id": remote.id, **mapping.customer_input(customer)}
        return mapping.to_customer(self._client.mutate(ops.CUSTOMER_PATCH, fields)["customer"])

    def distinct(self, document: Named) -> Named:
        return mapping.distinct(document)

    # ------------------------------------------------------------------ items

    def find_item(self, item: Item) -> RemoteObject | None:
        """The product under the item's name (Wave has no SKU or code on products)."""
        return item_among(item, self._client.pages(ops.PRODUCTS, "products", _BY_NAME))

    def get_item(self, remote_id: str) -> RemoteObject | None:
        found = self._client.record(ops.PRODUCT, "product", remote_id)
        return mapping.to_product(found) if found is not None else None

    def create_item(self, item: Item, refs: ItemRefs, *, idempotency_key: str) -> RemoteObject:
        fields = mapping.product_input(item, self._income_account(item, refs))
        created = self._client.mutate(ops.PRODUCT_CREATE, {"businessId": self._client.business_id, **fields})
        return mapping.to_product(created["product"])

    def update_item(
        self, remote: RemoteObject, item: Item, refs: ItemRefs, *, idempotency_key: str
    ) -> RemoteObject:
        fields = {"id": remote.id, **mapping.product_input(item, self._income_account(item, refs))}
        return mapping.to_product(self._client.mutate(ops.PRODUCT_PATCH, fields)["product"])

    @staticmethod
    def _income_account(item: Item, refs: ItemRefs) -> str:
        if refs.income_account_id is None:
            raise Rejected(
                f"The item {mapping.product_name(item)!r} has no income account to post its sales "
                f"to in {LABEL}",
                provider=PROVIDER,
                fix=f"Choose the {LABEL} income account for items in booksync's settings, then sync again.",
            )
        return refs.income_account_id

    # ------------------------------------------------------------------ invoices

    def find_invoice(self, invoice: Invoice, marker: str) -> RemoteObject | None:
        """The invoice under exactly its number carrying booksync's marker (its P.O. number); one
        an earlier attempt left a draft or unsent is finished first (approved, marked sent)."""
        number = mapping.invoice_number(invoice)
        rows = self._client.pages(
            ops.INVOICES, "invoices", {"sort": ["INVOICE_DATE_DESC"], "invoiceNumber": number}
        )
        # The filter is not documented as exact: INV-1's lookup must never adopt INV-10.
        found = [
            row for row in rows if row.get("invoiceNumber") == number and mapping.invoice_marked(row, marker)
        ]
        return mapping.to_invoice(self._finish(found[0])) if found else None

    def get_invoice(self, remote_id: str) -> RemoteObject | None:
        found = self._client.record(ops.INVOICE, "invoice", remote_id)
        return mapping.to_invoice(found) if found is not None else None

    def create_invoice(self, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str) -> RemoteObject:
        fields = {"businessId": self._client.business_id, **self._invoice_input(invoice, refs)}
        created = self._client.mutate(ops.INVOICE_CREATE, fields)["invoice"]
        return mapping.to_invoice(self._finish(created))

    def update_invoice(
        self, remote: RemoteObject, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject:
        # The items sent replace the invoice's items: the new lines are the whole invoice.
        fields = {"id": remote.id, **self._invoice_input(invoice, refs)}
        fields.pop("status")  # the invoice keeps its status (a sent one stays sent)
        patched = self._client.mutate(ops.INVOICE_PATCH, fields)["invoice"]
        return mapping.to_invoice(self._finish(patched))

    def _invoice_input(self, invoice: Invoice, refs: InvoiceRefs) -> Json:
        tax = self._sales_tax(invoice.tax_rate_percent, invoice.number) if invoice.tax_rate_percent else None
        return mapping.invoice_input(invoice, refs, tax)

    def _finish(self, row: Json) -> Json:
        """The invoice approved and marked sent, each only if it still needs it (booksync syncs
        an invoice once it is sent; Wave takes payments only on an approved one). A patch keeps
        the status Wave holds: a sent invoice stays sent."""
        if row.get("status") == mapping.DRAFT:
            row = self._client.mutate(ops.INVOICE_APPROVE, {"invoiceId": row["id"]})["invoice"]
        if mapping.unsent(row):
            marked = {"invoiceId": row["id"], "sendMethod": "MARKED_SENT"}
            row = self._client.mutate(ops.INVOICE_MARK_SENT, marked)["invoice"]
        return row

    def _sales_tax(self, percent: Decimal, number: str) -> str:
        if self._sales_taxes is None:
            self._sales_taxes = self._client.pages(ops.SALES_TAXES, "salesTaxes")
        found = mapping.sales_tax_of(self._sales_taxes, percent)
        if found is None:
            raise Rejected(
                f"Invoice {number} bears a sales tax of {percent.normalize()}% and the {LABEL} "
                "business has no sales tax of that rate",
                provider=PROVIDER,
                fix=f"Add a sales tax of {percent.normalize()}% in {LABEL} (Settings > Sales Taxes), "
                "then sync the invoice again.",
            )
        return found

    def void_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> RemoteObject:
        _not_supported(Capability.VOIDS)

    def delete_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> None:
        """``invoiceDelete``; one already gone is done. Wave refuses an invoice with a payment on
        it (its refusal says to remove the payment first)."""
        if self._client.record(ops.INVOICE, "invoice", remote.id) is None:
            return
        self._client.mutate(ops.INVOICE_DELETE, {"invoiceId": remote.id})

    # ------------------------------------------------------------------ payments

    def find_payment(self, payment: Payment, refs: PaymentRefs) -> RemoteObject | None:
        """The payment on its invoice carrying booksync's marker in its memo."""
        invoice = self._client.record(ops.INVOICE, "invoice", refs.invoice_id)
        rows = invoice.get("payments") if invoice is not None else None
        ours = [
            row for row in rows or [] if isinstance(row, Mapping) and mapping.carries_marker(row, refs.marker)
        ]
        return mapping.to_payment(ours[0]) if ours else None

    def create_payment(self, payment: Payment, refs: PaymentRefs, *, idempotency_key: str) -> RemoteObject:
        """One manual payment on one invoice into the chosen account (Wave pays one invoice a
        payment: its declaration has no payments across invoices, so the core splits those)."""
        invoice_id, amount = refs.one_invoice(payment.amount)
        if refs.deposit_account_id is None:
            raise Rejected(
                f"No {LABEL} account is chosen for payments to be paid into",
                provider=PROVIDER,
                fix=PAYMENT_ACCOUNT_FIX,
            )
        fields = mapping.payment_input(payment, refs, refs.deposit_account_id, invoice_id, amount)
        return mapping.to_payment(self._client.mutate(ops.PAYMENT_CREATE, fields)["invoicePayment"])

    # ------------------------------------------------------------------ refunds (none in Wave's API)

    def find_refund(self, refund: Refund, refs: RefundRefs) -> RemoteObject | None:
        _not_supported(Capability.REFUNDS)

    def create_refund(self, refund: Refund, refs: RefundRefs, *, idempotency_key: str) -> RemoteObject:
        _not_supported(Capability.REFUNDS)

    # ------------------------------------------------------------------ accounts, currencies

    def list_accounts(self) -> Sequence[Account]:
        return [mapping.to_account(row) for row in self._client.pages(ops.ACCOUNTS, "accounts")]

    def company_currencies(self) -> CompanyCurrencies:
        return mapping.to_currencies(self._client.business(ops.BUSINESS))


def _not_supported(capability: Capability) -> NoReturn:
    """What Wave's API cannot do: the engine asks the declaration first and never calls this."""
    from booksync.providers.wave.declaration import DECLARATION

    raise DECLARATION.not_supported(capability)


def customer_among(customer: Customer, rows: Sequence[Json]) -> RemoteObject | None:
    """Which of ``rows`` is ``customer`` in Wave (``customer_row``: by ``displayId``, else by name)."""
    found = customer_row(
        customer,
        rows,
        number=mapping.display_id(customer.id),
        number_of=lambda row: row.get("displayId"),
        name=mapping.customer_name(customer),
        name_of=lambda row: row.get("name"),
        remote=mapping.to_remote_customer,
    )
    return mapping.to_customer(found) if found is not None else None


def item_among(item: Item, rows: Sequence[Json]) -> RemoteObject | None:
    """Which of ``rows`` is ``item`` in Wave: the live product under its name, exactly (letter
    case aside); an archived one is never linked again."""
    name = mapping.product_name(item)
    found = next(
        (
            row
            for row in rows
            if row.get("isArchived") is not True and same_name(str(row.get("name") or ""), name)
        ),
        None,
    )
    return mapping.to_product(found) if found is not None else None
