"""The app the Wave sandbox tests register, and the documents they send (shared by fixtures and tests)."""

from __future__ import annotations

from typing import Any

from local.sandboxes.wave.testing import WaveClient

CLIENT_ID, CLIENT_SECRET = "wave-test-app", "wave-test-secret"
REDIRECT_URI = "https://app.test/oauth/wave/callback"
USD_BUSINESS = "Maple Design Studio"

ACCOUNTS = """query($businessId: ID!, $subtypes: [AccountSubtypeValue!]) {
  business(id: $businessId) { accounts(subtypes: $subtypes) { edges { node { id name subtype { value } } } } }
}"""
CUSTOMER_CREATE = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { didSucceed inputErrors { code message path } customer { id name modifiedAt } }
}"""
PRODUCT_CREATE = """mutation($input: ProductCreateInput!) {
  productCreate(input: $input) { didSucceed inputErrors { code message path } product { id name unitPrice isSold } }
}"""
INVOICE_CREATE = """mutation($input: InvoiceCreateInput!) {
  invoiceCreate(input: $input) {
    didSucceed inputErrors { code message path }
    invoice { id status invoiceNumber total { value raw currency { code } } amountDue { value } amountPaid { value } }
  }
}"""
INVOICE_APPROVE = """mutation($input: InvoiceApproveInput!) {
  invoiceApprove(input: $input) { didSucceed inputErrors { code message path } invoice { id status } }
}"""
INVOICE_MARK_SENT = """mutation($input: InvoiceMarkSentInput!) {
  invoiceMarkSent(input: $input) { didSucceed inputErrors { code message path } invoice { id status lastSentVia } }
}"""
INVOICE_DELETE = """mutation($input: InvoiceDeleteInput!) {
  invoiceDelete(input: $input) { didSucceed inputErrors { code message path } }
}"""
PAYMENT_CREATE = """mutation($input: InvoicePaymentCreateManualInput!) {
  invoicePaymentCreateManual(input: $input) {
    didSucceed inputErrors { code message path }
    invoicePayment { id amount invoice { id status amountPaid { value } amountDue { value } } }
  }
}"""
PAYMENT_DELETE = """mutation($input: InvoicePaymentDeleteInput!) {
  invoicePaymentDelete(input: $input) { didSucceed inputErrors { code message path } }
}"""
INVOICE = """query($businessId: ID!, $id: ID!) {
  business(id: $businessId) { invoice(id: $id) { id status amountPaid { value } payments { id amount } } }
}"""


def data(answer: dict[str, Any], *path: str) -> Any:
    """``answer["data"][path...]``, failing with the answer's errors when there is no data."""
    assert "errors" not in answer, answer
    node: Any = answer["data"]
    for key in path:
        node = node[key]
    return node


def account(wave: WaveClient, business_id: str, subtype: str) -> str:
    edges = data(
        wave.gql(ACCOUNTS, {"businessId": business_id, "subtypes": [subtype]}),
        "business",
        "accounts",
        "edges",
    )
    return str(edges[0]["node"]["id"])


def invoice_ready(wave: WaveClient, business_id: str, price: str = "40.00", status: str = "DRAFT") -> str:
    """A customer, a product sold into Sales and an invoice for 1 of it: the invoice's id."""
    customer = data(
        wave.gql(CUSTOMER_CREATE, {"input": {"businessId": business_id, "name": "Ada Lovelace"}}),
        "customerCreate",
        "customer",
    )
    product = data(
        wave.gql(
            PRODUCT_CREATE,
            {
                "input": {
                    "businessId": business_id,
                    "name": "Design hour",
                    "unitPrice": price,
                    "incomeAccountId": account(wave, business_id, "INCOME"),
                }
            },
        ),
        "productCreate",
        "product",
    )
    created = wave.gql(
        INVOICE_CREATE,
        {
            "input": {
                "businessId": business_id,
                "customerId": customer["id"],
                "status": status,
                "items": [{"productId": product["id"], "quantity": "1"}],
            }
        },
    )
    return str(data(created, "invoiceCreate", "invoice", "id"))
