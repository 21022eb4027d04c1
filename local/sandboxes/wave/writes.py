"""The mutations' rules on a business's books (inputs already coerced by the schema: Decimal, date,
datetime and enum names). Each answers the record written or raises ``InputErrors``/``Missing``;
the caller holds the business's lock."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from local.sandboxes.wave.books import (
    PAYMENT_METHODS,
    SELLING_SUBTYPES,
    ZERO,
    Account,
    Business,
    Customer,
    Discount,
    Invoice,
    Item,
    ItemTax,
    Missing,
    MoneyTransaction,
    Payment,
    Product,
    SalesTax,
    cents,
    decimal_of,
    refuse,
)

CONTACT_FIELDS = (
    "firstName",
    "lastName",
    "displayId",
    "email",
    "mobile",
    "phone",
    "fax",
    "tollFree",
    "website",
    "internalNotes",
    "address",
    "shippingDetails",
)
INVOICE_TEXT_FIELDS = (
    "title",
    "subhead",
    "poNumber",
    "memo",
    "footer",
    "disableCreditCardPayments",
    "disableBankPayments",
    "disableAmexPayments",
    "requireTermsOfServiceAgreement",
    "itemTitle",
    "unitTitle",
    "priceTitle",
    "amountTitle",
    "hideName",
    "hideDescription",
    "hideUnit",
    "hidePrice",
    "hideAmount",
)


def _name(value: object, *path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse("REQUIRED", f"{path[-1]} is required and may not be blank", *path)
    return value.strip()


def _find(records: dict[str, Any], record_id: str, what: str) -> Any:
    record = records.get(record_id)
    if record is None:
        raise Missing(f"{what} {record_id} not found")
    return record


# ------------------------------------------------------------------ customers


def customer_create(business: Business, data: dict[str, Any], now: datetime) -> Customer:
    name = _name(data.get("name"), "name")
    customer_id = business.new_id("Customer")
    customer = Customer(customer_id, now, now, name, data.get("currency") or business.currency)
    customer.details = {key: data[key] for key in CONTACT_FIELDS if data.get(key) is not None}
    business.customers[customer_id] = customer
    return customer


def customer_patch(business: Business, data: dict[str, Any], now: datetime) -> Customer:
    customer: Customer = _find(business.customers, data["id"], "Customer")
    if "name" in data:
        customer.name = _name(data["name"], "name")
    if data.get("currency") is not None and data["currency"] != customer.currency:
        if business.customer_invoices(customer.id):  # (assumed) as in Wave's web app
            raise refuse("INVALID", "The currency of a customer with invoices cannot change", "currency")
        customer.currency = data["currency"]
    for key in CONTACT_FIELDS:
        if key in data:
            if data[key] is None:
                customer.details.pop(key, None)
            else:
                customer.details[key] = data[key]
    customer.modified = now
    return customer


def customer_delete(business: Business, data: dict[str, Any]) -> None:
    customer: Customer = _find(business.customers, data["id"], "Customer")
    if business.customer_invoices(customer.id):  # (assumed)
        raise refuse("INVALID", "A customer with invoices cannot be deleted; delete the invoices first", "id")
    del business.customers[customer.id]


# ------------------------------------------------------------------ products and sales taxes


def _account(business: Business, account_id: str, *path: str) -> Account:
    account = business.accounts.get(account_id)
    if account is None or account.archived:
        raise refuse("NOT_FOUND", f"Account {account_id} not found in this business", *path)
    return account


def _product_accounts(business: Business, data: dict[str, Any], product: Product) -> None:
    if data.get("incomeAccountId") is not None:
        income = _account(business, data["incomeAccountId"], "incomeAccountId")
        if income.subtype not in SELLING_SUBTYPES:
            raise refuse(
                "INVALID",
                f"incomeAccountId must be an account of subtype {', '.join(SELLING_SUBTYPES)}",
                "incomeAccountId",
            )
        product.income_account_id = income.id
    if data.get("expenseAccountId") is not None:
        expense = _account(business, data["expenseAccountId"], "expenseAccountId")
        if expense.type != "EXPENSE":
            raise refuse("INVALID", "expenseAccountId must be an expense account", "expenseAccountId")
        product.expense_account_id = expense.id
    if data.get("defaultSalesTaxIds") is not None:
        for index, tax_id in enumerate(data["defaultSalesTaxIds"]):
            if tax_id not in business.sales_taxes:
                raise refuse("NOT_FOUND", f"Sales tax {tax_id} not found", "defaultSalesTaxIds", str(index))
        product.sales_tax_ids = list(data["defaultSalesTaxIds"])


def _price(value: object) -> Decimal:
    price = decimal_of(value, "unitPrice")
    if price < 0:
        raise refuse("INVALID", "unitPrice may not be negative", "unitPrice")
    return price


def product_create(business: Business, data: dict[str, Any], now: datetime) -> Product:
    name = _name(data.get("name"), "name")
    product = Product(business.new_id("Product"), now, now, name, _price(data.get("unitPrice")))
    product.description = data.get("description")
    _product_accounts(business, data, product)
    business.products[product.id] = product
    return product


def product_patch(business: Business, data: dict[str, Any], now: datetime) -> Product:
    product: Product = _find(business.products, data["id"], "Product")
    if "name" in data:
        product.name = _name(data["name"], "name")
    if data.get("unitPrice") is not None:
        product.unit_price = _price(data["unitPrice"])
    if "description" in data:
        product.description = data["description"]
    _product_accounts(business, data, product)
    product.modified = now
    return product


def product_archive(business: Business, data: dict[str, Any], now: datetime) -> Product:
    product: Product = _find(business.products, data["id"], "Product")
    product.archived = True
    product.modified = now
    return product


def sales_tax_create(business: Business, data: dict[str, Any], now: datetime) -> SalesTax:
    rate = decimal_of(data.get("rate"), "rate")
    if rate < 0 or rate >= 1:  # wave-mcp-server: a decimal fraction, "0.07" for 7%
        raise refuse("INVALID", 'rate is a decimal fraction between 0 and 1 ("0.07" for 7%)', "rate")
    tax = SalesTax(
        business.new_id("SalesTax"),
        now,
        now,
        _name(data.get("name"), "name"),
        _name(data.get("abbreviation"), "abbreviation"),
        rate,
    )
    tax.details = {
        key: data[key]
        for key in ("description", "taxNumber", "showTaxNumberOnInvoices", "isCompound", "isRecoverable")
        if data.get(key) is not None
    }
    business.sales_taxes[tax.id] = tax
    return tax


# ------------------------------------------------------------------ invoices


def _items(business: Business, raw: list[dict[str, Any]]) -> list[Item]:
    items = []
    for index, entry in enumerate(raw):
        at = ("items", str(index))
        product = business.products.get(entry["productId"])
        if product is None:
            raise refuse("NOT_FOUND", f"Product {entry['productId']} not found", *at, "productId")
        if product.archived:  # (assumed)
            raise refuse("INVALID", f"Product {product.name} is archived", *at, "productId")
        quantity = (
            decimal_of(entry["quantity"], *at, "quantity")
            if entry.get("quantity") is not None
            else Decimal(1)
        )
        price = product.unit_price
        if entry.get("unitPrice") is not None:
            price = decimal_of(entry["unitPrice"], *at, "unitPrice")
        item = Item(product.id, entry.get("description") or product.description, quantity, price, None, [])
        item.account_id = product.income_account_id
        for tax_index, tax_entry in enumerate(entry.get("taxes") or []):
            tax = business.sales_taxes.get(tax_entry["salesTaxId"])
            if tax is None:
                path = (*at, "taxes", str(tax_index), "salesTaxId")
                raise refuse("NOT_FOUND", f"Sales tax {tax_entry['salesTaxId']} not found", *path)
            amount = tax_entry.get("amount")
            value = cents(item.subtotal * tax.rate) if amount is None else decimal_of(amount, "amount")
            item.taxes.append(ItemTax(tax.id, value, tax.rate))
        items.append(item)
    return items


def _discounts(raw: list[dict[str, Any]]) -> list[Discount]:
    discounts = []
    for index, entry in enumerate(raw):
        kind = entry["discountType"]
        field = "amount" if kind == "FIXED" else "percentage"
        if entry.get(field) is None:
            raise refuse("REQUIRED", f"A {kind} discount needs {field}", "discounts", str(index), field)
        discounts.append(Discount(kind, entry.get("name"), decimal_of(entry[field], "discounts", field)))
    return discounts


def _customer(business: Business, customer_id: str) -> Customer:
    customer = business.customers.get(customer_id)
    if customer is None:
        raise refuse("NOT_FOUND", f"Customer {customer_id} not found", "customerId")
    return customer


def invoice_create(business: Business, data: dict[str, Any], now: datetime, today: date) -> Invoice:
    customer = _customer(business, data["customerId"])
    items = _items(business, data.get("items") or [])
    invoice_date = data.get("invoiceDate") or today
    due_date = data.get("dueDate") or invoice_date
    if due_date < invoice_date:
        raise refuse("INVALID", "dueDate may not be before invoiceDate", "dueDate")
    invoice = Invoice(
        business.new_id("Invoice"),
        now,
        now,
        customer.id,
        data.get("invoiceNumber") or business.next_invoice_number(),
        data.get("currency") or customer.currency or business.currency,
        invoice_date,
        due_date,
        items,
        approved=(data.get("status") or "SAVED") == "SAVED",
    )
    invoice.discounts = _discounts(data.get("discounts") or [])
    invoice.exchange_rate = data.get("exchangeRate")
    invoice.details = {key: data[key] for key in INVOICE_TEXT_FIELDS if data.get(key) is not None}
    business.invoices[invoice.id] = invoice
    return invoice


def invoice_patch(business: Business, data: dict[str, Any], now: datetime) -> Invoice:
    invoice: Invoice = _find(business.invoices, data["id"], "Invoice")
    if data.get("status") == "DRAFT" and invoice.approved:  # (assumed)
        raise refuse("INVALID", "An approved invoice cannot go back to DRAFT", "status")
    if data.get("customerId") is not None:
        invoice.customer_id = _customer(business, data["customerId"]).id
    if data.get("items") is not None:
        invoice.items = _items(business, data["items"])
    if data.get("discounts") is not None:
        invoice.discounts = _discounts(data["discounts"])
    for key, attribute in (
        ("invoiceNumber", "number"),
        ("currency", "currency"),
        ("exchangeRate", "exchange_rate"),
    ):
        if data.get(key) is not None:
            setattr(invoice, attribute, data[key])
    invoice.invoice_date = data.get("invoiceDate") or invoice.invoice_date
    invoice.due_date = data.get("dueDate") or invoice.due_date
    if invoice.due_date < invoice.invoice_date:
        raise refuse("INVALID", "dueDate may not be before invoiceDate", "dueDate")
    for key in INVOICE_TEXT_FIELDS:
        if key in data:
            invoice.details[key] = data[key]
    if data.get("status") == "SAVED":
        invoice.approved = True
    invoice.modified = now
    return invoice


def invoice_approve(business: Business, data: dict[str, Any], now: datetime) -> Invoice:
    invoice: Invoice = _find(business.invoices, data["invoiceId"], "Invoice")
    if not invoice.items:
        raise refuse("INVALID", "An invoice needs at least one item to be approved", "invoiceId")
    invoice.approved = True
    invoice.modified = now
    return invoice


def invoice_mark_sent(
    business: Business, data: dict[str, Any], now: datetime, via: str | None = None
) -> Invoice:
    invoice: Invoice = _find(business.invoices, data["invoiceId"], "Invoice")
    if not invoice.approved:
        raise refuse("INVALID", "Approve the invoice before it is sent", "invoiceId")
    invoice.sent_at = data.get("sentAt") or now
    invoice.sent_via = via or data["sendMethod"]
    invoice.modified = now
    return invoice


def invoice_delete(business: Business, data: dict[str, Any]) -> None:
    invoice: Invoice = _find(business.invoices, data["invoiceId"], "Invoice")
    if business.payments_of(invoice):  # wave-mcp-server: Wave refuses while payments are recorded
        raise refuse(
            "INVALID", "An invoice with payments cannot be deleted; delete its payments first", "invoiceId"
        )
    del business.invoices[invoice.id]


# ------------------------------------------------------------------ invoice payments


def _payment_fields(business: Business, data: dict[str, Any], payment: Payment) -> None:
    if data.get("paymentAccountId") is not None:
        account = _account(business, data["paymentAccountId"], "paymentAccountId")
        if account.type not in ("ASSET", "LIABILITY") or account.subtype.startswith("SYSTEM_"):
            raise refuse(
                "INVALID", "paymentAccountId must be a cash, bank or credit card account", "paymentAccountId"
            )
        payment.account_id = account.id
    if data.get("amount") is not None:
        amount = decimal_of(data["amount"], "amount")
        if amount <= 0:
            raise refuse("INVALID", "amount must be greater than 0", "amount")
        payment.amount = cents(amount)
    if data.get("paymentDate") is not None:
        payment.payment_date = data["paymentDate"]
    if data.get("paymentMethod") is not None:
        if data["paymentMethod"] not in PAYMENT_METHODS:
            raise refuse(
                "INVALID", f"paymentMethod must be one of {', '.join(PAYMENT_METHODS)}", "paymentMethod"
            )
        payment.method = data["paymentMethod"]
    if "memo" in data:
        payment.memo = data["memo"]
    if data.get("exchangeRate") is not None:
        payment.exchange_rate = data["exchangeRate"]


def payment_create(business: Business, data: dict[str, Any], now: datetime) -> Payment:
    invoice: Invoice = _find(business.invoices, data["invoiceId"], "Invoice")
    if not invoice.approved:  # providers.md 7.3: the invoice must be approved first
        raise refuse("INVALID", "The invoice must be approved before a payment is recorded", "invoiceId")
    payment = Payment(
        business.new_id("InvoicePayment"), now, now, invoice.id, "", ZERO, now.date(), "UNSPECIFIED"
    )
    _payment_fields(business, data, payment)
    business.payments[payment.id] = payment
    invoice.payment_ids.append(payment.id)
    invoice.modified = now
    return payment


def payment_patch(business: Business, data: dict[str, Any], now: datetime) -> Payment:
    payment: Payment = _find(business.payments, data["id"], "Invoice payment")
    _payment_fields(business, data, payment)
    payment.modified = now
    business.invoices[payment.invoice_id].modified = now
    return payment


def payment_delete(business: Business, data: dict[str, Any], now: datetime) -> None:
    payment: Payment = _find(business.payments, data["id"], "Invoice payment")
    del business.payments[payment.id]
    invoice = business.invoices.get(payment.invoice_id)
    if invoice is not None:
        invoice.payment_ids.remove(payment.id)
        invoice.modified = now


# ------------------------------------------------------------------ money transactions


def money_transaction_create(business: Business, data: dict[str, Any], now: datetime) -> MoneyTransaction:
    """Anchor (cash/bank, credit card or loan) and categorised lines that balance it. An externalId
    seen before answers the transaction it created (wave-mcp-server: Wave dedupes on externalId)."""
    for existing in business.transactions.values():
        if existing.external_id == data["externalId"]:
            return existing
    anchor = data["anchor"]
    account = _account(business, anchor["accountId"], "anchor", "accountId")
    if account.subtype not in ("CASH_AND_BANK", "CREDIT_CARD", "LOANS"):
        raise refuse(
            "INVALID",
            "The anchor must be a cash and bank, credit card or loan account",
            "anchor",
            "accountId",
        )
    total = ZERO
    for index, line in enumerate(data["lineItems"]):
        line_account = _account(business, line["accountId"], "lineItems", str(index), "accountId")
        if line_account.subtype in ("CASH_AND_BANK", "CREDIT_CARD", "LOANS"):
            raise refuse(
                "INVALID", "A line item may not use an anchor account", "lineItems", str(index), "accountId"
            )
        amount = decimal_of(line["amount"], "lineItems", str(index), "amount")
        total += amount if line["balance"] == "INCREASE" else -amount
    if cents(abs(total)) != cents(decimal_of(anchor["amount"], "anchor", "amount")):
        raise refuse("INVALID", "The line items must total the anchor amount", "lineItems")
    body = {key: _plain(value) for key, value in data.items() if key != "businessId"}
    transaction = MoneyTransaction(business.new_id("Transaction"), now, now, data["externalId"], body)
    business.transactions[transaction.id] = transaction
    return transaction


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    if isinstance(value, Decimal | date):
        return str(value)
    return value
