"""Field shapes of the entities the sandbox supports, with XSD names and nesting.

A shape lists the JSON keys Intuit accepts at one level. Normalising a request body against it
rejects unknown properties as Intuit does (2010), turns numbers into Decimal and drops
output-only fields, which Intuit ignores on input. The contract tests check every shape here
against the XSDs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from local.sandboxes.quickbooks import errors


class T(Enum):
    STR = "string"
    DEC = "decimal"
    INT = "int"
    BOOL = "boolean"
    DATE = "date"
    DATETIME = "dateTime"


@dataclass(frozen=True)
class F:
    """One field: a scalar type or a nested shape; ``many`` is a JSON array (maxOccurs>1)."""

    t: T | None = None
    shape: Mapping[str, F] | None = None
    many: bool = False
    ro: bool = False  # set by the server; ignored when a client sends it
    choices: frozenset[str] | None = None  # an XSD enumeration


Shape = Mapping[str, F]

S, D, B, DT = F(T.STR), F(T.DEC), F(T.BOOL), F(T.DATE)

REF: Shape = {"value": S, "name": S, "type": S}
R = F(shape=REF)
EMAIL: Shape = {"Address": S}
PHONE: Shape = {"FreeFormNumber": S}
WEB: Shape = {"URI": S}
ADDRESS: Shape = {
    "Id": F(T.STR, ro=True),
    "Line1": S,
    "Line2": S,
    "Line3": S,
    "Line4": S,
    "Line5": S,
    "City": S,
    "Country": S,
    "CountrySubDivisionCode": S,
    "PostalCode": S,
    "Lat": S,
    "Long": S,
}
META: Shape = {"CreateTime": F(T.DATETIME), "LastUpdatedTime": F(T.DATETIME)}
MEMO: Shape = {"value": S}
LINKED_TXN: Shape = {"TxnId": S, "TxnType": S, "TxnLineId": S}
TAX_DETAIL: Shape = {"TotalTax": D}

# Keys every entity carries (IntuitEntity): Id/SyncToken are inputs for updates, the rest output.
ENTITY_BASE: Shape = {
    "Id": S,
    "SyncToken": S,
    "MetaData": F(shape=META, ro=True),
    "domain": F(T.STR, ro=True),
    "sparse": B,
    "status": F(T.STR, ro=True),
}

SALES_ITEM_DETAIL: Shape = {
    "ItemRef": R,
    "UnitPrice": D,
    "Qty": D,
    "ItemAccountRef": F(shape=REF, ro=True),
    "TaxCodeRef": R,
    "ServiceDate": DT,
    "DiscountRate": D,
    "DiscountAmt": D,
}
DISCOUNT_DETAIL: Shape = {"PercentBased": B, "DiscountPercent": D, "DiscountAccountRef": R}
DESCRIPTION_DETAIL: Shape = {"ServiceDate": DT, "TaxCodeRef": R}
DEPOSIT_DETAIL: Shape = {
    "Entity": R,
    "AccountRef": R,
    "PaymentMethodRef": R,
    "CheckNum": S,
    "TxnType": S,
}

SALES_LINE: Shape = {
    "Id": S,
    "LineNum": F(T.INT),
    "Description": S,
    "Amount": D,
    "DetailType": S,
    "SalesItemLineDetail": F(shape=SALES_ITEM_DETAIL),
    "DiscountLineDetail": F(shape=DISCOUNT_DETAIL),
    "DescriptionLineDetail": F(shape=DESCRIPTION_DETAIL),
    "SubTotalLineDetail": F(shape={"ItemRef": R, "ServiceDate": DT}),
}
PAYMENT_LINE: Shape = {"Amount": D, "LinkedTxn": F(shape=LINKED_TXN, many=True)}
DEPOSIT_LINE: Shape = {
    "Id": S,
    "LineNum": F(T.INT),
    "Description": S,
    "Amount": D,
    "DetailType": S,
    "LinkedTxn": F(shape=LINKED_TXN, many=True),
    "DepositLineDetail": F(shape=DEPOSIT_DETAIL),
}
CASH_BACK: Shape = {"AccountRef": R, "Amount": D, "Memo": S}

CUSTOMER: Shape = {
    **ENTITY_BASE,
    "Title": S,
    "GivenName": S,
    "MiddleName": S,
    "FamilyName": S,
    "Suffix": S,
    "FullyQualifiedName": F(T.STR, ro=True),
    "CompanyName": S,
    "DisplayName": S,
    "PrintOnCheckName": S,
    "Active": B,
    "PrimaryPhone": F(shape=PHONE),
    "AlternatePhone": F(shape=PHONE),
    "Mobile": F(shape=PHONE),
    "Fax": F(shape=PHONE),
    "PrimaryEmailAddr": F(shape=EMAIL),
    "WebAddr": F(shape=WEB),
    "Taxable": B,
    "BillAddr": F(shape=ADDRESS),
    "ShipAddr": F(shape=ADDRESS),
    "Notes": S,
    "Job": F(T.BOOL, ro=True),
    "BillWithParent": B,
    "ParentRef": R,
    "Level": F(T.INT, ro=True),
    "SalesTermRef": R,
    "PaymentMethodRef": R,
    "Balance": F(T.DEC, ro=True),
    "BalanceWithJobs": F(T.DEC, ro=True),
    "CurrencyRef": R,  # the home currency when absent; fixed once created
    "PreferredDeliveryMethod": F(T.STR, choices=frozenset({"Print", "Email", "None"})),
    "ResaleNum": S,
    "AcctNum": S,
    "IsProject": F(T.BOOL, ro=True),
}

ITEM: Shape = {
    **ENTITY_BASE,
    "Name": S,
    "Sku": S,
    "Description": S,
    "Active": B,
    "SubItem": B,
    "ParentRef": R,
    "Level": F(T.INT, ro=True),
    "FullyQualifiedName": F(T.STR, ro=True),
    "Taxable": B,
    "UnitPrice": D,
    "Type": S,
    "IncomeAccountRef": R,
    "PurchaseDesc": S,
    "PurchaseCost": D,
    "ExpenseAccountRef": R,
    "AssetAccountRef": R,
    "TrackQtyOnHand": B,
    "QtyOnHand": D,
    "InvStartDate": DT,
}

_TXN_BASE: Shape = {
    **ENTITY_BASE,
    "DocNumber": S,
    "TxnDate": DT,
    "PrivateNote": S,
    "CurrencyRef": R,  # the customer's currency when absent; must be it
    "LinkedTxn": F(shape=LINKED_TXN, many=True, ro=True),
    "TotalAmt": D,
}

INVOICE: Shape = {
    **_TXN_BASE,
    "TotalAmt": F(T.DEC, ro=True),
    "Line": F(shape=SALES_LINE, many=True),
    "TxnTaxDetail": F(shape=TAX_DETAIL),
    "CustomerRef": R,
    "CustomerMemo": F(shape=MEMO),
    "BillAddr": F(shape=ADDRESS),
    "ShipAddr": F(shape=ADDRESS),
    "SalesTermRef": R,
    "DueDate": DT,
    "ApplyTaxAfterDiscount": B,
    "PrintStatus": F(T.STR, choices=frozenset({"NotSet", "NeedToPrint", "PrintComplete"})),
    "EmailStatus": F(T.STR, choices=frozenset({"NotSet", "NeedToSend", "EmailSent"})),
    "BillEmail": F(shape=EMAIL),
    "Balance": F(T.DEC, ro=True),
    "Deposit": F(T.DEC, ro=True),
    "AllowOnlineCreditCardPayment": B,
    "AllowOnlineACHPayment": B,
}

PAYMENT: Shape = {
    **_TXN_BASE,
    "Line": F(shape=PAYMENT_LINE, many=True),
    "CustomerRef": R,
    "DepositToAccountRef": R,
    "PaymentMethodRef": R,
    "PaymentRefNum": S,
    "UnappliedAmt": F(T.DEC, ro=True),
    "ProcessPayment": B,
}

DEPOSIT: Shape = {
    **_TXN_BASE,
    "CurrencyRef": F(shape=REF, ro=True),  # the bank account's (the home currency here)
    "TotalAmt": F(T.DEC, ro=True),
    "Line": F(shape=DEPOSIT_LINE, many=True),
    "DepositToAccountRef": R,
    "CashBack": F(shape=CASH_BACK),
}

# RefundReceipt (Finance.xsd, a SalesTransaction): money paid back to a customer from an account.
REFUND_LINE: Shape = {
    "Id": S,
    "LineNum": F(T.INT),
    "Description": S,
    "Amount": D,
    "DetailType": S,
    "SalesItemLineDetail": F(shape=SALES_ITEM_DETAIL),
}
REFUND_RECEIPT: Shape = {
    **_TXN_BASE,
    "TotalAmt": F(T.DEC, ro=True),
    "Line": F(shape=REFUND_LINE, many=True),
    "CustomerRef": R,
    "CustomerMemo": F(shape=MEMO),
    "BillEmail": F(shape=EMAIL),
    "DepositToAccountRef": R,
    "PaymentMethodRef": R,
    "PaymentRefNum": S,
    "Balance": F(T.DEC, ro=True),
}

ACCOUNT: Shape = {
    **ENTITY_BASE,
    "Name": S,
    "SubAccount": F(T.BOOL, ro=True),
    "Description": S,
    "FullyQualifiedName": F(T.STR, ro=True),
    "Active": B,
    "Classification": F(T.STR, ro=True),
    "AccountType": S,
    "AccountSubType": S,
    "AcctNum": S,
    "CurrentBalance": F(T.DEC, ro=True),
    "CurrentBalanceWithSubAccounts": F(T.DEC, ro=True),
    "CurrencyRef": F(shape=REF, ro=True),
}

PAYMENT_METHOD: Shape = {**ENTITY_BASE, "Name": S, "Active": B, "Type": S}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize(shape: Shape, data: object, path: str = "") -> dict[str, Any]:
    """The body as the sandbox stores it: known keys only, typed values, output-only keys gone."""
    if not isinstance(data, dict):
        raise errors.unsupported_property(path or "body")
    result: dict[str, Any] = {}
    for key, value in data.items():
        spec = shape.get(key)
        where = f"{path}.{key}" if path else key
        if spec is None:
            raise errors.unsupported_property(where)
        if spec.ro or value is None:
            continue
        result[key] = _convert(spec, value, where)
    return result


def _convert(spec: F, value: object, where: str) -> object:
    if spec.many:
        if not isinstance(value, list):
            raise errors.unsupported_property(where)
        return [_convert_one(spec, item, where) for item in value]
    return _convert_one(spec, value, where)


def _convert_one(spec: F, value: object, where: str) -> object:
    if spec.shape is not None:
        return normalize(spec.shape, value, where)
    assert spec.t is not None
    converted = convert_scalar(spec.t, value, where)
    if spec.choices is not None and converted not in spec.choices:
        raise errors.unsupported_property(where)
    return converted


def convert_scalar(kind: T, value: object, where: str) -> object:
    converters = {
        T.STR: _to_str,
        T.DEC: _to_decimal,
        T.INT: _to_int,
        T.BOOL: _to_bool,
        T.DATE: _to_date,
        T.DATETIME: _to_str,
    }
    converted = converters[kind](value)
    if converted is None:
        raise errors.unsupported_property(where)
    return converted


def _to_str(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | Decimal):
        return str(value)
    return None


def _to_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, int | str | Decimal) else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() else None


def _to_int(value: object) -> int | None:
    number = _to_decimal(value)
    return int(number) if number is not None and number == number.to_integral_value() else None


def _to_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def _to_date(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value[:10]
    if not _DATE.match(text):
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


def has_control_chars(text: str) -> bool:
    return bool(_CONTROL.search(text))
