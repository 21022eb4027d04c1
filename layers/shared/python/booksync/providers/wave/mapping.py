"""booksync documents <-> Wave GraphQL inputs and answers (providers.md 4 and 7.3).

Pure functions: no I/O, so every shape is testable without a server.

- A customer carries booksync's customer id as its ``displayId`` (Wave's "your own customer
  number"), under a ``name``; Wave keeps no name unique, so a lookup takes a customer under the
  name only when the rest of the record agrees and it carries no other number.
- A product is keyed by its ``name`` (Wave has no SKU or code on products), sold through the
  income account chosen for items (``incomeAccountId``).
- An invoice is created approved (``status: SAVED``; one Wave answers as a draft is approved)
  and marked sent: booksync never sends a draft, and syncs an invoice only once it is SENT. It
  carries its number and booksync's marker (its P.O. number: the lookup after doubt matches
  both, never the customer, whose displayId is booksync's only when booksync wrote it).
  booksync's discount is one fixed discount and its tax each taxable line's
  amount of the business's sales tax of that rate, so Wave's totals are booksync's to the cent.
  Its memo is Wave's memo.
- A payment is a manual invoice payment into the chosen account, booksync's marker first in its
  memo (what the lookup after doubt matches), a person's reference after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from booksync.documents import Customer, DocumentKind, Invoice, Item, Payment, PaymentMethod
from booksync.providers.declaration import Unsayable
from booksync.providers.port import (
    Account,
    AccountKind,
    CompanyCurrencies,
    InvoiceRefs,
    Named,
    PaymentRefs,
    RemoteCustomer,
    RemoteItem,
    RemoteObject,
)
from booksync.providers.text import (
    bounded_address,
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
from booksync.providers.wave import LABEL, PROVIDER

Json = dict[str, Any]

# Wave publishes no field limits: these keep names and notes within what its forms take.
NAME_MAX = 255
DISPLAY_ID_MAX = 50
PERSON_NAME_MAX = 100
DESCRIPTION_MAX = 4000
INVOICE_NUMBER_MAX = 100
MEMO_MAX = 4000
# Between booksync's marker and a person's reference in a payment's memo.
NOTE_SEPARATOR = " | "
MARKER_MAX = 100
# An invoice Wave still holds as a draft; one created approved (booksync approves and marks sent
# what it creates: one stopped between the steps is finished by the next attempt).
DRAFT = "DRAFT"
SAVED = "SAVED"
# Wave lets apps connect only businesses that keep their books in US or Canadian dollars, and
# booksync books an invoice in its business's currency only (providers.md 4).
CURRENCIES = ("USD", "CAD")
# The income account Wave's charts start with.
INCOME_ACCOUNT_NAMES = ("Sales",)

_METHODS: Mapping[PaymentMethod, str] = {
    PaymentMethod.CASH: "CASH",
    PaymentMethod.CHECK: "CHEQUE",
    PaymentMethod.CREDIT_CARD: "CREDIT_CARD",
    PaymentMethod.BANK_TRANSFER: "BANK_TRANSFER",
    PaymentMethod.OTHER: "OTHER",
}


def _not_empty(name: str, what: str, original: str) -> str:
    return not_empty(name, what, original, provider=PROVIDER, label=LABEL)


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def money(value: Any) -> Decimal | None:
    """A ``Money`` (``{value}``, its display text: "1,234.50") as a Decimal."""
    text = value.get("value") if isinstance(value, Mapping) else value
    return _decimal(str(text).replace(",", "")) if text is not None else None


# ---------------------------------------------------------------------- customers


def display_id(customer_id: str) -> str:
    """booksync's id of a customer, as Wave keeps it (``displayId``)."""
    if len(customer_id) <= DISPLAY_ID_MAX:
        return customer_id
    return f"bs-{_digest(customer_id, DISPLAY_ID_MAX - 3)}"


def customer_name(customer: Customer) -> str:
    return _not_empty(clean_line(customer.display_name, NAME_MAX), "customer", customer.display_name)


def customer_input(customer: Customer, currency: str | None = None) -> Json:
    """The fields of ``customerCreate``/``customerPatch`` (``currency`` on create only)."""
    body: Json = {"name": customer_name(customer), "displayId": display_id(customer.id)}
    _put(body, "currency", currency)
    _put(body, "firstName", _line(customer.given_name, PERSON_NAME_MAX))
    _put(body, "lastName", _line(customer.family_name, PERSON_NAME_MAX))
    _put(body, "email", _line(customer.email, NAME_MAX))
    _put(body, "phone", _line(customer.phone, 50))
    address = customer.billing_address
    if address is not None:
        fields: Json = {}
        _put(fields, "addressLine1", _line(address.line1, NAME_MAX))
        _put(fields, "addressLine2", _line(address.line2, NAME_MAX))
        _put(fields, "city", _line(address.city, NAME_MAX))
        _put(fields, "postalCode", _line(address.postal_code, 30))
        country = (address.country or "").strip().upper()
        if len(country) == 2 and country.isalpha():
            fields["countryCode"] = country
            region = (address.region or "").strip().upper()
            if len(region) == 2 and region.isalnum():
                fields["provinceCode"] = f"{country}-{region}"  # Wave's codes: "US-NY", "CA-ON"
        _put(body, "address", fields)  # Wave refuses an address of nothing but nulls
    return body


def to_remote_customer(obj: Mapping[str, Any]) -> RemoteCustomer:
    """A customer as the wizard (and the lookups' duplicate judgement) reads one."""
    address = obj.get("address")
    found: Mapping[str, Any] = address if isinstance(address, Mapping) else {}
    province, country = found.get("province"), found.get("country")
    billing = bounded_address(
        line1=found.get("addressLine1"),
        line2=found.get("addressLine2"),
        city=found.get("city"),
        region=province.get("name") if isinstance(province, Mapping) else None,
        postal_code=found.get("postalCode"),
        country=country.get("code") if isinstance(country, Mapping) else None,
    )
    return RemoteCustomer(
        id=str(obj["id"]),
        display_name=str(obj.get("name") or ""),
        given_name=_text(obj.get("firstName")),
        family_name=_text(obj.get("lastName")),
        email=_text(obj.get("email")),
        phone=_text(obj.get("phone")),
        billing_address=billing,
    )


def to_customer(obj: Mapping[str, Any]) -> RemoteObject:
    currency = obj.get("currency")
    return RemoteObject(
        id=str(obj["id"]),
        name=_text(obj.get("name")),
        currency=_text(currency.get("code")) if isinstance(currency, Mapping) else None,
    )


# ---------------------------------------------------------------------- products


def product_name(item: Item) -> str:
    return _not_empty(clean_line(item.name, NAME_MAX), "item", item.name)


def product_input(item: Item, income_account_id: str) -> Json:
    """The fields of ``productCreate``/``productPatch``: sold on invoices through ``income_account_id``."""
    body: Json = {
        "name": product_name(item),
        "unitPrice": str(item.unit_price),
        "incomeAccountId": income_account_id,
    }
    _put(body, "description", clean_text(item.description, DESCRIPTION_MAX) if item.description else None)
    return body


def to_product(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=str(obj["id"]), name=_text(obj.get("name")), active=obj.get("isArchived") is not True
    )


def to_remote_item(obj: Mapping[str, Any]) -> RemoteItem:
    """A product as the wizard reads one, with its income account."""
    account = obj.get("incomeAccount")
    return RemoteItem(
        id=str(obj["id"]),
        name=str(obj.get("name") or ""),
        unit_price=_decimal(obj.get("unitPrice")),
        description=_text(obj.get("description")),
        income_account_id=_text(account.get("id")) if isinstance(account, Mapping) else None,
        income_account_name=_text(account.get("name")) if isinstance(account, Mapping) else None,
        active=obj.get("isArchived") is not True,
    )


def distinct(document: Named) -> Named:
    """``document`` under a name unique to it within Wave's limits ("a-b (k3f9qz)")."""
    if isinstance(document, Customer):
        return document.model_copy(
            update={"display_name": distinct_name(customer_name(document), document.id, NAME_MAX)}
        )
    return document.model_copy(update={"name": distinct_name(product_name(document), document.id, NAME_MAX)})


# ---------------------------------------------------------------------- invoices


def invoice_number(invoice: Invoice) -> str:
    return clean_line(invoice.number, INVOICE_NUMBER_MAX)


def sales_tax_rate(percent: Decimal) -> Decimal:
    """booksync's percent as Wave keeps a sales tax's rate (a fraction: 8.25 -> 0.0825)."""
    return (percent / 100).normalize()


def invoice_input(invoice: Invoice, refs: InvoiceRefs, sales_tax_id: str | None) -> Json:
    """The fields of ``invoiceCreate``/``invoicePatch``. ``sales_tax_id``: the business's sales
    tax of the invoice's rate (None: the invoice bears no tax)."""
    taxed = bool(invoice.tax_rate_percent)
    if taxed and sales_tax_id is None:
        raise AssertionError("an invoice bearing tax names the sales tax it bears")
    items = []
    for line, (_discount, tax) in zip(invoice.lines, line_shares(invoice), strict=True):
        product_id = refs.item_ids.get(line.item_id)
        if product_id is None:
            raise unlinked_item(line.item_id, provider=PROVIDER, label=LABEL)
        item: Json = {
            "productId": product_id,
            "quantity": str(line.quantity.normalize()),
            "unitPrice": str(line.unit_price),
        }
        _put(item, "description", clean_text(line.description, DESCRIPTION_MAX) if line.description else None)
        if taxed and line.taxable:
            item["taxes"] = [{"salesTaxId": sales_tax_id, "amount": str(tax)}]
        items.append(item)
    body: Json = {
        "customerId": refs.customer_id,
        # Approved at once (Wave's SAVED): booksync never sends a draft. One Wave still answers
        # as a draft is approved by ``invoiceApprove`` (the adapter's ``_finish``).
        "status": SAVED,
        "invoiceNumber": invoice_number(invoice),
        # booksync's marker, what the lookup after doubt matches beside the number (a customer
        # linked by name or in the wizard carries no displayId of booksync's to match).
        "poNumber": marker_text(refs.marker),
        "invoiceDate": invoice.issue_date.isoformat(),
        "dueDate": (invoice.due_date or invoice.issue_date).isoformat(),
        "currency": invoice.currency,
        "items": items,
        "memo": clean_text(invoice.memo, MEMO_MAX) if invoice.memo else "",
        # One fixed discount of booksync's amount (a percent one too: its cents are booksync's).
        "discounts": (
            [{"discountType": "FIXED", "amount": str(invoice.discount_amount), "name": "Discount"}]
            if invoice.discount_amount
            else []
        ),
    }
    return body


def invoice_marked(obj: Mapping[str, Any], marker: str) -> bool:
    """The invoice carries booksync's ``marker`` (in its P.O. number, as ``invoice_input`` writes it)."""
    return obj.get("poNumber") == marker_text(marker)


def unsent(obj: Mapping[str, Any]) -> bool:
    """Never sent (nor marked sent): Wave's status alone does not say so, since an approved
    invoice past its due date reads OVERDUE whether it was sent or not."""
    return obj.get("status") == DRAFT or not obj.get("lastSentAt")


def to_invoice(obj: Mapping[str, Any]) -> RemoteObject:
    currency = obj.get("currency")
    return RemoteObject(
        id=str(obj["id"]),
        name=_text(obj.get("invoiceNumber")),
        total=money(obj.get("total")),
        balance=money(obj.get("amountDue")),
        currency=_text(currency.get("code")) if isinstance(currency, Mapping) else None,
    )


# ---------------------------------------------------------------------- payments


def marker_text(marker: str) -> str:
    """booksync's marker as a memo keeps it: whole up to ``MARKER_MAX``, else a digest of it."""
    cleaned = clean_line(marker, len(marker) + 1)
    return cleaned if len(cleaned) <= MARKER_MAX else f"booksync:{_digest(cleaned, MARKER_MAX - 9)}"


def marked(marker: str, text: str | None) -> str:
    """booksync's marker first (what the lookups match), a person's reference after it."""
    mark = marker_text(marker)
    return mark if not text else clean_line(f"{mark}{NOTE_SEPARATOR}{' '.join(text.split())}", MEMO_MAX)


def carries_marker(obj: Mapping[str, Any], marker: str) -> bool:
    memo = obj.get("memo")
    if not isinstance(memo, str) or not memo.strip():
        return False
    return memo.strip().split(NOTE_SEPARATOR)[0].strip() == marker_text(marker)


def payment_input(
    payment: Payment, refs: PaymentRefs, account_id: str, invoice_id: str, amount: Decimal
) -> Json:
    """``invoicePaymentCreateManual``'s input: ``amount`` of ``invoice_id`` into ``account_id``,
    in the invoice's currency (its exchange rate 1: Wave books one currency, the business's)."""
    return {
        "invoiceId": invoice_id,
        "paymentAccountId": account_id,
        "amount": str(amount),
        "paymentDate": payment.date.isoformat(),
        "paymentMethod": _METHODS[payment.method],
        "exchangeRate": "1",
        "memo": marked(refs.marker, payment.reference),
    }


def to_payment(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(id=str(obj["id"]), total=_decimal(obj.get("amount")))


# ---------------------------------------------------------------------- business and accounts


def to_currencies(business: Mapping[str, Any]) -> CompanyCurrencies:
    """The business's currency; no other (booksync books an invoice in Wave in its business's
    currency only: Wave's foreign-currency invoices would need an exchange rate booksync has not)."""
    currency = business.get("currency")
    home = _text(currency.get("code")) if isinstance(currency, Mapping) else None
    return CompanyCurrencies(home=home or "USD", multicurrency=False)


# The subtypes of the accounts a product may sell through (productCreate's incomeAccountId;
# providers.md 4): booksync's income accounts. Wave's own income accounts of other subtypes
# (Uncategorized Income, Gain On Foreign Exchange) take no product: listed, never chosen.
INCOME_SUBTYPES = ("INCOME", "DISCOUNTS", "OTHER_INCOME")
# Wave's account subtypes booksync has a word for; any other by its type. A payment goes into a
# Cash and Bank account (invoicePaymentCreateManual's paymentAccountId): Money in Transit is an
# asset no payment is recorded into.
_KIND_OF_SUBTYPE: Mapping[str, AccountKind] = {
    "CASH_AND_BANK": AccountKind.BANK,
    "EXPECTED_PAYMENTS_FROM_CUSTOMERS": AccountKind.RECEIVABLE,
    "SYSTEM_RECEIVABLE": AccountKind.RECEIVABLE,
    "CREDIT_CARD": AccountKind.CREDIT_CARD,
    "EXPECTED_PAYMENTS_TO_VENDORS": AccountKind.PAYABLE,
    "SYSTEM_PAYABLE": AccountKind.PAYABLE,
    **dict.fromkeys(INCOME_SUBTYPES, AccountKind.INCOME),
}
_KIND_OF_TYPE: Mapping[str, AccountKind] = {
    "ASSET": AccountKind.ASSET,
    "LIABILITY": AccountKind.LIABILITY,
    "EQUITY": AccountKind.EQUITY,
    "EXPENSE": AccountKind.EXPENSE,
}


def _value(obj: Any) -> str:
    return str(obj.get("value") or "") if isinstance(obj, Mapping) else ""


def to_account(obj: Mapping[str, Any]) -> Account:
    """An account, its Wave type kept as its type and its subtype as its finer type."""
    account_type, subtype = _value(obj.get("type")), _value(obj.get("subtype"))
    return Account(
        id=str(obj["id"]),
        name=str(obj.get("name") or ""),
        kind=_KIND_OF_SUBTYPE.get(subtype) or _KIND_OF_TYPE.get(account_type, AccountKind.OTHER),
        account_type=account_type,
        sub_type=subtype or None,
        active=obj.get("isArchived") is not True,
        code=_text(obj.get("displayId")),
    )


def sales_tax_of(rows: Sequence[Mapping[str, Any]], percent: Decimal) -> str | None:
    """The id of the business's live sales tax of ``percent``; None when it has none."""
    rate = sales_tax_rate(percent)
    for row in rows:
        found = _decimal(row.get("rate"))
        if found is not None and found.normalize() == rate and row.get("isArchived") is not True:
            return str(row["id"])
    return None


def unsayable(kind: DocumentKind, document: object) -> list[Unsayable]:
    """What of a document Wave cannot hold as given (its declaration's ``unsayable``: refused at
    the door for a company whose books are in Wave): an invoice in a currency no Wave business
    keeps its books in."""
    if kind is not DocumentKind.INVOICE or not isinstance(document, Invoice):
        return []
    if document.currency in CURRENCIES:
        return []
    return [
        Unsayable(
            "currency",
            f"must be USD or CAD (got {document.currency}): {LABEL} keeps a business's books in US or "
            "Canadian dollars only, and booksync books an invoice in its business's currency",
            f"Send the invoice in the currency of the {LABEL} business (USD or CAD).",
        )
    ]
