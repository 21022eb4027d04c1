"""A company's currencies: its home currency and whether multicurrency is on (Preferences.CurrencyPrefs).

QuickBooks books a customer in one currency (its CurrencyRef, the home currency when not given; fixed
once created) and a transaction in its customer's currency. Without multicurrency only the home
currency exists. The exact fault wording is unconfirmed (6000 Business Validation Errors here).
"""

from __future__ import annotations

from typing import Any

from booksync.currency import is_currency

from local.sandboxes.quickbooks import errors
from local.sandboxes.quickbooks.clock import CompanyClock
from local.sandboxes.quickbooks.model import Realm, Record, ref_value

NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
    "JPY": "Japanese Yen",
}


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": NAMES.get(code, code)}


def _given(data: dict[str, Any]) -> str | None:
    ref = data.get("CurrencyRef")
    if ref is None:
        return None
    code = ref_value(ref)
    if not is_currency(code):
        raise errors.invalid_reference("CurrencyRef")
    return code


def _bookable(realm: Realm, code: str) -> None:
    if code != realm.home_currency and not realm.multicurrency:
        raise errors.business(
            f"Multicurrency is off for this company: {code} can't be used; its currency is "
            f"{realm.home_currency}.",
            element="CurrencyRef",
        )


def _kept(existing: Record | None, code: str | None) -> str | None:
    """An object's currency is fixed once it exists."""
    if existing is None:
        return code
    was = ref_value(existing.data.get("CurrencyRef"))
    if code is not None and code != was:
        raise errors.business(f"The currency can't be changed once set (it is {was}).", element="CurrencyRef")
    return was


def customer_currency(realm: Realm, data: dict[str, Any], existing: Record | None) -> dict[str, str]:
    code = _kept(existing, _given(data)) or realm.home_currency
    _bookable(realm, code)
    return currency_ref(code)


def transaction_currency(
    realm: Realm, data: dict[str, Any], existing: Record | None, customer: Record | None
) -> dict[str, str]:
    """A transaction is in its customer's currency (the home currency without a customer)."""
    own = ref_value(customer.data.get("CurrencyRef")) if customer is not None else None
    code = _kept(existing, _given(data)) or own or realm.home_currency
    _bookable(realm, code)
    if own is not None and code != own:
        raise errors.business(
            f"The transaction's currency {code} is not its customer's currency {own}.", element="CurrencyRef"
        )
    return currency_ref(code)


def same_currency(payment_currency: str, invoice: Record) -> None:
    """A payment is applied only to invoices in its own currency."""
    theirs = ref_value(invoice.data.get("CurrencyRef"))
    if theirs != payment_currency:
        raise errors.business(
            f"The payment is in {payment_currency} but invoice {invoice.data.get('DocNumber')} is in "
            f"{theirs}.",
            element="Line.LinkedTxn",
        )


def preferences(realm: Realm) -> dict[str, Any]:
    """The Preferences entity, as much of it as the sandbox models (CurrencyPrefs)."""
    return {
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": realm.multicurrency,
            "HomeCurrency": {"value": realm.home_currency},
        },
        "Id": "1",
        "SyncToken": str(realm.preferences_version),
        "MetaData": {
            "CreateTime": CompanyClock.meta_time(realm.created_at),
            "LastUpdatedTime": CompanyClock.meta_time(realm.preferences_changed_at or realm.created_at),
        },
        "domain": "QBO",
        "sparse": False,
    }
