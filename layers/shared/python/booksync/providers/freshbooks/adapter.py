"""``FreshBooksProvider``: the ``AccountingProvider`` port over FreshBooks' accounting API (one
business, by its ``account_id``).

FreshBooks has no idempotency key: the engine claims every write as an intent first, and after
an uncertain outcome these lookups say whether it was made before anything is created again:
clients by booksync's mark (a line of their ``note``, beside a person's text, which is kept)
among those under the customer's e-mail, then under its name (one without a mark taken only when
it surely is this customer); items by name; invoices by number and booksync's marker
(``po_number``); payments by invoice, date, amount and marker (first in their ``note``).
FreshBooks keeps no version on its records: a client's, item's or invoice's ``version`` is its
``updated`` stamp (``mapping.changed_at``), never sent back, by which a thin webhook event tells
booksync's own write from someone else's.

An invoice is created as a FreshBooks draft and marked sent at once; an update (or a lookup's
find, which the engine brings up to date) marks one still a draft sent: booksync never leaves
one a draft there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from booksync.documents import Customer, Invoice, Item, Payment, Refund
from booksync.providers.declaration import Capability
from booksync.providers.freshbooks import LABEL, PROVIDER, mapping
from booksync.providers.freshbooks.client import CLIENTS, INVOICES, ITEMS, PAYMENTS, FreshBooksClient, search
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
from booksync.providers.text import same_name

if TYPE_CHECKING:
    from booksync.providers.port import TokenSource
    from booksync.settings import FreshBooksSettings
    from booksync.sync.rate_limits import RequestGate

Json = dict[str, Any]
MARK_SENT = {"action_mark_as_sent": True}
NO_HOME = ""


class FreshBooksProvider:
    """One FreshBooks business, through ``client``."""

    name = PROVIDER

    def __init__(self, client: FreshBooksClient) -> None:
        self._client = client
        self._item_names: dict[str, str] = {}  # item id -> its name, as last written or read

    @classmethod
    def build(
        cls, settings: FreshBooksSettings, account_id: str, tokens: TokenSource, gate: RequestGate | None
    ) -> FreshBooksProvider:
        return cls(
            FreshBooksClient(
                api_base_url=settings.api_base_url, account_id=account_id, tokens=tokens, gate=gate
            )
        )

    def __repr__(self) -> str:
        return f"FreshBooksProvider(account_id={self._client.account_id!r})"

    # ------------------------------------------------------------------ clients

    def find_customer(self, customer: Customer) -> RemoteObject | None:
        """The client booksync wrote for this customer, or one that surely is it: among those
        under its e-mail first, then under its name (``client_among``)."""
        if customer.email:
            found = client_among(customer, self._client.list_all(CLIENTS, search(email=customer.email)))
            if found is not None:
                return found
        rows = self._client.list_all(CLIENTS, search(organization_like=mapping.client_name(customer)))
        return client_among(customer, rows)

    def get_customer(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read(CLIENTS, remote_id)
        return mapping.to_client(found) if found is not None and mapping.live(found) else None

    def create_customer(
        self, customer: Customer, *, idempotency_key: str, currency: str | None = None
    ) -> RemoteObject:
        body = mapping.client_body(customer, currency, note=mapping.client_mark(customer))
        return mapping.to_client(self._client.create(CLIENTS, body))

    def update_customer(
        self, remote: RemoteObject, customer: Customer, *, idempotency_key: str
    ) -> RemoteObject:
        """The client's fields from ``customer``. Its note is a person's as much as booksync's: one
        carrying booksync's mark (``remote``, as just read) is left as FreshBooks holds it; one
        without (a client a person made, found by its e-mail or name, one whose mark was taken
        out, or one marked in the form booksync wrote before) is read and written back with the
        mark on a line of its own after their text."""
        mark = mapping.client_mark(customer)
        note = None
        if remote.marker != mark:
            current = self._client.read(CLIENTS, remote.id)
            note = mapping.marked_note(current.get("note") if current is not None else None, customer)
        body = {**mapping.client_body(customer, note=note), "vis_state": mapping.ACTIVE}  # archived: revived
        return mapping.to_client(self._client.update(CLIENTS, remote.id, body))

    def distinct(self, document: Named) -> Named:
        return mapping.distinct(document)

    # ------------------------------------------------------------------ items

    def find_item(self, item: Item) -> RemoteObject | None:
        """The live item under exactly the item's name (FreshBooks keys items on nothing else)."""
        name = mapping.item_name(item)
        rows = self._client.list_all(ITEMS, search(name=name))
        found = next((row for row in rows if mapping.live(row) and row.get("name") == name), None)
        return self._item(found) if found is not None else None

    def get_item(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read(ITEMS, remote_id)
        return self._item(found) if found is not None and mapping.live(found) else None

    def create_item(self, item: Item, refs: ItemRefs, *, idempotency_key: str) -> RemoteObject:
        return self._item(self._client.create(ITEMS, mapping.item_body(item)))

    def update_item(
        self, remote: RemoteObject, item: Item, refs: ItemRefs, *, idempotency_key: str
    ) -> RemoteObject:
        body = {**mapping.item_body(item), "vis_state": mapping.ACTIVE}
        return self._item(self._client.update(ITEMS, remote.id, body))

    def _item(self, row: Json) -> RemoteObject:
        remote = mapping.to_item(row)
        if remote.name:
            self._item_names[remote.id] = remote.name
        return remote

    # ------------------------------------------------------------------ invoices

    def find_invoice(self, invoice: Invoice, marker: str) -> RemoteObject | None:
        number = mapping.invoice_number(invoice)
        rows = self._client.list_all(INVOICES, search(invoice_number=number))
        ours = [
            row
            for row in rows
            if mapping.live(row)
            and row.get("invoice_number") == number
            and mapping.carries_marker(row, marker)
        ]
        return mapping.to_invoice(ours[0]) if ours else None

    def get_invoice(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read(INVOICES, remote_id)
        return mapping.to_invoice(found) if found is not None else None

    def create_invoice(self, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str) -> RemoteObject:
        """A FreshBooks draft, then marked sent (if that answer is lost, the engine's lookup finds
        the draft and its update marks it sent)."""
        body = mapping.invoice_body(invoice, refs, self._names(refs))
        created = self._client.create(INVOICES, body)
        return self._sent(created)

    def update_invoice(
        self, remote: RemoteObject, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject:
        # The lines sent replace the invoice's lines: the new lines are the whole invoice.
        body = mapping.invoice_body(invoice, refs, self._names(refs))
        return self._sent(self._client.update(INVOICES, remote.id, body))

    def _sent(self, answer: Json) -> RemoteObject:
        """The invoice, marked sent where FreshBooks still holds it as a draft."""
        if mapping.is_draft(answer):
            answer = self._client.update(INVOICES, mapping.ident(answer, "invoiceid"), MARK_SENT)
        return mapping.to_invoice(answer)

    def _names(self, refs: InvoiceRefs) -> Mapping[str, str]:
        """The name of each item the invoice names (those not written here read in one request)."""
        unknown = sorted({r for r in refs.item_ids.values() if r not in self._item_names})
        if unknown:  # one list for all of them
            for row in self._client.list_all(ITEMS, {"search[itemids][]": unknown}):
                self._item(row)
        return self._item_names

    def void_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> RemoteObject:
        from booksync.providers.registry import declaration

        raise declaration(PROVIDER).not_supported(Capability.VOIDS, f"invoice {remote.name or remote.id}")

    def delete_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> None:
        """FreshBooks deletes an invoice outright (``DELETE``); one already gone is done."""
        current = self._client.read(INVOICES, remote.id)
        if current is not None and mapping.live(current):
            self._client.delete(INVOICES, remote.id)

    # ------------------------------------------------------------------ payments

    def find_payment(self, payment: Payment, refs: PaymentRefs) -> RemoteObject | None:
        """booksync's payment on the invoice: the live one of that date, amount and marker."""
        ((invoice_id, amount),) = refs.lines(payment.amount)
        rows = self._client.list_all(PAYMENTS, search(invoiceid=invoice_id))
        ours = [row for row in rows if mapping.is_payment(row, invoice_id, payment.date, amount, refs.marker)]
        return mapping.to_payment(ours[0]) if ours else None

    def create_payment(self, payment: Payment, refs: PaymentRefs, *, idempotency_key: str) -> RemoteObject:
        """One payment on one invoice (FreshBooks pays one invoice a payment: its declaration has
        no payments across invoices, so the core splits those). FreshBooks then reads the
        invoice paid, or partial, itself."""
        if len(refs.lines(payment.amount)) != 1:
            raise AssertionError(f"{LABEL} records one payment per invoice: the core splits the rest")
        ((invoice_id, amount),) = refs.lines(payment.amount)
        body = mapping.payment_body(payment, refs, invoice_id, amount)
        return mapping.to_payment(self._client.create(PAYMENTS, body))

    # ------------------------------------------------------------------ refunds

    def find_refund(self, refund: Refund, refs: RefundRefs) -> RemoteObject | None:
        return None

    def create_refund(self, refund: Refund, refs: RefundRefs, *, idempotency_key: str) -> RemoteObject:
        from booksync.providers.registry import declaration

        raise declaration(PROVIDER).not_supported(Capability.REFUNDS, f"refund {refund.id}")

    # ------------------------------------------------------------------ accounts, currencies

    def list_accounts(self) -> Sequence[Account]:
        """FreshBooks items carry no income account, and booksync chooses none there."""
        return []

    def company_currencies(self) -> CompanyCurrencies:
        """FreshBooks bills each client in its own currency: any currency is bookable, and no
        currency goes unsaid (no home one: each client is created in its first invoice's)."""
        return CompanyCurrencies(home=NO_HOME, multicurrency=True)


def client_among(customer: Customer, rows: Sequence[Json]) -> RemoteObject | None:
    """Which of ``rows`` is ``customer`` in FreshBooks: the live client carrying booksync's mark
    of it (``marked_for``: the form written before too); else one under its name, carrying no
    mark of booksync's, that surely is this customer (the wizard's duplicate judgement). A line of
    a person's that reads like booksync's old form ("booksync:ok") is no mark."""
    live = [row for row in rows if mapping.live(row)]
    ours = [row for row in live if mapping.marked_for(row, customer)]
    if ours:
        return mapping.to_client(ours[0])
    name = mapping.client_name(customer)
    for row in live:
        if mapping.client_marker(row) or not same_name(mapping.display_name(row), name):
            continue
        from booksync.onboarding.duplicates import surely_same  # rapidfuzz loads only here

        if surely_same(customer, mapping.to_remote_customer(row)):
            return mapping.to_client(row)
    return None
