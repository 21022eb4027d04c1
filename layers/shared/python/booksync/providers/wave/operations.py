"""The GraphQL documents booksync sends Wave, each one named operation.

No public copy of Wave's schema exists (providers.md 7.3): every field and argument here is one
of github:oliverames/wave-mcp-server's operations (MIT, commit 7591a76a, whose CI validates them
against Wave's live schema), selected down to what booksync reads. The contract test validates
each of ``OPERATIONS`` against the Wave sandbox's schema (local/sandboxes/wave), written from the
same operations.
"""

from __future__ import annotations

_INPUT_ERRORS = "inputErrors { path message code }"
_MONEY = "value currency { code }"
_CUSTOMER = (
    "id name firstName lastName displayId email phone modifiedAt currency { code } "
    "address { addressLine1 addressLine2 city postalCode province { code name } country { code name } }"
)
_PRODUCT = "id name description unitPrice isSold isArchived modifiedAt incomeAccount { id name }"
_INVOICE = (
    "id status invoiceNumber poNumber invoiceDate dueDate memo modifiedAt lastSentAt currency { code } "
    f"customer {{ id displayId }} total {{ {_MONEY} }} amountDue {{ {_MONEY} }} "
    f"amountPaid {{ {_MONEY} }}"
)
_PAYMENT = "id amount paymentDate paymentMethod memo account { id }"
_ACCOUNT = "id name displayId isArchived type { value } subtype { value }"

# ---------------------------------------------------------------------- business

BUSINESS = """
query WaveBusiness($businessId: ID!) {
  business(id: $businessId) { id name isArchived currency { code } }
}"""

ACCOUNTS = f"""
query WaveAccounts($businessId: ID!, $page: Int!, $pageSize: Int!) {{
  business(id: $businessId) {{
    id
    accounts(page: $page, pageSize: $pageSize) {{
      pageInfo {{ currentPage totalPages totalCount }}
      edges {{ node {{ {_ACCOUNT} }} }}
    }}
  }}
}}"""

SALES_TAXES = """
query WaveSalesTaxes($businessId: ID!, $page: Int!, $pageSize: Int!) {
  business(id: $businessId) {
    id
    salesTaxes(page: $page, pageSize: $pageSize, isArchived: false) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id name abbreviation rate isArchived } }
    }
  }
}"""

# ---------------------------------------------------------------------- customers

CUSTOMERS = f"""
query WaveCustomers(
  $businessId: ID!, $page: Int!, $pageSize: Int!, $sort: [CustomerSort!]!, $email: String
) {{
  business(id: $businessId) {{
    id
    customers(page: $page, pageSize: $pageSize, sort: $sort, email: $email) {{
      pageInfo {{ currentPage totalPages totalCount }}
      edges {{ node {{ {_CUSTOMER} }} }}
    }}
  }}
}}"""

CUSTOMER = f"""
query WaveCustomer($businessId: ID!, $id: ID!) {{
  business(id: $businessId) {{ id customer(id: $id) {{ {_CUSTOMER} }} }}
}}"""

CUSTOMER_CREATE = f"""
mutation WaveCustomerCreate($input: CustomerCreateInput!) {{
  customerCreate(input: $input) {{ didSucceed {_INPUT_ERRORS} customer {{ {_CUSTOMER} }} }}
}}"""

CUSTOMER_PATCH = f"""
mutation WaveCustomerPatch($input: CustomerPatchInput!) {{
  customerPatch(input: $input) {{ didSucceed {_INPUT_ERRORS} customer {{ {_CUSTOMER} }} }}
}}"""

# ---------------------------------------------------------------------- products

PRODUCTS = f"""
query WaveProducts($businessId: ID!, $page: Int!, $pageSize: Int!, $sort: [ProductSort!]!) {{
  business(id: $businessId) {{
    id
    products(page: $page, pageSize: $pageSize, sort: $sort) {{
      pageInfo {{ currentPage totalPages totalCount }}
      edges {{ node {{ {_PRODUCT} }} }}
    }}
  }}
}}"""

PRODUCT = f"""
query WaveProduct($businessId: ID!, $id: ID!) {{
  business(id: $businessId) {{ id product(id: $id) {{ {_PRODUCT} }} }}
}}"""

PRODUCT_CREATE = f"""
mutation WaveProductCreate($input: ProductCreateInput!) {{
  productCreate(input: $input) {{ didSucceed {_INPUT_ERRORS} product {{ {_PRODUCT} }} }}
}}"""

PRODUCT_PATCH = f"""
mutation WaveProductPatch($input: ProductPatchInput!) {{
  productPatch(input: $input) {{ didSucceed {_INPUT_ERRORS} product {{ {_PRODUCT} }} }}
}}"""

# ---------------------------------------------------------------------- invoices

INVOICES = f"""
query WaveInvoices(
  $businessId: ID!, $page: Int!, $pageSize: Int!, $sort: [InvoiceSort!]!, $invoiceNumber: String
) {{
  business(id: $businessId) {{
    id
    invoices(page: $page, pageSize: $pageSize, sort: $sort, invoiceNumber: $invoiceNumber) {{
      pageInfo {{ currentPage totalPages totalCount }}
      edges {{ node {{ {_INVOICE} }} }}
    }}
  }}
}}"""

INVOICE = f"""
query WaveInvoice($businessId: ID!, $id: ID!) {{
  business(id: $businessId) {{ id invoice(id: $id) {{ {_INVOICE} payments {{ {_PAYMENT} }} }} }}
}}"""

INVOICE_CREATE = f"""
mutation WaveInvoiceCreate($input: InvoiceCreateInput!) {{
  invoiceCreate(input: $input) {{ didSucceed {_INPUT_ERRORS} invoice {{ {_INVOICE} }} }}
}}"""

INVOICE_PATCH = f"""
mutation WaveInvoicePatch($input: InvoicePatchInput!) {{
  invoicePatch(input: $input) {{ didSucceed {_INPUT_ERRORS} invoice {{ {_INVOICE} }} }}
}}"""

INVOICE_APPROVE = f"""
mutation WaveInvoiceApprove($input: InvoiceApproveInput!) {{
  invoiceApprove(input: $input) {{ didSucceed {_INPUT_ERRORS} invoice {{ {_INVOICE} }} }}
}}"""

INVOICE_MARK_SENT = f"""
mutation WaveInvoiceMarkSent($input: InvoiceMarkSentInput!) {{
  invoiceMarkSent(input: $input) {{ didSucceed {_INPUT_ERRORS} invoice {{ {_INVOICE} }} }}
}}"""

INVOICE_DELETE = f"""
mutation WaveInvoiceDelete($input: InvoiceDeleteInput!) {{
  invoiceDelete(input: $input) {{ didSucceed {_INPUT_ERRORS} }}
}}"""

# ---------------------------------------------------------------------- payments

PAYMENT_CREATE = f"""
mutation WaveInvoicePaymentCreate($input: InvoicePaymentCreateManualInput!) {{
  invoicePaymentCreateManual(input: $input) {{
    didSucceed {_INPUT_ERRORS} invoicePayment {{ {_PAYMENT} invoice {{ id }} }}
  }}
}}"""

OPERATIONS = (
    BUSINESS,
    ACCOUNTS,
    SALES_TAXES,
    CUSTOMERS,
    CUSTOMER,
    CUSTOMER_CREATE,
    CUSTOMER_PATCH,
    PRODUCTS,
    PRODUCT,
    PRODUCT_CREATE,
    PRODUCT_PATCH,
    INVOICES,
    INVOICE,
    INVOICE_CREATE,
    INVOICE_PATCH,
    INVOICE_APPROVE,
    INVOICE_MARK_SENT,
    INVOICE_DELETE,
    PAYMENT_CREATE,
)
