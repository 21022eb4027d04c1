"""Entities over real HTTP: shapes, computed fields, updates, and Intuit's business rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from qbo_helpers import (
    account_id,
    fault_of,
    new_customer,
    new_invoice,
    new_item,
    new_payment,
    sales_line,
)

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.testing import QBOClient


def error_of(qbo: QBOClient, entity: str, body: object, **params: str) -> dict[str, object]:
    answer = qbo.write(entity, body, **params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["Fault"]["type"] == "ValidationFault"
    return fault_of(answer.json())


# ---------------------------------------------------------------------- a new company


def test_a_new_company_has_the_default_chart_of_accounts_and_payment_methods(qbo: QBOClient) -> None:
    accounts = qbo.query("select * from Account maxresults 1000").json()["QueryResponse"]["Account"]
    by_name = {a["Name"]: a for a in accounts}
    expected = {
        "Undeposited Funds": ("Other Current Asset", "UndepositedFunds"),
        "Checking": ("Bank", "Checking"),
        "Services": ("Income", "ServiceFeeIncome"),
        "Sales of Product Income": ("Income", "SalesOfProductIncome"),
        "Discounts given": ("Income", "DiscountsRefundsGiven"),
        "Merchant Service Fees": ("Expense", "BankCharges"),
        "Bank Charges": ("Expense", "BankCharges"),
        "Cost of Goods Sold": ("Cost of Goods Sold", "SuppliesMaterialsCogs"),
        "Accounts Receivable (A/R)": ("Accounts Receivable", "AccountsReceivable"),
    }
    for name, (account_type, sub_type) in expected.items():
        assert (by_name[name]["AccountType"], by_name[name]["AccountSubType"]) == (account_type, sub_type)
    assert by_name["Checking"]["Classification"] == "Asset"
    assert by_name["Services"]["Classification"] == "Revenue"
    methods = qbo.query("select * from PaymentMethod").json()["QueryResponse"]["PaymentMethod"]
    assert {m["Name"] for m in methods} >= {"Cash", "Check", "Credit Card"}


# ---------------------------------------------------------------------- customers


def test_customer_create_carries_id_synctoken_metadata_and_computed_fields(qbo: QBOClient) -> None:
    answer = qbo.write(
        "Customer", {"DisplayName": "Ann Smith", "PrimaryEmailAddr": {"Address": "ann@example.com"}}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"Customer", "time"}
    customer = body["Customer"]
    assert isinstance(customer["Id"], str)
    assert customer["SyncToken"] == "0"
    assert set(customer["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert customer["domain"] == "QBO"
    assert customer["sparse"] is False
    assert customer["FullyQualifiedName"] == "Ann Smith"
    assert customer["Active"] is True
    assert customer["Balance"] == 0
    assert customer["PrimaryEmailAddr"] == {"Address": "ann@example.com"}


def test_customer_display_name_is_built_from_given_and_family_names(qbo: QBOClient) -> None:
    customer = qbo.created("Customer", {"GivenName": "Bob", "FamilyName": "Jones"})
    assert customer["DisplayName"] == "Bob Jones"


def test_customer_read_answers_the_stored_object(qbo: QBOClient) -> None:
    created = new_customer(qbo, BillAddr={"Line1": "1 Main St", "City": "Springfield"})
    read = qbo.read("Customer", str(created["Id"]))
    assert read.status_code == 200
    assert read.json()["Customer"] == created
    assert "Id" in read.json()["Customer"]["BillAddr"]


def test_sparse_update_changes_only_what_it_names(qbo: QBOClient) -> None:
    created = new_customer(qbo, CompanyName="Acme", Notes="keep me")
    body = {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True, "Notes": "changed"}
    updated = qbo.created("Customer", body)
    assert updated["SyncToken"] == "1"
    assert updated["Notes"] == "changed"
    assert updated["CompanyName"] == "Acme"
    assert updated["DisplayName"] == created["DisplayName"]


def test_full_update_clears_what_it_omits(qbo: QBOClient) -> None:
    created = new_customer(qbo, CompanyName="Acme", Notes="gone after a full update")
    body = {"Id": created["Id"], "SyncToken": created["SyncToken"], "DisplayName": created["DisplayName"]}
    updated = qbo.created("Customer", body)
    assert "CompanyName" not in updated
    assert "Notes" not in updated


def test_stale_synctoken_is_5010(qbo: QBOClient) -> None:
    created = new_customer(qbo)
    qbo.created("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"})
    error = error_of(
        qbo, "Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "second"}
    )
    assert error["code"] == "5010"
    assert error["Message"] == "Stale Object Error"


def test_update_without_synctoken_is_required_param_missing(qbo: QBOClient) -> None:
    created = new_customer(qbo)
    error = error_of(qbo, "Customer", {"Id": created["Id"], "sparse": True, "Notes": "x"})
    assert (error["code"], error["element"]) == ("2020", "SyncToken")


def test_duplicate_display_name_is_6240_with_intuits_wording(qbo: QBOClient) -> None:
    new_customer(qbo, "Acme Plumbing")
    error = error_of(qbo, "Customer", {"DisplayName": "Acme Plumbing"})
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"
    assert error["Detail"] == (
        "The name supplied already exists. : Another customer is already using this name. "
        "Please use a different name."
    )
    assert error_of(qbo, "Customer", {"DisplayName": "acme plumbing"})["code"] == "6240"


def test_an_inactive_customer_still_holds_its_name(qbo: QBOClient, control: SandboxControl) -> None:
    created = new_customer(qbo, "Gone Fishing")
    control.inactivate_entity(qbo.connection.realm, "Customer", str(created["Id"]))
    assert error_of(qbo, "Customer", {"DisplayName": "Gone Fishing"})["code"] == "6240"


def test_a_customer_made_inactive_by_api_still_holds_its_name(qbo: QBOClient) -> None:
    created = new_customer(qbo, "Old Name")
    qbo.created("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert error_of(qbo, "Customer", {"DisplayName": "Old Name"})["code"] == "6240"


@pytest.mark.parametrize("name", ["Parent:Child", "Tab\there", "New\nline", "Bell\x07"])
def test_colons_and_control_characters_in_display_name_are_2040(qbo: QBOClient, name: str) -> None:
    error = error_of(qbo, "Customer", {"DisplayName": name})
    assert (error["code"], error["element"]) == ("2040", "DisplayName")


def test_a_customer_needs_a_name(qbo: QBOClient) -> None:
    error = error_of(qbo, "Customer", {"CompanyName": "Only a company"})
    assert (error["code"], error["element"]) == ("2020", "DisplayName")


def test_unknown_properties_are_2010(qbo: QBOClient) -> None:
    error = error_of(qbo, "Customer", {"DisplayName": "X", "Nickname": "x"})
    assert (error["code"], error["element"]) == ("2010", "Nickname")
    wrapped = error_of(qbo, "Customer", {"Customer": {"DisplayName": "X"}})
    assert wrapped["code"] == "2010"


def test_reading_a_missing_object_is_610(qbo: QBOClient) -> None:
    answer = qbo.read("Customer", "424242")
    assert answer.status_code == 400
    assert fault_of(answer.json())["code"] == "610"
    assert fault_of(answer.json())["Message"] == "Object Not Found"


def test_updating_a_missing_object_is_610(qbo: QBOClient) -> None:
    assert error_of(qbo, "Customer", {"Id": "424242", "SyncToken": "0", "DisplayName": "X"})["code"] == "610"


def test_sub_customer_fully_qualified_name_uses_colons(qbo: QBOClient) -> None:
    parent = new_customer(qbo, "Parent Co")
    child = qbo.created("Customer", {"DisplayName": "Job 1", "ParentRef": {"value": parent["Id"]}})
    assert child["FullyQualifiedName"] == "Parent Co:Job 1"
    assert child["Job"] is True


def test_customers_cannot_be_deleted_through_the_api(qbo: QBOClient) -> None:
    created = new_customer(qbo)
    body = {"Id": created["Id"], "SyncToken": created["SyncToken"]}
    assert error_of(qbo, "Customer", body, operation="delete")["code"] == "500"


# ---------------------------------------------------------------------- items


def test_item_create_resolves_account_names(qbo: QBOClient) -> None:
    item = new_item(qbo, "Pump repair", "95.50")
    assert item["FullyQualifiedName"] == "Pump repair"
    assert item["Active"] is True
    assert item["Type"] == "Service"
    assert item["UnitPrice"] == 95.5
    assert item["IncomeAccountRef"]["name"] == "Services"


def test_duplicate_item_name_is_6240_even_when_inactive(qbo: QBOClient, control: SandboxControl) -> None:
    item = new_item(qbo, "Filter")
    control.inactivate_entity(qbo.connection.realm, "Item", str(item["Id"]))
    body = {"Name": "FILTER", "Type": "Service", "IncomeAccountRef": {"value": account_id(qbo, "Services")}}
    assert error_of(qbo, "Item", body)["code"] == "6240"


@pytest.mark.parametrize(
    ("body", "code", "element"),
    [
        ({"Name": "A:B", "Type": "Service"}, "2040", "Name"),
        ({"Name": "Tab\tName", "Type": "Service"}, "2040", "Name"),
        ({"Name": "x" * 101, "Type": "Service"}, "2050", "Name"),
        ({"Type": "Service"}, "2020", "Name"),
        ({"Name": "No type"}, "2020", "Type"),
        ({"Name": "No income account", "Type": "Service"}, "2020", "IncomeAccountRef"),
        ({"Name": "Missing account", "Type": "Service", "IncomeAccountRef": {"value": "999"}}, "2500", ""),
        ({"Name": "Bad type", "Type": "Gadget", "IncomeAccountRef": {"value": "1"}}, "2010", "Type"),
    ],
)
def test_item_rules(qbo: QBOClient, body: dict[str, object], code: str, element: str) -> None:
    error = error_of(qbo, "Item", body)
    assert error["code"] == code
    if element:
        assert error["element"] == element


def test_item_name_of_exactly_100_characters_is_fine(qbo: QBOClient) -> None:
    body = {"Name": "y" * 100, "Type": "Service", "IncomeAccountRef": {"value": account_id(qbo, "Services")}}
    assert qbo.write("Item", body).status_code == 200


# ---------------------------------------------------------------------- invoices


def test_invoice_totals_lines_and_subtotal_line(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    discount = {
        "DetailType": "DiscountLineDetail",
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
    }
    invoice = new_invoice(
        qbo, customer["Id"], item["Id"], Line=[sales_line(item["Id"], "2", "150.00"), discount]
    )
    assert invoice["TotalAmt"] == 270.0
    assert invoice["Balance"] == 270.0
    kinds = [line["DetailType"] for line in invoice["Line"]]
    assert kinds == ["SalesItemLineDetail", "SubTotalLineDetail", "DiscountLineDetail"]
    first = invoice["Line"][0]
    assert (first["Id"], first["LineNum"]) == ("1", 1)
    assert invoice["Line"][1]["Amount"] == 300.0
    assert invoice["Line"][2]["Amount"] == 30.0
    assert invoice["DocNumber"] == "1001"
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": customer["DisplayName"]}
    assert invoice["Line"][2]["DiscountLineDetail"]["DiscountAccountRef"]["name"] == "Discounts given"


def test_invoice_needs_customer_and_lines(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    no_customer = error_of(qbo, "Invoice", {"Line": [sales_line(item["Id"], "1", "150.00")]})
    assert (no_customer["code"], no_customer["element"]) == ("2020", "CustomerRef")
    no_lines = error_of(qbo, "Invoice", {"CustomerRef": {"value": customer["Id"]}})
    assert (no_lines["code"], no_lines["element"]) == ("2020", "Line")


def test_invoice_line_amount_must_be_qty_times_unit_price(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [sales_line(item["Id"], "2", "150.00", amount="299.99")],
    }
    assert error_of(qbo, "Invoice", body)["code"] == "6070"


def test_invoice_doc_number_longer_than_21_is_a_length_error(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "DocNumber": "D" * 22,
        "Line": [sales_line(item["Id"], "1", "150.00")],
    }
    error = error_of(qbo, "Invoice", body)
    assert (error["code"], error["element"]) == ("2050", "DocNumber")
    body["DocNumber"] = "D" * 21
    assert qbo.write("Invoice", body).status_code == 200


def test_invoice_references_must_exist_and_be_active(qbo: QBOClient, control: SandboxControl) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    missing = {"CustomerRef": {"value": "98765"}, "Line": [sales_line(item["Id"], "1", "150.00")]}
    assert error_of(qbo, "Invoice", missing)["code"] == "2500"
    control.inactivate_entity(qbo.connection.realm, "Item", str(item["Id"]))
    inactive = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(item["Id"], "1", "150.00")]}
    error = error_of(qbo, "Invoice", inactive)
    assert error["code"] == "2500"
    assert "inactive" in str(error["Detail"])


def test_invoice_update_replaces_lines_even_when_sparse(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"], PrivateNote="marker-1")
    body = {
        "Id": invoice["Id"],
        "SyncToken": invoice["SyncToken"],
        "sparse": True,
        "Line": [sales_line(item["Id"], "3", "150.00")],
    }
    updated = qbo.created("Invoice", body)
    assert updated["TotalAmt"] == 450.0
    assert len([line for line in updated["Line"] if line["DetailType"] == "SalesItemLineDetail"]) == 1
    assert updated["PrivateNote"] == "marker-1"
    assert updated["DocNumber"] == invoice["DocNumber"]


def test_void_invoice_zeroes_amounts_and_keeps_the_object(qbo: QBOClient, control: SandboxControl) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    answer = qbo.write("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void")
    assert answer.status_code == 200
    voided = answer.json()["Invoice"]
    assert voided["TotalAmt"] == 0
    assert voided["Balance"] == 0
    assert all(line["Amount"] == 0 for line in voided["Line"])
    assert voided["SyncToken"] == "1"
    assert qbo.read("Invoice", str(invoice["Id"])).status_code == 200
    assert control.ledger(qbo.connection.realm)["voided"]["Invoice"] == [invoice["Id"]]


def test_delete_invoice_removes_it(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    answer = qbo.write(
        "Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="delete"
    )
    assert answer.json()["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]}
    assert fault_of(qbo.read("Invoice", str(invoice["Id"])).json())["code"] == "610"


# ---------------------------------------------------------------------- payments


def test_payment_applied_to_an_invoice_reduces_its_balance_and_moves_its_synctoken(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    payment = new_payment(qbo, customer["Id"], invoice["Id"], "100.00")
    assert payment["UnappliedAmt"] == 0
    assert payment["DepositToAccountRef"]["name"] == "Undeposited Funds"
    after = qbo.read("Invoice", str(invoice["Id"])).json()["Invoice"]
    assert after["Balance"] == 200.0
    assert after["SyncToken"] == "1"
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    customer_now = qbo.read("Customer", str(customer["Id"])).json()["Customer"]
    assert customer_now["Balance"] == 200.0
    new_payment(qbo, customer["Id"], invoice["Id"], "200.00")
    assert qbo.read("Invoice", str(invoice["Id"])).json()["Invoice"]["Balance"] == 0


def test_payment_with_unapplied_amount(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    line = {"Amount": "50.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": "65.00", "Line": [line]}
    payment = qbo.created("Payment", body)
    assert payment["UnappliedAmt"] == 15.0


@pytest.mark.parametrize(
    ("total", "applied", "code"),
    [("100.00", "150.00", "6000"), ("400.00", "301.00", "6000")],
)
def test_payment_cannot_apply_more_than_it_has_or_than_is_owed(
    qbo: QBOClient, total: str, applied: str, code: str
) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    line = {"Amount": applied, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": total, "Line": [line]}
    assert error_of(qbo, "Payment", body)["code"] == code


def test_payment_needs_customer_and_total(qbo: QBOClient) -> None:
    customer = new_customer(qbo)
    assert error_of(qbo, "Payment", {"TotalAmt": "10.00"})["element"] == "CustomerRef"
    assert error_of(qbo, "Payment", {"CustomerRef": {"value": customer["Id"]}})["element"] == "TotalAmt"


def test_void_payment_frees_the_invoice(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    payment = new_payment(qbo, customer["Id"], invoice["Id"], "300.00")
    assert qbo.read("Invoice", str(invoice["Id"])).json()["Invoice"]["Balance"] == 0
    body = {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}
    voided = qbo.write("Payment", body, operation="update", include="void").json()["Payment"]
    assert voided["TotalAmt"] == 0
    assert qbo.read("Invoice", str(invoice["Id"])).json()["Invoice"]["Balance"] == 300.0


# ---------------------------------------------------------------------- deposits


def deposit_body(
    qbo: QBOClient, payment_id: object, amount: str, fee: str | None = "-3.85"
) -> dict[str, object]:
    lines: list[dict[str, object]] = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": payment_id, "TxnType": "Payment", "TxnLineId": "0"}]}
    ]
    if fee is not None:
        detail = {"AccountRef": {"value": account_id(qbo, "Merchant Service Fees")}}
        lines.append({"Amount": fee, "DetailType": "DepositLineDetail", "DepositLineDetail": detail})
    return {"DepositToAccountRef": {"value": account_id(qbo, "Checking")}, "Line": lines}


def paid_invoice(qbo: QBOClient, amount: str = "300.00") -> dict[str, object]:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    return new_payment(qbo, customer["Id"], invoice["Id"], amount)


def test_deposit_of_a_payment_with_a_fee_line(qbo: QBOClient) -> None:
    payment = paid_invoice(qbo)
    deposit = qbo.created("Deposit", deposit_body(qbo, payment["Id"], "300.00"))
    assert deposit["TotalAmt"] == 296.15
    assert deposit["Line"][0]["LinkedTxn"][0]["TxnType"] == "Payment"
    assert deposit["Line"][1]["DepositLineDetail"]["AccountRef"]["name"] == "Merchant Service Fees"
    checking = qbo.read("Account", account_id(qbo, "Checking")).json()["Account"]
    undeposited = qbo.read("Account", account_id(qbo, "Undeposited Funds")).json()["Account"]
    assert Decimal(str(checking["CurrentBalance"])) == Decimal("296.15")
    assert undeposited["CurrentBalance"] == 0


def test_a_deposited_payment_cannot_be_deposited_again_or_deleted(qbo: QBOClient) -> None:
    payment = paid_invoice(qbo)
    qbo.created("Deposit", deposit_body(qbo, payment["Id"], "300.00"))
    assert error_of(qbo, "Deposit", deposit_body(qbo, payment["Id"], "300.00", fee=None))["code"] == "6000"
    delete = {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}
    error = error_of(qbo, "Payment", delete, operation="delete")
    assert error["code"] == "6540"
    assert error["Message"] == "Deposited Transaction cannot be changed"
    assert error_of(qbo, "Payment", delete, operation="void")["code"] == "6540"


def test_deleting_the_deposit_frees_the_payment(qbo: QBOClient) -> None:
    payment = paid_invoice(qbo)
    deposit = qbo.created("Deposit", deposit_body(qbo, payment["Id"], "300.00"))
    qbo.write("Deposit", {"Id": deposit["Id"], "SyncToken": deposit["SyncToken"]}, operation="delete")
    assert qbo.created("Deposit", deposit_body(qbo, payment["Id"], "300.00", fee=None))["TotalAmt"] == 300.0


def test_only_payments_in_undeposited_funds_can_be_deposited(qbo: QBOClient) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    line = {"Amount": "300.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": "300.00",
        "Line": [line],
        "DepositToAccountRef": {"value": account_id(qbo, "Checking")},
    }
    direct = qbo.created("Payment", body)
    assert error_of(qbo, "Deposit", deposit_body(qbo, direct["Id"], "300.00"))["code"] == "6000"


def test_deposit_rules(qbo: QBOClient) -> None:
    payment = paid_invoice(qbo)
    no_account = deposit_body(qbo, payment["Id"], "300.00")
    del no_account["DepositToAccountRef"]
    assert error_of(qbo, "Deposit", no_account)["element"] == "DepositToAccountRef"
    to_income = deposit_body(qbo, payment["Id"], "300.00")
    to_income["DepositToAccountRef"] = {"value": account_id(qbo, "Services")}
    assert error_of(qbo, "Deposit", to_income)["code"] == "6000"
    wrong_amount = deposit_body(qbo, payment["Id"], "299.00")
    assert error_of(qbo, "Deposit", wrong_amount)["code"] == "6000"
    no_detail = deposit_body(qbo, payment["Id"], "300.00")
    no_detail["Line"][1]["DepositLineDetail"] = {}  # type: ignore[index]
    error = error_of(qbo, "Deposit", no_detail)
    assert (error["code"], error["element"]) == ("2020", "Line.DepositLineDetail.AccountRef")
    with_detail = deposit_body(qbo, payment["Id"], "300.00", fee=None)
    with_detail["Line"][0]["DepositLineDetail"] = {"AccountRef": {"value": "1"}}  # type: ignore[index]
    assert error_of(qbo, "Deposit", with_detail)["code"] == "6000"


def test_a_deposit_of_only_direct_lines_may_have_negative_lines(qbo: QBOClient) -> None:
    income = account_id(qbo, "Services")
    fees = account_id(qbo, "Bank Charges")
    body = {
        "DepositToAccountRef": {"value": account_id(qbo, "Checking")},
        "Line": [
            {
                "Amount": "50.00",
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": {"value": income}},
            },
            {
                "Amount": "-2.00",
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": {"value": fees}},
            },
        ],
    }
    assert qbo.created("Deposit", body)["TotalAmt"] == 48.0


# ---------------------------------------------------------------------- lists


def test_account_and_payment_method_create_with_unique_names(qbo: QBOClient) -> None:
    account = qbo.created("Account", {"Name": "Square Clearing", "AccountType": "Bank"})
    assert (account["Classification"], account["AccountSubType"]) == ("Asset", "Checking")
    assert account["CurrentBalance"] == 0
    assert error_of(qbo, "Account", {"Name": "square clearing", "AccountType": "Bank"})["code"] == "6240"
    method = qbo.created("PaymentMethod", {"Name": "Square", "Type": "CREDIT_CARD"})
    assert method["Active"] is True
    assert error_of(qbo, "PaymentMethod", {"Name": "Cash"})["code"] == "6240"
