"""booksync documents <-> QuickBooks JSON (element names from Intuit's XSDs, providers.md §1.3).

Pure functions: no I/O, so every shape is testable without a fake server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from booksync.documents import (
    DOC_ID_MAX,
    Address,
    Customer,
    Discount,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Item,
    ItemType,
    Payment,
    Refund,
    marker,
)
from booksync.errors import Rejected
from booksync.keys import KEY_MAX_CHARS
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
)
from booksync.providers.quickbooks.faults import LABEL, PROVIDER
from booksync.providers.quickbooks.names import (
    DISPLAY_NAME_MAX,
    ITEM_NAME_MAX,
    clean_display_name,
    clean_item_name,
    clean_line,
    clean_text,
    distinct_name,
    utf16_length,
)
from booksync.providers.text import decimal_or_none as _decimal
from booksync.providers.text import line as _line
from booksync.providers.text import not_empty, unlinked_item
from booksync.providers.text import put as _put
from booksync.providers.text import text_or_none as _text

Json = dict[str, Any]

# Intuit's limits (Finance.xsd, IntuitBaseTypes.xsd; QBO values).
DOC_NUMBER_MAX = 21
PERSON_NAME_MAX = 100
PHONE_MAX = 30
ADDRESS_LINE_MAX = 500
CITY_MAX = 255
REGION_MAX = 255
POSTAL_CODE_MAX = 30
COUNTRY_MAX = 255
SKU_MAX = 100
PAYMENT_REF_MAX = 21
# What QuickBooks shows or keeps of a document (Finance.xsd), in UTF-16 code units (an emoji
# counts as two); the declaration's text limits (declaration.TEXT_LIMITS) refuse longer text.
INVOICE_MEMO_MAX = 1000  # Invoice.CustomerMemo ("The maximum length for Invoice Msg is 1000")
PRIVATE_NOTE_MAX = 4000  # a transaction's PrivateNote
DESCRIPTION_MAX = 4000  # an item's or a line's Description (a refund's reason)
# Between the marker and a payment's memo in its PrivateNote (one line: QuickBooks refuses control
# characters, a newline too, there).
NOTE_SEPARATOR = " | "
# A payment's memo follows its marker in PrivateNote: it gets what the longest marker leaves (a
# company id of KEY_MAX_CHARS characters, each two units at worst, and an id of DOC_ID_MAX).
NOTE_MEMO_MAX = PRIVATE_NOTE_MAX - utf16_length(
    marker("\U00010000" * KEY_MAX_CHARS, DocumentKind.PAYMENT, "x" * DOC_ID_MAX) + NOTE_SEPARATOR
)
# The AccountSubType of the account payments wait in until deposited.
UNDEPOSITED_FUNDS = "UndepositedFunds"
DISCOUNTS_REFUNDS_GIVEN = "DiscountsRefundsGiven"
CENT = Decimal("0.01")

ITEM_TYPES = {ItemType.SERVICE: "Service", ItemType.NON_INVENTORY: "NonInventory"}


def _ref(value: str) -> Json:
    return {"value": value}


def _not_empty(name: str, what: str, original: str) -> str:
    return not_empty(name, what, original, provider=PROVIDER, label=LABEL)


# ---------------------------------------------------------------------- customers


def customer_name(customer: Customer) -> str:
    return _not_empty(clean_display_name(customer.display_name), "customer", customer.display_name)


def currency_ref(code: str) -> Json:
    return {"value": code}


def customer_body(customer: Customer, currency: str | None = None) -> Json:
    """``currency`` on create only: QuickBooks fixes a customer's currency once it exists."""
    # Active: a customer the app syncs is in use; an invoice for an inactive one fails (2500).
    body: Json = {"DisplayName": customer_name(customer), "Active": True}
    if currency is not None:
        body["CurrencyRef"] = currency_ref(currency)
    _put(body, "GivenName", _line(customer.given_name, PERSON_NAME_MAX))
    _put(body, "FamilyName", _line(customer.family_name, PERSON_NAME_MAX))
    _put(body, "CompanyName", _line(customer.company_name, PERSON_NAME_MAX))
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email}
    if customer.phone:
        _put(body, "PrimaryPhone", {"FreeFormNumber": clean_line(customer.phone, PHONE_MAX)})
    if customer.billing_address is not None:
        _put(body, "BillAddr", address_body(customer.billing_address))
    return body


def address_body(address: Address) -> Json:
    body: Json = {}
    _put(body, "Line1", _line(address.line1, ADDRESS_LINE_MAX))
    _put(body, "Line2", _line(address.line2, ADDRESS_LINE_MAX))
    _put(body, "City", _line(address.city, CITY_MAX))
    _put(body, "CountrySubDivisionCode", _line(address.region, REGION_MAX))
    _put(body, "PostalCode", _line(address.postal_code, POSTAL_CODE_MAX))
    _put(body, "Country", _line(address.country, COUNTRY_MAX))
    return body


# ---------------------------------------------------------------------- items


def item_name(item: Item) -> str:
    return _not_empty(clean_item_name(item.name), "item", item.name)


def item_body(item: Item, refs: ItemRefs) -> Json:
    name = item_name(item)
    if refs.income_account_id is None:
        raise Rejected(
            f"The item {name!r} has no income account to post its sales to in {LABEL}",
            provider=PROVIDER,
            fix=f"Choose the {LABEL} income account for items in booksync's settings, then sync again.",
        )
    body: Json = {
        "Name": name,
        "Type": ITEM_TYPES[item.type],
        "UnitPrice": item.unit_price,
        "Taxable": item.taxable,
        "IncomeAccountRef": _ref(refs.income_account_id),
        "Active": True,
    }
    _put(body, "PurchaseCost", item.unit_cost)
    _put(body, "Description", clean_text(item.description, DESCRIPTION_MAX) if item.description else None)
    _put(body, "Sku", _line(item.sku, SKU_MAX))
    return body


# ---------------------------------------------------------------------- invoices


def doc_number(invoice: Invoice) -> str:
    return clean_line(invoice.number, DOC_NUMBER_MAX)


def invoice_body(invoice: Invoice, refs: InvoiceRefs) -> Json:
    # Lines are TAX only when the invoice carries tax: a TAX line on an untaxed invoice lets
    # QuickBooks' automated sales tax add tax the business never charged.
    taxed = bool(invoice.tax_rate_percent)
    lines = [
        sales_line(line, invoice.line_amount(line), refs, taxed=taxed, number=index)
        for index, line in enumerate(invoice.lines, 1)
    ]
    if invoice.discount is not None:
        lines.append(discount_line(invoice.discount, invoice.discount_amount))
    body: Json = {
        "CustomerRef": _ref(refs.customer_id),
        "DocNumber": doc_number(invoice),
        "TxnDate": invoice.issue_date.isoformat(),
        "Line": lines,
        "ApplyTaxAfterDiscount": True,
        "PrivateNote": clean_text(refs.marker, PRIVATE_NOTE_MAX),
        # Always sent: without it QuickBooks books the amounts in the company's home currency.
        "CurrencyRef": currency_ref(invoice.currency),
    }
    _put(body, "DueDate", invoice.due_date.isoformat() if invoice.due_date else None)
    if taxed:
        body["TxnTaxDetail"] = {"TotalTax": invoice.tax_amount}
    if invoice.memo:
        _put(body, "CustomerMemo", {"value": clean_text(invoice.memo, INVOICE_MEMO_MAX)})
    return body


def sales_line(line: InvoiceLine, amount: Decimal, refs: InvoiceRefs, *, taxed: bool, number: int) -> Json:
    item_id = refs.item_ids.get(line.item_id)
    if item_id is None:
        raise unlinked_item(line.item_id, provider=PROVIDER, label=LABEL)
    body: Json = {
        "LineNum": number,
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {
            "ItemRef": _ref(item_id),
            "Qty": _plain(line.quantity),
            "UnitPrice": line.unit_price,
            "TaxCodeRef": _ref("TAX" if taxed and line.taxable else "NON"),
        },
    }
    _put(body, "Description", clean_text(line.description, DESCRIPTION_MAX) if line.description else None)
    return body


def discount_line(discount: Discount, amount: Decimal) -> Json:
    detail: Json = {"PercentBased": discount.kind == "percent"}
    if discount.kind == "percent":
        detail["DiscountPercent"] = _plain(discount.value)
    return {"DetailType": "DiscountLineDetail", "Amount": amount, "DiscountLineDetail": detail}


def _plain(value: Decimal) -> Decimal:
    """1.5000 -> 1.5: the same number without noise on the wire (the encoder writes no exponents)."""
    return value.normalize()


# ---------------------------------------------------------------------- payments


def payment_note(payment: Payment, refs: PaymentRefs) -> str:
    """The marker first (what ``find_payment`` matches); the memo, if any, after it."""
    return marked_note(refs.marker, payment.memo)


def marked_note(marker: str, memo: str | None) -> str:
    """booksync's marker, then the memo on the same line (whitespace runs folded to one space)."""
    note = marker if not memo else f"{marker}{NOTE_SEPARATOR}{' '.join(memo.split())}"
    return clean_text(note, PRIVATE_NOTE_MAX)


def payment_body(payment: Payment, refs: PaymentRefs, method_id: str | None) -> Json:
    body: Json = {
        "CustomerRef": _ref(refs.customer_id),
        "TotalAmt": payment.amount,
        "TxnDate": payment.date.isoformat(),
        "PrivateNote": payment_note(payment, refs),
        "CurrencyRef": currency_ref(refs.currency),
        # One line per invoice: QuickBooks applies each line to its invoice's balance.
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            for invoice_id, amount in refs.lines(payment.amount)
        ],
    }
    _put(body, "PaymentRefNum", _line(payment.reference, PAYMENT_REF_MAX))
    if method_id is not None:
        body["PaymentMethodRef"] = _ref(method_id)
    # Absent: QuickBooks puts the payment in Undeposited Funds, where a later deposit picks it up.
    if refs.deposit_account_id is not None:
        body["DepositToAccountRef"] = _ref(refs.deposit_account_id)
    return body


# ---------------------------------------------------------------------- refunds


def refund_body(
    refund: Refund, refs: RefundRefs, *, item_id: str, from_account_id: str, method_id: str | None
) -> Json:
    """A RefundReceipt: one line on the refunds item, paid out of ``from_account_id``."""
    line: Json = {
        "Amount": refund.amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": _ref(item_id),
            "Qty": 1,
            "UnitPrice": refund.amount,
            "TaxCodeRef": _ref("NON"),
        },
    }
    # The reason shows on the line (one line of text); the private note is booksync's marker.
    _put(line, "Description", _line(refund.reason, DESCRIPTION_MAX))
    body: Json = {
        "CustomerRef": _ref(refs.customer_id),
        "TxnDate": refund.date.isoformat(),
        "PrivateNote": clean_text(refs.marker, PRIVATE_NOTE_MAX),
        "DepositToAccountRef": _ref(from_account_id),
        "Line": [line],
        "CurrencyRef": currency_ref(refs.currency),
    }
    _put(body, "PaymentRefNum", _line(refund.reference, PAYMENT_REF_MAX))
    if method_id is not None:
        body["PaymentMethodRef"] = _ref(method_id)
    return body


# ---------------------------------------------------------------------- deposits


def deposit_body(deposit: Deposit) -> Json:
    """A Deposit into the bank: linked lines move payments out of Undeposited Funds (no detail,
    the payment's whole amount); direct lines name their account (negative for fees, refunds)."""
    lines: list[Json] = []
    for line in deposit.lines:
        body: Json = {"Amount": line.amount}
        _put(body, "Description", clean_text(line.description, DESCRIPTION_MAX) if line.description else None)
        if line.payment_id is not None:
            body["LinkedTxn"] = [{"TxnId": line.payment_id, "TxnType": "Payment"}]
        elif line.refund_id is not None:
            body["LinkedTxn"] = [{"TxnId": line.refund_id, "TxnType": "RefundReceipt"}]
        else:
            body["DetailType"] = "DepositLineDetail"
            body["DepositLineDetail"] = {"AccountRef": _ref(str(line.account_id))}
        lines.append(body)
    return {
        "DepositToAccountRef": _ref(deposit.bank_account_id),
        "TxnDate": deposit.date.isoformat(),
        "PrivateNote": marked_note(deposit.marker, deposit.memo),
        "Line": lines,
    }


# ---------------------------------------------------------------------- answers


def marker_of(note: Any) -> str | None:
    """The marker a note starts with: up to the separator (or a newline, as older notes have it)."""
    if not isinstance(note, str) or not note.strip():
        return None
    return note.strip().splitlines()[0].split(NOTE_SEPARATOR)[0].strip()


def carries_marker(obj: Mapping[str, Any], marker: str) -> bool:
    """The record's PrivateNote starts with booksync's marker line (exact line, not a prefix:
    ``booksync:inv-1`` must not match ``booksync:inv-10``)."""
    return marker_of(obj.get("PrivateNote")) == marker.strip()


def to_remote(obj: Mapping[str, Any], name_key: str) -> RemoteObject:
    sync_token = obj.get("SyncToken")
    name = obj.get(name_key)
    balance = obj.get("Balance", obj.get("UnappliedAmt"))
    return RemoteObject(
        id=str(obj["Id"]),
        version=None if sync_token is None else str(sync_token),
        name=None if name is None else str(name),
        total=_decimal(obj.get("TotalAmt")),
        balance=_decimal(balance),
        active=obj.get("Active", True) is not False,
        marker=marker_of(obj.get("PrivateNote")),
        currency=_text((obj.get("CurrencyRef") or {}).get("value")),
    )


def to_currencies(preferences: Mapping[str, Any]) -> CompanyCurrencies:
    """Preferences.CurrencyPrefs; a company that says nothing is single-currency USD (QBO US)."""
    prefs = preferences.get("CurrencyPrefs") or {}
    home = _text((prefs.get("HomeCurrency") or {}).get("value")) or "USD"
    return CompanyCurrencies(home=home, multicurrency=prefs.get("MultiCurrencyEnabled") is True)


# QuickBooks' AccountType (and, for one, AccountSubType) as booksync's kinds of account.
_KIND_OF_TYPE: Mapping[str, AccountKind] = {
    "Bank": AccountKind.BANK,
    "Accounts Receivable": AccountKind.RECEIVABLE,
    "Other Current Asset": AccountKind.ASSET,
    "Fixed Asset": AccountKind.ASSET,
    "Other Asset": AccountKind.ASSET,
    "Credit Card": AccountKind.CREDIT_CARD,
    "Accounts Payable": AccountKind.PAYABLE,
    "Other Current Liability": AccountKind.LIABILITY,
    "Long Term Liability": AccountKind.LIABILITY,
    "Equity": AccountKind.EQUITY,
    "Income": AccountKind.INCOME,
    "Other Income": AccountKind.INCOME,
    "Expense": AccountKind.EXPENSE,
    "Other Expense": AccountKind.EXPENSE,
    "Cost of Goods Sold": AccountKind.EXPENSE,
}
_KIND_OF_SUB_TYPE: Mapping[str, AccountKind] = {UNDEPOSITED_FUNDS: AccountKind.CLEARING}
# A type this table does not know yet, by its Classification.
_KIND_OF_CLASSIFICATION: Mapping[str, AccountKind] = {
    "Asset": AccountKind.ASSET,
    "Liability": AccountKind.LIABILITY,
    "Equity": AccountKind.EQUITY,
    "Revenue": AccountKind.INCOME,
    "Expense": AccountKind.EXPENSE,
}


def account_kind(account_type: str, sub_type: str | None, classification: str) -> AccountKind:
    """booksync's kind of a QuickBooks account (``AccountKind.OTHER`` where none fits)."""
    return (
        _KIND_OF_SUB_TYPE.get(sub_type or "")
        or _KIND_OF_TYPE.get(account_type)
        or _KIND_OF_CLASSIFICATION.get(classification, AccountKind.OTHER)
    )


def to_account(obj: Mapping[str, Any]) -> Account:
    sub_type = _text(obj.get("AccountSubType"))
    account_type = str(obj.get("AccountType") or "")
    return Account(
        id=str(obj["Id"]),
        name=str(obj.get("Name") or ""),
        kind=account_kind(account_type, sub_type, str(obj.get("Classification") or "")),
        account_type=account_type,
        sub_type=sub_type,
        active=obj.get("Active", True) is not False,
    )


# ---------------------------------------------------------------------- reading back (the wizard)

_ITEM_TYPES_READ = {"Service": "service", "NonInventory": "non_inventory", "Inventory": "inventory"}


def _address_read(obj: Any) -> Address | None:
    if not isinstance(obj, Mapping):
        return None
    fields = {
        "line1": _text(obj.get("Line1")),
        "line2": _text(obj.get("Line2")),
        "city": _text(obj.get("City")),
        "region": _text(obj.get("CountrySubDivisionCode")),
        "postal_code": _text(obj.get("PostalCode")),
        "country": _text(obj.get("Country")),
    }
    return Address(**fields) if any(fields.values()) else None


def to_remote_customer(obj: Mapping[str, Any]) -> RemoteCustomer:
    email = obj.get("PrimaryEmailAddr")
    phone = obj.get("PrimaryPhone")
    return RemoteCustomer(
        id=str(obj["Id"]),
        display_name=str(obj.get("DisplayName") or obj.get("FullyQualifiedName") or ""),
        version=None if obj.get("SyncToken") is None else str(obj["SyncToken"]),
        given_name=_text(obj.get("GivenName")),
        family_name=_text(obj.get("FamilyName")),
        company_name=_text(obj.get("CompanyName")),
        email=_text(email.get("Address")) if isinstance(email, Mapping) else None,
        phone=_text(phone.get("FreeFormNumber")) if isinstance(phone, Mapping) else None,
        billing_address=_address_read(obj.get("BillAddr")),
        active=obj.get("Active", True) is not False,
    )


def distinct(document: Named) -> Named:
    """``document`` under a name unique to it within QuickBooks' limits ("a-b (k3f9qz)")."""
    if isinstance(document, Customer):
        name = distinct_name(customer_name(document), document.id, DISPLAY_NAME_MAX)
        return document.model_copy(update={"display_name": name})
    name = distinct_name(item_name(document), document.id, ITEM_NAME_MAX)
    return document.model_copy(update={"name": name})


def same_email(row: Mapping[str, Any], email: str) -> bool:
    found = (row.get("PrimaryEmailAddr") or {}).get("Address")
    return isinstance(found, str) and found.strip().casefold() == email.strip().casefold()


def surely_ours(customer: Customer, rows: Sequence[Mapping[str, Any]]) -> RemoteObject | None:
    """The first of ``rows`` (candidates by name or e-mail) that surely is ``customer``."""
    # Imported on first use: rapidfuzz only loads when a customer is looked up.
    from booksync.onboarding.duplicates import surely_same

    seen: set[str] = set()
    for row in rows:
        if str(row["Id"]) in seen:
            continue
        seen.add(str(row["Id"]))
        if surely_same(customer, to_remote_customer(row)):
            return to_remote(row, "DisplayName")
    return None


def to_remote_item(obj: Mapping[str, Any]) -> RemoteItem | None:
    """The item, or None for what is not sold on an invoice line (categories, bundles)."""
    kind = _ITEM_TYPES_READ.get(str(obj.get("Type")))
    if kind is None:
        return None
    account = obj.get("IncomeAccountRef")
    return RemoteItem(
        id=str(obj["Id"]),
        name=str(obj.get("Name") or ""),
        version=None if obj.get("SyncToken") is None else str(obj["SyncToken"]),
        sku=_text(obj.get("Sku")),
        type=kind,
        unit_price=_decimal(obj.get("UnitPrice")),
        description=_text(obj.get("Description")),
        income_account_id=_text(account.get("value")) if isinstance(account, Mapping) else None,
        income_account_name=_text(account.get("name")) if isinstance(account, Mapping) else None,
        taxable=obj.get("Taxable", True) is not False,
        active=obj.get("Active", True) is not False,
    )
