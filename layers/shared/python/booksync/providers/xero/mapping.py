"""booksync documents <-> Xero Accounting JSON (xero_accounting.yaml; providers.md 2.2 and 7.1).

Pure functions: no I/O, so every shape is testable without a server.

- A contact carries booksync's customer id in ``ContactNumber`` (the external system's id, which
  Xero lets only the API set), under a ``Name`` of at most 255 characters that Xero keeps unique
  among active contacts.
- An item is keyed by its ``Code`` (at most 30): its SKU, else its name, cleaned; a longer one is
  shortened with a tag of the document's own, so two long names never meet on one code. Its
  ``Name`` is at most 50. ``distinct`` gives both a name of the document's own.
- An invoice is a sales invoice (ACCREC) sent AUTHORISED (booksync never sends a draft), with its
  ``InvoiceNumber`` and booksync's marker as its ``Reference`` (searchable with ``where``).
  booksync's invoice-level discount is spread over the lines as ``DiscountAmount`` and its tax as
  each taxable line's ``TaxAmount``, so Xero's totals are booksync's to the cent. Its memo is a
  last line with a description only (how a note is put on a Xero invoice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from booksync.documents import Customer, Invoice, Item, Payment, Refund
from booksync.providers.port import (
    Account,
    AccountKind,
    CompanyCurrencies,
    InvoiceRefs,
    Named,
    PaymentRefs,
    RefundRefs,
    RemoteObject,
)
from booksync.providers.text import (
    clean_line,
    clean_text,
    distinct_name,
    line_shares,
    not_empty,
    unlinked_item,
)
from booksync.providers.text import decimal_or_none as _decimal
from booksync.providers.text import line as _line
from booksync.providers.text import put as _put
from booksync.providers.text import text_or_none as _text
from booksync.providers.xero.oauth import LABEL, PROVIDER

Json = dict[str, Any]

# Xero's limits (xero_accounting.yaml).
CONTACT_NAME_MAX = 255
CONTACT_NUMBER_MAX = 50
PERSON_NAME_MAX = 255
EMAIL_MAX = 255
ITEM_CODE_MAX = 30
ITEM_NAME_MAX = 50
DESCRIPTION_MAX = 4000
INVOICE_NUMBER_MAX = 255
# Xero keeps a Reference of up to 255 characters on invoices, payments and credit notes.
REFERENCE_MAX = 255
# Between booksync's marker and a person's reference in a payment's Reference.
NOTE_SEPARATOR = " | "
# The longest marker a Reference holds whole, and what is left of it for a person's reference.
MARKER_MAX = 100
PERSON_REFERENCE_MAX = REFERENCE_MAX - MARKER_MAX - len(NOTE_SEPARATOR)
# booksync sends invoices approved: a draft never syncs (the engine skips it).
SENT = "AUTHORISED"
# What Xero sets once payments or credit cover it, and the ends of an invoice.
GONE = frozenset({"DELETED"})
# The sales accounts Xero's charts start with, most usual first (Code 200 "Sales").
INCOME_ACCOUNT_NAMES = ("Sales", "Other Revenue")
# The TaxType of a line that bears no tax (a tax-exempt item, an untaxed invoice).
NO_TAX = "NONE"


def _not_empty(name: str, what: str, original: str) -> str:
    return not_empty(name, what, original, provider=PROVIDER, label=LABEL)


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# ---------------------------------------------------------------------- contacts


def contact_number(customer: Customer) -> str:
    """booksync's id of the customer, as Xero keeps it (ContactNumber, at most 50 characters)."""
    if len(customer.id) <= CONTACT_NUMBER_MAX:
        return customer.id
    return f"bs-{_digest(customer.id, CONTACT_NUMBER_MAX - 3)}"


def contact_name(customer: Customer) -> str:
    return _not_empty(clean_line(customer.display_name, CONTACT_NAME_MAX), "customer", customer.display_name)


def contact_body(customer: Customer, currency: str | None = None) -> Json:
    """``currency`` on create only (a contact's default currency)."""
    body: Json = {
        "Name": contact_name(customer),
        "ContactNumber": contact_number(customer),
        "ContactStatus": "ACTIVE",  # a contact the app syncs is in use (an archived one is revived)
    }
    _put(body, "DefaultCurrency", currency)
    _put(body, "FirstName", _line(customer.given_name, PERSON_NAME_MAX))
    _put(body, "LastName", _line(customer.family_name, PERSON_NAME_MAX))
    _put(body, "EmailAddress", _line(customer.email, EMAIL_MAX))
    if customer.phone:
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": clean_line(customer.phone, 50)}]
    address = customer.billing_address
    if address is not None:
        fields: Json = {"AddressType": "POBOX"}
        _put(fields, "AddressLine1", _line(address.line1, 500))
        _put(fields, "AddressLine2", _line(address.line2, 500))
        _put(fields, "City", _line(address.city, 255))
        _put(fields, "Region", _line(address.region, 255))
        _put(fields, "PostalCode", _line(address.postal_code, 50))
        _put(fields, "Country", _line(address.country, 50))
        body["Addresses"] = [fields]
    return body


# ---------------------------------------------------------------------- items


def item_name(item: Item) -> str:
    return _not_empty(clean_line(item.name, ITEM_NAME_MAX), "item", item.name)


def item_code(item: Item) -> str:
    """The item's Code: its SKU, else its name, cleaned; one longer than Xero keeps is shortened
    with the document's own tag ("Consulting services, h (k3f9qz)"), the same each time."""
    source = item.sku or item.name
    whole = clean_line(source, len(source) + 1)
    code = whole if len(whole) <= ITEM_CODE_MAX else distinct_name(whole, item.id, ITEM_CODE_MAX)
    return _not_empty(code, "item", source)


def item_body(item: Item, account_code: str) -> Json:
    """An item sold on invoices, its sales posted to ``account_code``; a tax-exempt one bears no tax."""
    sales: Json = {"UnitPrice": item.unit_price, "AccountCode": account_code}
    if not item.taxable:
        sales["TaxType"] = NO_TAX
    body: Json = {"Code": item_code(item), "Name": item_name(item), "IsSold": True, "SalesDetails": sales}
    _put(body, "Description", clean_text(item.description, DESCRIPTION_MAX) if item.description else None)
    return body


def distinct(document: Named) -> Named:
    """``document`` under a name unique to it within Xero's limits ("a-b (k3f9qz)"); an item's
    code too, since Xero keys items on their code."""
    if isinstance(document, Customer):
        name = distinct_name(contact_name(document), document.id, CONTACT_NAME_MAX)
        return document.model_copy(update={"display_name": name})
    update = {"name": distinct_name(item_name(document), document.id, ITEM_NAME_MAX)}
    if document.sku:
        update["sku"] = distinct_name(item_code(document), document.id, ITEM_CODE_MAX)
    return document.model_copy(update=update)


# ---------------------------------------------------------------------- invoices


def invoice_number(invoice: Invoice) -> str:
    return clean_line(invoice.number, INVOICE_NUMBER_MAX)


def reference(marker: str) -> str:
    """booksync's marker as a Reference keeps it: whole up to ``MARKER_MAX``, else a digest of it
    (a company id may be long; Xero keeps 255 characters of a Reference)."""
    cleaned = clean_line(marker, len(marker) + 1)
    return cleaned if len(cleaned) <= MARKER_MAX else f"booksync:{_digest(cleaned, MARKER_MAX - 9)}"


def invoice_body(invoice: Invoice, refs: InvoiceRefs, item_codes: Mapping[str, str], tax_type: str) -> Json:
    """An approved sales invoice. ``item_codes``: remote item id -> its Code; ``tax_type``: the
    TaxType of taxable lines when the invoice bears tax."""
    taxed = bool(invoice.tax_rate_percent)
    lines = []
    for line, (discount, tax) in zip(invoice.lines, line_shares(invoice), strict=True):
        amount = invoice.line_amount(line)
        remote_item = refs.item_ids.get(line.item_id)
        code = item_codes.get(remote_item or "")
        if code is None:
            raise unlinked_item(line.item_id, provider=PROVIDER, label=LABEL)
        body: Json = {
            "ItemCode": code,
            "Quantity": line.quantity.normalize(),
            "UnitAmount": line.unit_price,
            "LineAmount": amount - discount,
            "TaxType": tax_type if taxed and line.taxable else NO_TAX,
        }
        _put(body, "Description", clean_text(line.description, DESCRIPTION_MAX) if line.description else None)
        if discount:
            body["DiscountAmount"] = discount
        if taxed and line.taxable:
            body["TaxAmount"] = tax
        lines.append(body)
    if invoice.memo:
        # Xero's invoices have no message field: a note is a line with a description only.
        lines.append({"Description": clean_text(invoice.memo, DESCRIPTION_MAX)})
    element: Json = {
        "Type": "ACCREC",
        "Contact": {"ContactID": refs.customer_id},
        "InvoiceNumber": invoice_number(invoice),
        "Reference": reference(refs.marker),
        "Date": invoice.issue_date.isoformat(),
        # Xero approves an invoice only with a due date: none given, it is due on issue.
        "DueDate": (invoice.due_date or invoice.issue_date).isoformat(),
        "Status": SENT,
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": "Exclusive" if taxed else "NoTax",
        "LineItems": lines,
    }
    return element


# ---------------------------------------------------------------------- payments and refunds


def marked(marker: str, text: str | None) -> str:
    """booksync's marker first (what the lookups match), a person's reference after it."""
    mark = reference(marker)
    return mark if not text else clean_line(f"{mark}{NOTE_SEPARATOR}{' '.join(text.split())}", REFERENCE_MAX)


def marker_of(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip().split(NOTE_SEPARATOR)[0].strip()


def payment_body(
    payment: Payment, refs: PaymentRefs, account_id: str, invoice_id: str, amount: Decimal
) -> Json:
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"AccountID": account_id},
        "Date": payment.date.isoformat(),
        "Amount": amount,
        "Reference": marked(refs.marker, payment.reference),
    }


def credit_note_body(refund: Refund, refs: RefundRefs, account_code: str) -> Json:
    """The money returned on a paid invoice, as Xero records it: an approved sales credit note
    (ACCRECCREDIT) for the amount, then paid out (``refund_payment_body``)."""
    line: Json = {
        "Description": _line(refund.reason, DESCRIPTION_MAX) or "Refund",
        "Quantity": Decimal(1),
        "UnitAmount": refund.amount,
        "AccountCode": account_code,
        "TaxType": NO_TAX,
    }
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": refs.customer_id},
        "Date": refund.date.isoformat(),
        "Status": SENT,
        "CurrencyCode": refs.currency,
        "LineAmountTypes": "NoTax",
        "LineItems": [line],
        "Reference": marked(refs.marker, refund.reference),
    }


def refund_payment_body(
    refund: Refund, credit_note_id: str, account_id: str, marker: str, amount: Decimal
) -> Json:
    """The money paid out of the refund's credit note: ``amount``, its credit left (at most the refund's)."""
    return {
        "CreditNote": {"CreditNoteID": credit_note_id},
        "Account": {"AccountID": account_id},
        "Date": refund.date.isoformat(),
        "Amount": amount,
        "Reference": marked(marker, refund.reference),
    }


# ---------------------------------------------------------------------- answers


def to_contact(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=str(obj["ContactID"]),
        name=_text(obj.get("Name")),
        active=obj.get("ContactStatus", "ACTIVE") == "ACTIVE",
        currency=_text(obj.get("DefaultCurrency")),
    )


def to_item(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(id=str(obj["ItemID"]), name=_text(obj.get("Name")))


def to_invoice(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=str(obj["InvoiceID"]),
        name=_text(obj.get("InvoiceNumber")),
        total=_decimal(obj.get("Total")),
        balance=_decimal(obj.get("AmountDue")),
        active=obj.get("Status") not in GONE,
        marker=marker_of(obj.get("Reference")),
        currency=_text(obj.get("CurrencyCode")),
        voided=obj.get("Status") == "VOIDED",
    )


def to_payment(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=str(obj["PaymentID"]),
        total=_decimal(obj.get("Amount")),
        active=obj.get("Status") != "DELETED",
        marker=marker_of(obj.get("Reference")),
    )


def to_credit_note(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=str(obj["CreditNoteID"]),
        name=_text(obj.get("CreditNoteNumber")),
        total=_decimal(obj.get("Total")),
        balance=_decimal(obj.get("RemainingCredit")),
        active=obj.get("Status") not in GONE | {"VOIDED"},
        marker=marker_of(obj.get("Reference")),
        currency=_text(obj.get("CurrencyCode")),
    )


def carries_marker(obj: Mapping[str, Any], marker: str) -> bool:
    """The record's Reference starts with booksync's marker (exact: ``inv-1`` is not ``inv-10``)."""
    return marker_of(obj.get("Reference")) == reference(marker)


# Multi-currency is part of Xero's larger plans (Premium, Ultimate, Established).
_MULTICURRENCY_CLASSES = ("PREMIUM", "ULTIMATE")


def to_currencies(organisation: Mapping[str, Any]) -> CompanyCurrencies:
    home = _text(organisation.get("BaseCurrency")) or "USD"
    plan = str(organisation.get("Class") or "").upper()
    return CompanyCurrencies(home=home, multicurrency=plan.startswith(_MULTICURRENCY_CLASSES))


# Xero's account Type as booksync's kinds of account (SystemAccount first: receivables, payables).
_KIND_OF_SYSTEM: Mapping[str, AccountKind] = {
    "DEBTORS": AccountKind.RECEIVABLE,
    "CREDITORS": AccountKind.PAYABLE,
}
_KIND_OF_TYPE: Mapping[str, AccountKind] = {
    "BANK": AccountKind.BANK,
    "CURRENT": AccountKind.ASSET,
    "FIXED": AccountKind.ASSET,
    "INVENTORY": AccountKind.ASSET,
    "NONCURRENT": AccountKind.ASSET,
    "PREPAYMENT": AccountKind.ASSET,
    "CURRLIAB": AccountKind.LIABILITY,
    "LIABILITY": AccountKind.LIABILITY,
    "TERMLIAB": AccountKind.LIABILITY,
    "PAYG": AccountKind.LIABILITY,
    "EQUITY": AccountKind.EQUITY,
    "REVENUE": AccountKind.INCOME,
    "SALES": AccountKind.INCOME,
    "OTHERINCOME": AccountKind.INCOME,
    "EXPENSE": AccountKind.EXPENSE,
    "OVERHEADS": AccountKind.EXPENSE,
    "DIRECTCOSTS": AccountKind.EXPENSE,
    "DEPRECIATN": AccountKind.EXPENSE,
}
# A type this table does not know yet, by its Class.
_KIND_OF_CLASS: Mapping[str, AccountKind] = {
    "ASSET": AccountKind.ASSET,
    "LIABILITY": AccountKind.LIABILITY,
    "EQUITY": AccountKind.EQUITY,
    "REVENUE": AccountKind.INCOME,
    "EXPENSE": AccountKind.EXPENSE,
}


def account_kind(account_type: str, account_class: str, system: str | None) -> AccountKind:
    return (
        _KIND_OF_SYSTEM.get(system or "")
        or _KIND_OF_TYPE.get(account_type)
        or _KIND_OF_CLASS.get(account_class, AccountKind.OTHER)
    )


def to_account(obj: Mapping[str, Any]) -> Account:
    """An account, its Xero Type kept as its type and its Class as its finer type."""
    account_type = str(obj.get("Type") or "")
    account_class = str(obj.get("Class") or "")
    return Account(
        id=str(obj["AccountID"]),
        name=str(obj.get("Name") or ""),
        kind=account_kind(account_type, account_class, _text(obj.get("SystemAccount"))),
        account_type=account_type,
        sub_type=account_class or None,
        active=obj.get("Status", "ACTIVE") == "ACTIVE",
        payments_allowed=obj.get("EnablePaymentsToAccount") is True,
        code=_text(obj.get("Code")),  # what an item names its sales account by
    )
