"""The rest of what Wave's books hold and refuse, as the sandbox plays it: patches, deletes and
archives of customers and products, invoice patches, payment patches, money transactions with
their externalId, an invoice its customer viewed, and the user acting in Wave on any business."""

from __future__ import annotations

from typing import Any

from wave_helpers import (
    CUSTOMER_CREATE,
    INVOICE,
    INVOICE_APPROVE,
    INVOICE_CREATE,
    INVOICE_MARK_SENT,
    PAYMENT_CREATE,
    PRODUCT_CREATE,
    account,
    data,
    invoice_ready,
)

from local.sandboxes.wave.testing import WaveClient, WaveControl

CUSTOMER_PATCH = """mutation($input: CustomerPatchInput!) {
  customerPatch(input: $input) { didSucceed inputErrors { code message path } customer { id name email modifiedAt } }
}"""
CUSTOMER_DELETE = """mutation($input: CustomerDeleteInput!) {
  customerDelete(input: $input) { didSucceed inputErrors { code message path } }
}"""
PRODUCT_PATCH = """mutation($input: ProductPatchInput!) {
  productPatch(input: $input) { didSucceed inputErrors { code message path } product { id unitPrice } }
}"""
PRODUCT_ARCHIVE = """mutation($input: ProductArchiveInput!) {
  productArchive(input: $input) { didSucceed inputErrors { code message path } product { id isArchived } }
}"""
PRODUCTS = """query($businessId: ID!, $isArchived: Boolean) {
  business(id: $businessId) { products(isArchived: $isArchived) { edges { node { id name } } } }
}"""
INVOICE_PATCH = """mutation($input: InvoicePatchInput!) {
  invoicePatch(input: $input) {
    didSucceed inputErrors { code message path } invoice { id status total { value } memo }
  }
}"""
PAYMENT_PATCH = """mutation($input: InvoicePaymentPatchInput!) {
  invoicePaymentPatch(input: $input) {
    didSucceed inputErrors { code message path } invoicePayment { id amount invoice { status } }
  }
}"""
MONEY = """mutation($input: MoneyTransactionCreateInput!) {
  moneyTransactionCreate(input: $input) { didSucceed inputErrors { code message path } transaction { id } }
}"""


def _customer(wave: WaveClient, business_id: str, name: str = "Grace") -> str:
    created = wave.gql(CUSTOMER_CREATE, {"input": {"businessId": business_id, "name": name}})
    return str(data(created, "customerCreate", "customer", "id"))


def test_a_customer_patch_changes_only_what_it_names(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    customer_id = _customer(wave, business_id)
    patched = wave.gql(CUSTOMER_PATCH, {"input": {"id": customer_id, "email": "grace@navy.test"}})
    customer = data(patched, "customerPatch", "customer")
    assert (customer["name"], customer["email"]) == ("Grace", "grace@navy.test")
    unknown = wave.gql(CUSTOMER_PATCH, {"input": {"id": customer_id + "x", "email": "a@b.test"}})
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert control.ledger(business_id)["customers"][0]["email"] == "grace@navy.test"


def test_a_customer_with_invoices_is_not_deleted(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    invoice_ready(wave, business_id)
    (with_invoice,) = control.ledger(business_id)["customers"]
    refused = data(wave.gql(CUSTOMER_DELETE, {"input": {"id": with_invoice["id"]}}), "customerDelete")
    assert refused["didSucceed"] is False and refused["inputErrors"][0]["path"] == ["input", "id"]
    alone = _customer(wave, business_id, "Alone")
    assert data(wave.gql(CUSTOMER_DELETE, {"input": {"id": alone}}), "customerDelete", "didSucceed") is True
    assert [c["name"] for c in control.ledger(business_id)["customers"]] == ["Ada Lovelace"]


def test_an_archived_product_is_listed_apart_and_sold_no_more(wave: WaveClient, business_id: str) -> None:
    income = account(wave, business_id, "INCOME")
    created = wave.gql(
        PRODUCT_CREATE,
        {"input": {"businessId": business_id, "name": "Old", "unitPrice": "5", "incomeAccountId": income}},
    )
    product_id = data(created, "productCreate", "product", "id")
    price = wave.gql(PRODUCT_PATCH, {"input": {"id": product_id, "unitPrice": "6.50"}})
    assert data(price, "productPatch", "product", "unitPrice") == "6.50"
    archived = wave.gql(PRODUCT_ARCHIVE, {"input": {"id": product_id}})
    assert data(archived, "productArchive", "product", "isArchived") is True
    listed = data(
        wave.gql(PRODUCTS, {"businessId": business_id, "isArchived": False}), "business", "products"
    )
    assert listed["edges"] == []
    customer_id = _customer(wave, business_id)
    refused = wave.gql(
        INVOICE_CREATE,
        {
            "input": {
                "businessId": business_id,
                "customerId": customer_id,
                "items": [{"productId": product_id}],
            }
        },
    )
    assert data(refused, "invoiceCreate", "inputErrors")[0]["path"] == ["input", "items", "0", "productId"]


def test_an_invoice_patch_replaces_its_items_and_never_returns_to_draft(
    wave: WaveClient, business_id: str
) -> None:
    invoice_id = invoice_ready(wave, business_id, price="40.00", status="SAVED")
    (product,) = data(wave.gql(PRODUCTS, {"businessId": business_id}), "business", "products", "edges")
    items = [{"productId": product["node"]["id"], "quantity": "2.5", "unitPrice": "10.00"}]
    patched = data(
        wave.gql(INVOICE_PATCH, {"input": {"id": invoice_id, "items": items, "memo": "m"}}), "invoicePatch"
    )
    assert patched["invoice"]["total"] == {"value": "25.00"} and patched["invoice"]["memo"] == "m"
    back = data(wave.gql(INVOICE_PATCH, {"input": {"id": invoice_id, "status": "DRAFT"}}), "invoicePatch")
    assert back["didSucceed"] is False and back["inputErrors"][0]["path"] == ["input", "status"]


def test_a_payment_patch_moves_the_invoice_status(wave: WaveClient, business_id: str) -> None:
    invoice_id = invoice_ready(wave, business_id, price="40.00", status="SAVED")
    payment: dict[str, Any] = {
        "invoiceId": invoice_id,
        "paymentAccountId": account(wave, business_id, "CASH_AND_BANK"),
        "amount": "40.00",
        "paymentDate": "2026-12-01",
        "paymentMethod": "CHEQUE",
    }
    paid = data(wave.gql(PAYMENT_CREATE, {"input": payment}), "invoicePaymentCreateManual", "invoicePayment")
    assert paid["invoice"]["status"] == "PAID"
    lowered = wave.gql(PAYMENT_PATCH, {"input": {"id": paid["id"], "amount": "10"}})
    assert data(lowered, "invoicePaymentPatch", "invoicePayment") == {
        "id": paid["id"],
        "amount": "10.00",
        "invoice": {"status": "PARTIAL"},
    }
    receivable = account(wave, business_id, "SYSTEM_RECEIVABLE")
    refused = wave.gql(PAYMENT_PATCH, {"input": {"id": paid["id"], "paymentAccountId": receivable}})
    assert data(refused, "invoicePaymentPatch", "inputErrors")[0]["path"] == ["input", "paymentAccountId"]


def test_a_money_transaction_balances_and_its_external_id_answers_it_again(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    bank, sales = account(wave, business_id, "CASH_AND_BANK"), account(wave, business_id, "INCOME")
    deposit = {
        "businessId": business_id,
        "externalId": "deposit-1",
        "date": "2026-12-01",
        "description": "Payout",
        "anchor": {"accountId": bank, "amount": "100.00", "direction": "DEPOSIT"},
        "lineItems": [
            {"accountId": sales, "amount": "60.00", "balance": "INCREASE"},
            {"accountId": sales, "amount": "40.00", "balance": "INCREASE"},
        ],
    }
    first = data(wave.gql(MONEY, {"input": deposit}), "moneyTransactionCreate")
    again = data(wave.gql(MONEY, {"input": deposit}), "moneyTransactionCreate")
    assert first["didSucceed"] and again["transaction"] == first["transaction"]
    assert [t["externalId"] for t in control.ledger(business_id)["transactions"]] == ["deposit-1"]
    unbalanced = {**deposit, "externalId": "deposit-2", "anchor": {**deposit["anchor"], "amount": "99.00"}}
    assert data(wave.gql(MONEY, {"input": unbalanced}), "moneyTransactionCreate", "inputErrors")[0][
        "path"
    ] == [
        "input",
        "lineItems",
    ]
    not_anchor = {**deposit, "externalId": "deposit-3", "anchor": {**deposit["anchor"], "accountId": sales}}
    refused = data(wave.gql(MONEY, {"input": not_anchor}), "moneyTransactionCreate")
    assert refused["inputErrors"][0]["path"] == ["input", "anchor", "accountId"]
    assert len(control.ledger(business_id)["transactions"]) == 1


def test_a_sent_invoice_its_customer_opens_reads_viewed(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    invoice_id = invoice_ready(wave, business_id)
    wave.gql(INVOICE_APPROVE, {"input": {"invoiceId": invoice_id}})
    wave.gql(INVOICE_MARK_SENT, {"input": {"invoiceId": invoice_id, "sendMethod": "SHARED_LINK"}})
    assert control.view_invoice(business_id, invoice_id) == "VIEWED"
    read = data(wave.gql(INVOICE, {"businessId": business_id, "id": invoice_id}), "business", "invoice")
    assert read["status"] == "VIEWED"


def test_the_user_acts_in_wave_on_a_business_no_app_may_reach(control: WaveControl) -> None:
    starter = control.business_id("Side Project (Starter)")
    made = control.in_wave(starter, CUSTOMER_CREATE, {"input": {"businessId": starter, "name": "Own use"}})
    assert data(made, "customerCreate", "didSucceed") is True


SALES_TAX_CREATE = """mutation($input: SalesTaxCreateInput!) {
  salesTaxCreate(input: $input) { didSucceed inputErrors { code message path } salesTax { id rate } }
}"""
TAXED = """query($businessId: ID!, $id: ID!) {
  business(id: $businessId) {
    invoice(id: $id) { subtotal { value } taxTotal { value } total { value } items { taxes { amount { value } rate } } }
  }
}"""


def test_a_sales_tax_rate_is_a_decimal_fraction(
    control: WaveControl, wave: WaveClient, business_id: str
) -> None:
    """The user sets the tax up in Wave; the app taxes an invoice line with it."""
    percent = control.in_wave(
        business_id,
        SALES_TAX_CREATE,
        {"input": {"businessId": business_id, "name": "HST", "abbreviation": "HST", "rate": "13"}},
    )
    assert data(percent, "salesTaxCreate", "inputErrors")[0]["path"] == ["input", "rate"]
    created = control.in_wave(
        business_id,
        SALES_TAX_CREATE,
        {"input": {"businessId": business_id, "name": "HST", "abbreviation": "HST", "rate": "0.13"}},
    )
    tax = data(created, "salesTaxCreate", "salesTax")
    assert tax["rate"] == "0.13"
    income = account(wave, business_id, "INCOME")
    product = data(
        wave.gql(
            PRODUCT_CREATE,
            {
                "input": {
                    "businessId": business_id,
                    "name": "Work",
                    "unitPrice": "100.00",
                    "incomeAccountId": income,
                }
            },
        ),
        "productCreate",
        "product",
    )
    customer_id = _customer(wave, business_id)
    items = [{"productId": product["id"], "taxes": [{"salesTaxId": tax["id"]}]}]
    invoice = wave.gql(
        INVOICE_CREATE, {"input": {"businessId": business_id, "customerId": customer_id, "items": items}}
    )
    invoice_id = data(invoice, "invoiceCreate", "invoice", "id")
    read = data(wave.gql(TAXED, {"businessId": business_id, "id": invoice_id}), "business", "invoice")
    assert (read["subtotal"], read["taxTotal"], read["total"]) == (
        {"value": "100.00"},
        {"value": "13.00"},
        {"value": "113.00"},
    )
    assert read["items"][0]["taxes"] == [{"amount": {"value": "13.00"}, "rate": "0.13"}]
