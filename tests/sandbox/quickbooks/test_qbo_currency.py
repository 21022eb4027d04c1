"""The sandbox's company currencies: home currency, MultiCurrencyEnabled, and what Intuit refuses."""

from __future__ import annotations

import pytest

from local.sandboxes.quickbooks.control import ControlError, SandboxControl
from local.sandboxes.quickbooks.testing import QBOClient
from tests.sandbox.quickbooks.qbo_helpers import (
    account_id,
    fault_of,
    new_customer,
    new_invoice,
    new_item,
    sales_line,
)

EUR = {"value": "EUR"}


def preferences(qbo: QBOClient) -> dict[str, object]:
    answer = qbo.http.get("/preferences", params={"minorversion": "75"})
    assert answer.status_code == 200, answer.text
    prefs: dict[str, object] = answer.json()["Preferences"]["CurrencyPrefs"]
    return prefs


def test_a_new_company_is_in_usd_without_multicurrency(qbo: QBOClient) -> None:
    assert preferences(qbo) == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    customer = new_customer(qbo)
    assert customer["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    invoice = new_invoice(qbo, customer["Id"], new_item(qbo)["Id"])
    assert invoice["CurrencyRef"]["value"] == "USD"


def test_without_multicurrency_another_currency_is_refused(qbo: QBOClient) -> None:
    answer = qbo.write("Customer", {"DisplayName": "Euro Co", "CurrencyRef": EUR})
    assert answer.status_code == 400 and "Multicurrency is off" in str(fault_of(answer.json())["Detail"])
    customer, item = new_customer(qbo), new_item(qbo)
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(item["Id"], "1", "10.00")]}
    answer = qbo.write("Invoice", {**body, "CurrencyRef": EUR})
    assert answer.status_code == 400
    assert fault_of(answer.json())["element"] == "CurrencyRef"
    assert qbo.write("Invoice", {**body, "CurrencyRef": {"value": "USD"}}).status_code == 200


def test_with_multicurrency_a_customer_has_one_currency_and_its_transactions_too(
    qbo: QBOClient, control: SandboxControl
) -> None:
    realm = qbo.connection.realm
    control.set_currency(realm, multicurrency=True)
    assert preferences(qbo)["MultiCurrencyEnabled"] is True
    euro = new_customer(qbo, "Euro Co", CurrencyRef=EUR)
    dollar = new_customer(qbo, "Dollar Co")
    assert (euro["CurrencyRef"]["value"], dollar["CurrencyRef"]["value"]) == ("EUR", "USD")
    item = new_item(qbo)
    invoice = new_invoice(qbo, euro["Id"], item["Id"])
    assert invoice["CurrencyRef"]["value"] == "EUR", "a transaction takes its customer's currency"
    # A USD invoice for the EUR customer: refused (another currency is another customer).
    line = [sales_line(item["Id"], "1", "10.00")]
    answer = qbo.write(
        "Invoice", {"CustomerRef": {"value": euro["Id"]}, "Line": line, "CurrencyRef": {"value": "USD"}}
    )
    assert answer.status_code == 400 and "not its customer's currency EUR" in str(fault_of(answer.json()))
    # A payment in USD on the EUR invoice: refused; in EUR: applied.
    pay_line = [{"Amount": "100.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]
    usd = {"CustomerRef": {"value": euro["Id"]}, "TotalAmt": "100.00", "Line": pay_line}
    answer = qbo.write("Payment", {**usd, "CurrencyRef": {"value": "USD"}})
    assert answer.status_code == 400
    paid = qbo.created("Payment", {**usd, "CurrencyRef": EUR})
    assert paid["CurrencyRef"]["value"] == "EUR"
    # A customer's currency is fixed once set.
    answer = qbo.write(
        "Customer",
        {"Id": euro["Id"], "SyncToken": euro["SyncToken"], "sparse": True, "CurrencyRef": {"value": "USD"}},
    )
    assert answer.status_code == 400 and "can't be changed" in str(fault_of(answer.json())["Detail"])


def test_a_payment_is_never_applied_to_an_invoice_in_another_currency(
    qbo: QBOClient, control: SandboxControl
) -> None:
    control.set_currency(qbo.connection.realm, multicurrency=True)
    dollar = new_customer(qbo, "Dollar Co")
    invoice = new_invoice(qbo, dollar["Id"], new_item(qbo)["Id"])
    line = [{"Amount": "10.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]
    body = {"CustomerRef": {"value": dollar["Id"]}, "TotalAmt": "10.00", "Line": line, "CurrencyRef": EUR}
    answer = qbo.write("Payment", body)
    assert answer.status_code == 400 and fault_of(answer.json())["element"] == "CurrencyRef"


def test_the_currency_settings_change_as_in_quickbooks(qbo: QBOClient, control: SandboxControl) -> None:
    realm = qbo.connection.realm
    assert control.set_currency(realm, home_currency="CAD")["home_currency"] == "CAD"
    assert preferences(qbo)["HomeCurrency"] == {"value": "CAD"}
    new_invoice(qbo, new_customer(qbo)["Id"], new_item(qbo)["Id"])
    with pytest.raises(ControlError, match="cannot change once the company has transactions"):
        control.set_currency(realm, home_currency="USD")
    control.set_currency(realm, multicurrency=True)
    with pytest.raises(ControlError, match="can only be turned on"):
        control.set_currency(realm, multicurrency=False)


def test_a_deposit_locks_the_home_currency(qbo: QBOClient, control: SandboxControl) -> None:
    income = {"AccountRef": {"value": account_id(qbo, "Services")}}
    direct = {"Amount": "50.00", "DetailType": "DepositLineDetail", "DepositLineDetail": income}
    qbo.created("Deposit", {"DepositToAccountRef": {"value": account_id(qbo, "Checking")}, "Line": [direct]})
    with pytest.raises(ControlError, match="cannot change once the company has transactions"):
        control.set_currency(qbo.connection.realm, home_currency="CAD")
    assert preferences(qbo)["HomeCurrency"] == {"value": "USD"}


def test_multicurrency_on_locks_the_home_currency(qbo: QBOClient, control: SandboxControl) -> None:
    realm = qbo.connection.realm
    control.set_currency(realm, multicurrency=True)
    with pytest.raises(ControlError, match="once multicurrency is on"):
        control.set_currency(realm, home_currency="CAD")
    assert preferences(qbo)["HomeCurrency"] == {"value": "USD"}


@pytest.mark.parametrize("code", ["XYZ", "usd", "US"])
def test_a_code_that_is_not_an_iso_4217_currency_is_refused(
    code: str, qbo: QBOClient, control: SandboxControl
) -> None:
    """Three capitals are not enough: booksync.currency.is_currency is the one check (XYZ is none)."""
    realm = qbo.connection.realm
    with pytest.raises(ControlError, match="ISO 4217"):
        control.set_currency(realm, home_currency=code)
    control.set_currency(realm, multicurrency=True)
    answer = qbo.write("Customer", {"DisplayName": "Nowhere Co", "CurrencyRef": {"value": code}})
    assert answer.status_code == 400 and fault_of(answer.json())["element"] == "CurrencyRef"
    assert preferences(qbo)["HomeCurrency"] == {"value": "USD"}
