"""``XeroProvider``: the ``AccountingProvider`` port over Xero's Accounting API (one organisation).

Lookups (``find_*``) are what the engine runs before a create and after an uncertain outcome:
contacts by ContactNumber (booksync's customer id), else by Name when the rest of the record
agrees and the contact carries no other system's number; items by Code; invoices by
InvoiceNumber, payments by their invoice, refunds (credit notes) by their Reference, each taken
only when it carries booksync's marker. Xero keeps no version on its records: every
``RemoteObject.version`` is None, and an update sends the fields it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from booksync.documents import Customer, Invoice, Item, Payment, Refund
from booksync.errors import Rejected
from booksync.providers.port import (
    Account,
    AccountKind,
    CompanyCurrencies,
    InvoiceRefs,
    ItemRefs,
    Named,
    PaymentRefs,
    RefundRefs,
    RemoteCustomer,
    RemoteObject,
)
from booksync.providers.text import customer_row
from booksync.providers.xero import mapping
from booksync.providers.xero.client import XeroClient, quote
from booksync.providers.xero.oauth import LABEL, PROVIDER

Json = dict[str, Any]
DEFAULT_SALES_TAX_TYPE = "OUTPUT"
PAYMENT_ACCOUNT_FIX = (
    "Choose the Xero account payments are paid into (a bank account, or one that accepts "
    "payments) in booksync's Xero settings, then sync again."
)


DEAD = frozenset({"DELETED", "VOIDED"})


def _live(row: Mapping[str, Any]) -> bool:
    """Not deleted or voided: a record a user ended in Xero is never one booksync links again
    (a document's next generation carries the same number and marker as the one that ended)."""
    return row.get("Status") not in DEAD


def _guid(value: str) -> str:
    return f'Guid("{value}")' if all(c in "0123456789abcdefABCDEF-" for c in value) else quote(value)


class XeroProvider:
    """One Xero organisation (tenant), through ``client``. ``sales_tax_type``: the TaxType of a
    taxable line on an invoice that bears tax."""

    name = PROVIDER

    def __init__(self, client: XeroClient, *, sales_tax_type: str = DEFAULT_SALES_TAX_TYPE) -> None:
        self._client = client
        self._sales_tax_type = sales_tax_type
        self._item_codes: dict[str, str] = {}  # ItemID -> Code, as last written or read
        self._accounts: list[Json] | None = None

    def __repr__(self) -> str:
        return f"XeroProvider(tenant_id={self._client.tenant_id!r})"

    # ------------------------------------------------------------------ customers

    def find_customer(self, customer: Customer) -> RemoteObject | None:
        """The contact with booksync's id of this customer; else the one under its name that
        surely is this one (``contact_among``)."""
        number = mapping.contact_number(customer)
        found = contact_among(customer, self._contacts(where=f"ContactNumber=={quote(number)}"))
        if found is not None:
            return found
        # By name as Xero's duplicate-name rule compares names, letter case aside: Name== is exact,
        # searchTerm is not (it also matches within names and e-mails: contact_among picks).
        return contact_among(customer, self._contacts(searchTerm=mapping.contact_name(customer)))

    def _contacts(self, **params: str) -> list[Json]:
        return self._client.query("Contacts", includeArchived="true", **params)

    def get_customer(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read("Contacts", remote_id)
        return mapping.to_contact(found) if found is not None else None

    def create_customer(
        self, customer: Customer, *, idempotency_key: str, currency: str | None = None
    ) -> RemoteObject:
        created = self._client.create(
            "Contacts", mapping.contact_body(customer, currency), idempotency_key=idempotency_key
        )
        return mapping.to_contact(created)

    def update_customer(
        self, remote: RemoteObject, customer: Customer, *, idempotency_key: str
    ) -> RemoteObject:
        updated = self._client.update(
            "Contacts", remote.id, mapping.contact_body(customer), idempotency_key=idempotency_key
        )
        return mapping.to_contact(updated)

    def distinct(self, document: Named) -> Named:
        return mapping.distinct(document)

    # ------------------------------------------------------------------ items

    def find_item(self, item: Item) -> RemoteObject | None:
        code = mapping.item_code(item)
        found = item_among(item, self._client.query("Items", where=f"Code=={quote(code)}"))
        if found is not None:
            self._item_codes[found.id] = code
        return found

    def get_item(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read("Items", remote_id)
        return self._item(found) if found is not None else None

    def create_item(self, item: Item, refs: ItemRefs, *, idempotency_key: str) -> RemoteObject:
        body = mapping.item_body(item, self.sales_account_code(item, refs))
        return self._item(self._client.create("Items", body, idempotency_key=idempotency_key))

    def update_item(
        self, remote: RemoteObject, item: Item, refs: ItemRefs, *, idempotency_key: str
    ) -> RemoteObject:
        body = mapping.item_body(item, self.sales_account_code(item, refs))
        return self._item(self._client.update("Items", remote.id, body, idempotency_key=idempotency_key))

    def _item(self, row: Json) -> RemoteObject:
        remote = mapping.to_item(row)
        if row.get("Code"):
            self._item_codes[remote.id] = str(row["Code"])
        return remote

    def sales_account_code(self, item: Item, refs: ItemRefs) -> str:
        """The Code of the account the item's sales are posted to (``refs``' account, by id)."""
        name = mapping.item_name(item)
        if refs.income_account_id is None:
            raise Rejected(
                f"The item {name!r} has no account to post its sales to in {LABEL}",
                provider=PROVIDER,
                fix=f"Choose the {LABEL} sales account for items in booksync's settings, then sync again.",
            )
        account = self._account(refs.income_account_id)
        code = account.get("Code") if account is not None else None
        if not code:
            raise Rejected(
                f"The {LABEL} account {refs.income_account_id} chosen for item {name!r}'s sales "
                + (
                    "does not exist"
                    if account is None
                    else "has no code, and Xero posts an item's sales by code"
                ),
                provider=PROVIDER,
                fix=f"Give the account a code in {LABEL} (Accounting > Chart of accounts), or choose "
                "another sales account in booksync's settings, then sync again.",
            )
        return str(code)

    def _account(self, account_id: str) -> Json | None:
        rows = self._chart()
        found = next((row for row in rows if row.get("AccountID") == account_id), None)
        if found is None and self._accounts is not None:  # added since it was read: read again
            self._accounts = None
            found = next((row for row in self._chart() if row.get("AccountID") == account_id), None)
        return found

    def _chart(self) -> list[Json]:
        if self._accounts is None:
            self._accounts = self._client.query("Accounts")
        return self._accounts

    # ------------------------------------------------------------------ invoices

    def find_invoice(self, invoice: Invoice, marker: str) -> RemoteObject | None:
        number = mapping.invoice_number(invoice)
        rows = self._client.query("Invoices", where=f"InvoiceNumber=={quote(number)}")
        ours = [row for row in rows if _live(row) and mapping.carries_marker(row, marker)]
        return mapping.to_invoice(ours[0]) if ours else None

    def get_invoice(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read("Invoices", remote_id)
        return mapping.to_invoice(found) if found is not None else None

    def create_invoice(self, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str) -> RemoteObject:
        body = mapping.invoice_body(invoice, refs, self._codes(refs), self._sales_tax_type)
        return mapping.to_invoice(self._client.create("Invoices", body, idempotency_key=idempotency_key))

    def update_invoice(
        self, remote: RemoteObject, invoice: Invoice, refs: InvoiceRefs, *, idempotency_key: str
    ) -> RemoteObject:
        # The lines sent replace the invoice's lines: the new lines are the whole invoice.
        body = mapping.invoice_body(invoice, refs, self._codes(refs), self._sales_tax_type)
        body.pop("Type")
        updated = self._client.update("Invoices", remote.id, body, idempotency_key=idempotency_key)
        return mapping.to_invoice(updated)

    def _codes(self, refs: InvoiceRefs) -> Mapping[str, str]:
        """The Code of each item the invoice names (read once for those not written here)."""
        for remote_id in refs.item_ids.values():
            if remote_id not in self._item_codes:
                found = self._client.read("Items", remote_id)
                if found is not None:
                    self._item(found)
        return self._item_codes

    def void_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> RemoteObject:
        """Status VOIDED: Xero voids an approved invoice with no payment on it."""
        return mapping.to_invoice(self._status("Invoices", remote.id, "VOIDED", idempotency_key))

    def delete_invoice(self, remote: RemoteObject, *, idempotency_key: str) -> None:
        """Status DELETED while the invoice is a draft or awaiting approval; an approved one is
        voided (Xero deletes only what was never approved)."""
        current = self._client.read("Invoices", remote.id)
        if current is None or not _live(current):
            return
        status = "DELETED" if current.get("Status") in {"DRAFT", "SUBMITTED"} else "VOIDED"
        self._status("Invoices", remote.id, status, idempotency_key)

    def _status(self, collection: str, remote_id: str, status: str, idempotency_key: str) -> Json:
        body = {"InvoiceID": remote_id, "Status": status}
        return self._client.update(collection, remote_id, body, idempotency_key=idempotency_key)

    # ------------------------------------------------------------------ payments

    def find_payment(self, payment: Payment, refs: PaymentRefs) -> RemoteObject | None:
        ours = self._payments(f"Invoice.InvoiceID=={_guid(refs.invoice_id)}", refs.marker)
        return mapping.to_payment(ours[0]) if ours else None

    def _payments(self, where: str, marker: str) -> list[Json]:
        """The live payments ``where`` names that carry booksync's ``marker``."""
        rows = self._client.query("Payments", where=where)
        return [row for row in rows if _live(row) and mapping.carries_marker(row, marker)]

    def create_payment(self, payment: Payment, refs: PaymentRefs, *, idempotency_key: str) -> RemoteObject:
        """One payment on one invoice into the chosen account (Xero pays one invoice a payment:
        its declaration has no payments across invoices, so the core splits those)."""
        invoice_id, amount = refs.one_invoice(payment.amount)
        body = mapping.payment_body(
            payment, refs, self._payment_account(refs.deposit_account_id), invoice_id, amount
        )
        return mapping.to_payment(self._client.create("Payments", body, idempotency_key=idempotency_key))

    @staticmethod
    def _payment_account(account_id: str | None) -> str:
        if account_id is None:
            raise Rejected(
                f"No {LABEL} account is chosen for payments to be paid into",
                provider=PROVIDER,
                fix=PAYMENT_ACCOUNT_FIX,
            )
        return account_id

    # ------------------------------------------------------------------ refunds

    def find_refund(self, refund: Refund, refs: RefundRefs) -> RemoteObject | None:
        """The credit note carrying the marker, once its money is paid out: no credit left, or
        booksync's payment out of it made (a note still holding credit with no such payment is
        one whose payment is still to be made: ``create_refund`` finishes it)."""
        note = self._credit_note(refs)
        if note is None:
            return None
        remote = mapping.to_credit_note(note)
        return remote if not remote.balance or self._paid_out(remote.id, refs.marker) else None

    def create_refund(self, refund: Refund, refs: RefundRefs, *, idempotency_key: str) -> RemoteObject:
        """Money returned on a paid invoice, as Xero records it: an approved sales credit note
        for the amount (found again if an earlier attempt made it), then a payment on it out of
        the refunds account."""
        account_id = self._payment_account(refs.from_account_id)
        note = self._credit_note(refs) or self._client.create(
            "CreditNotes",
            mapping.credit_note_body(refund, refs, self._refunds_account_code()),
            idempotency_key=f"{idempotency_key}-note",
        )
        remote = mapping.to_credit_note(note)
        left = remote.balance or Decimal(0)
        if left > 0 and not self._paid_out(remote.id, refs.marker):
            # A note found again may hold less than the refund: part of its credit applied to an
            # invoice in Xero since. What is left is paid out (Xero refuses more than that), once:
            # a payment of booksync's already out of it (its answer lost) is never made again,
            # even if credit comes back to the note later (an allocation removed).
            amount = min(refund.amount, left)
            body = mapping.refund_payment_body(refund, remote.id, account_id, refs.marker, amount)
            self._client.create("Payments", body, idempotency_key=f"{idempotency_key}-paid")
            remote = self.get_refund(remote.id) or remote
        return remote

    def _paid_out(self, credit_note_id: str, marker: str) -> bool:
        return bool(self._payments(f"CreditNote.CreditNoteID=={_guid(credit_note_id)}", marker))

    def get_refund(self, remote_id: str) -> RemoteObject | None:
        found = self._client.read("CreditNotes", remote_id)
        return mapping.to_credit_note(found) if found is not None else None

    def _credit_note(self, refs: RefundRefs) -> Json | None:
        rows = self._client.query("CreditNotes", where=f"Reference=={quote(mapping.reference(refs.marker))}")
        ours = [row for row in rows if _live(row) and mapping.carries_marker(row, refs.marker)]
        return ours[0] if ours else None

    def _refunds_account_code(self) -> str:
        """The sales account a refund's credit note reduces: Xero's usual one, else the first."""
        income = [
            row
            for row in self._chart()
            if mapping.to_account(row).kind is AccountKind.INCOME
            and row.get("Code")
            and row.get("Status") == "ACTIVE"
        ]
        by_name = {str(row.get("Name")): row for row in income}
        pick = next(
            (by_name[n] for n in mapping.INCOME_ACCOUNT_NAMES if n in by_name), income[0] if income else None
        )
        if pick is None:
            raise Rejected(
                f"{LABEL} has no active sales account with a code to book refunds against",
                provider=PROVIDER,
                fix=f"Add a revenue account with a code (e.g. 200 Sales) in {LABEL}, then sync again.",
            )
        return str(pick["Code"])

    # ------------------------------------------------------------------ accounts, currencies

    def list_accounts(self) -> Sequence[Account]:
        self._accounts = None
        return [mapping.to_account(row) for row in self._chart()]

    def company_currencies(self) -> CompanyCurrencies:
        return mapping.to_currencies(self._client.organisation())


def contact_among(customer: Customer, rows: Sequence[Json]) -> RemoteObject | None:
    """Which of ``rows`` is ``customer`` in Xero (``customer_row``: by ContactNumber, else by
    name). The adapter's lookups and the catalog's (``bulk.py``) both decide by it."""
    found = customer_row(
        customer,
        rows,
        number=mapping.contact_number(customer),
        number_of=lambda row: row.get("ContactNumber"),
        name=mapping.contact_name(customer),
        name_of=lambda row: row.get("Name"),
        remote=_remote_customer,
    )
    return mapping.to_contact(found) if found is not None else None


def item_among(item: Item, rows: Sequence[Json]) -> RemoteObject | None:
    """Which of ``rows`` is ``item`` in Xero: the one under its Code, exactly."""
    code = mapping.item_code(item)
    found = next((row for row in rows if row.get("Code") == code), None)
    return mapping.to_item(found) if found is not None else None


def _remote_customer(row: Mapping[str, Any]) -> RemoteCustomer:
    """A contact as the wizard's duplicate judgement reads one."""
    phones = [p for p in row.get("Phones") or [] if isinstance(p, Mapping) and p.get("PhoneNumber")]
    return RemoteCustomer(
        id=str(row["ContactID"]),
        display_name=str(row.get("Name") or ""),
        given_name=row.get("FirstName") or None,
        family_name=row.get("LastName") or None,
        email=row.get("EmailAddress") or None,
        phone=str(phones[0]["PhoneNumber"]) if phones else None,
        active=row.get("ContactStatus", "ACTIVE") == "ACTIVE",
    )
