"""Wave's answer shapes: each record as the schema's object (a dict graphql-core reads; a field that
takes arguments is a function of them), and each record as the ledger shows it (plain JSON)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from graphql import GraphQLError

from local.sandboxes.wave.books import (
    NORMAL_BALANCE,
    SUBTYPES,
    ZERO,
    Account,
    Business,
    Customer,
    Invoice,
    Item,
    Payment,
    Product,
    SalesTax,
    cents,
)
from local.sandboxes.wave.schema import BAD_USER_INPUT

# The currencies and places the sandbox serves (name, plural, symbol, exponent).
CURRENCIES = {
    "USD": ("United States dollar", "United States dollars", "$", 2),
    "CAD": ("Canadian dollar", "Canadian dollars", "$", 2),
    "EUR": ("Euro", "Euros", "€", 2),
    "GBP": ("Pound sterling", "Pounds sterling", "£", 2),
    "AUD": ("Australian dollar", "Australian dollars", "$", 2),
    "NZD": ("New Zealand dollar", "New Zealand dollars", "$", 2),
    "JPY": ("Japanese yen", "Japanese yen", "¥", 0),
    "CHF": ("Swiss franc", "Swiss francs", "CHF", 2),
    "MXN": ("Mexican peso", "Mexican pesos", "$", 2),
    "INR": ("Indian rupee", "Indian rupees", "₹", 2),
}
COUNTRIES = {
    "US": ("United States", "the United States", "USD"),
    "CA": ("Canada", "Canada", "CAD"),
    "GB": ("United Kingdom", "the United Kingdom", "GBP"),
    "AU": ("Australia", "Australia", "AUD"),
    "NZ": ("New Zealand", "New Zealand", "NZD"),
    "FR": ("France", "France", "EUR"),
    "DE": ("Germany", "Germany", "EUR"),
    "MX": ("Mexico", "Mexico", "MXN"),
    "IN": ("India", "India", "INR"),
}
PROVINCES = {
    "US": {"US-CA": "California", "US-NY": "New York", "US-TX": "Texas", "US-WA": "Washington"},
    "CA": {"CA-ON": "Ontario", "CA-QC": "Quebec", "CA-BC": "British Columbia", "CA-AB": "Alberta"},
}

Resolver = Callable[..., Any]


class Context(Protocol):
    """What views need of the request being served."""

    def today(self) -> date: ...

    def require(self, scope: str) -> None: ...


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


def currency(code: str) -> dict[str, Any]:
    name, plural, symbol, exponent = CURRENCIES.get(code, (code, code, code, 2))
    return {"code": code, "symbol": symbol, "name": name, "plural": plural, "exponent": exponent}


def country(code: str) -> dict[str, Any]:
    name, with_article, money = COUNTRIES.get(code, (code, code, "USD"))
    return {
        "code": code,
        "name": name,
        "nameWithArticle": with_article,
        "currency": currency(money),
        "provinces": [province(p) for p in PROVINCES.get(code, {})],
    }


def province(code: str) -> dict[str, Any]:
    names = {key: name for provinces in PROVINCES.values() for key, name in provinces.items()}
    name = names.get(code, code)
    return {"code": code, "name": name, "slug": name.lower().replace(" ", "-")}


def money(amount: Decimal, code: str) -> dict[str, Any]:
    exponent = currency(code)["exponent"]
    minor = int((amount * 10**exponent).to_integral_value())
    return {
        "raw": minor,
        "minorUnitValue": minor,
        "value": f"{amount:.{exponent}f}",
        "currency": currency(code),
    }


def address(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "addressLine1": raw.get("addressLine1"),
        "addressLine2": raw.get("addressLine2"),
        "city": raw.get("city"),
        "postalCode": raw.get("postalCode"),
        "province": province(raw["provinceCode"]) if raw.get("provinceCode") else None,
        "country": country(raw["countryCode"]) if raw.get("countryCode") else None,
    }


def account_type(kind: str) -> dict[str, Any]:
    return {"name": kind.title(), "value": kind, "normalBalanceType": NORMAL_BALANCE[kind]}


def account_subtype(value: str) -> dict[str, Any]:
    name, kind, archivable, system = SUBTYPES[value]
    return {
        "name": name,
        "value": value,
        "description": None,
        "archivable": archivable,
        "systemCreated": system,
        "type": account_type(kind),
    }


def page_of(items: Sequence[Any], page: int, page_size: int, view: Callable[[Any], Any]) -> dict[str, Any]:
    """Wave's offset pagination: ``pageInfo {currentPage totalPages totalCount}`` and ``edges {node}``."""
    if page < 1:
        raise bad_input("page must be 1 or more")
    if page_size < 1:
        raise bad_input("pageSize must be 1 or more")
    start = (page - 1) * page_size
    chosen = items[start : start + page_size]
    return {
        "pageInfo": {
            "currentPage": page,
            "totalPages": math.ceil(len(items) / page_size),
            "totalCount": len(items),
        },
        "edges": [{"node": view(item)} for item in chosen],
    }


def sorted_by(items: list[Any], sort: Sequence[str], keys: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """``sort`` as Wave's [X_ASC, Y_DESC] (first key most significant)."""
    ordered = sorted(items, key=lambda record: record.id)
    for order in reversed(sort):
        field, _, direction = order.rpartition("_")
        ordered.sort(key=keys[field], reverse=direction == "DESC")
    return ordered


def modified_between(record: Any, after: Any, before: Any) -> bool:
    """``modifiedAtAfter`` is inclusive, ``modifiedAtBefore`` exclusive (assumed)."""
    return (after is None or record.modified >= after) and (before is None or record.modified < before)


# ------------------------------------------------------------------ records


class Views:
    """The schema's objects for one business, answered to one request."""

    def __init__(self, business: Business, ctx: Context) -> None:
        self.b = business
        self.ctx = ctx

    def account(self, account: Account | None) -> dict[str, Any] | None:
        if account is None:
            return None
        subtype = account_subtype(account.subtype)
        return {
            "id": account.id,
            "business": lambda *_: self.business(),
            "name": account.name,
            "description": account.description,
            "displayId": account.display_id,
            "classicId": None,
            "isArchived": account.archived,
            "sequence": account.sequence,
            "balance": self._balance(account),
            "balanceInBusinessCurrency": self._balance(account),
            "normalBalanceType": subtype["type"]["normalBalanceType"],
            "currency": currency(account.currency),
            "type": subtype["type"],
            "subtype": subtype,
        }

    def _balance(self, account: Account) -> Decimal:
        """Payments deposited into a cash account raise its balance (nothing else moves balances here)."""
        return sum((p.amount for p in self.b.payments.values() if p.account_id == account.id), ZERO)

    def customer(self, customer: Customer | None) -> dict[str, Any] | None:
        if customer is None:
            return None
        details = customer.details
        code = customer.currency or self.b.currency
        shipping = details.get("shippingDetails")
        return {
            "id": customer.id,
            "business": lambda *_: self.business(),
            "name": customer.name,
            **{key: details.get(key) for key in ("firstName", "lastName", "displayId", "email", "mobile")},
            **{key: details.get(key) for key in ("phone", "fax", "tollFree", "website", "internalNotes")},
            "isArchived": customer.archived,
            "createdAt": customer.created,
            "modifiedAt": customer.modified,
            "currency": currency(code),
            "address": address(details.get("address")),
            "shippingDetails": None
            if not shipping
            else {**shipping, "address": address(shipping.get("address"))},
            # Read only when asked (each reads every invoice of the business).
            "outstandingAmount": lambda *_: money(self._owed(customer, overdue=False), code),
            "overdueAmount": lambda *_: money(self._owed(customer, overdue=True), code),
        }

    def _owed(self, customer: Customer, *, overdue: bool) -> Decimal:
        today = self.ctx.today()
        invoices = [i for i in self.b.customer_invoices(customer.id) if i.approved]
        return sum((self._due(i) for i in invoices if not overdue or i.due_date < today), ZERO)

    def _due(self, invoice: Invoice) -> Decimal:
        return max(invoice.total - self.b.amount_paid(invoice), ZERO)

    def sales_tax(self, tax: SalesTax | None) -> dict[str, Any] | None:
        if tax is None:
            return None
        return {
            "id": tax.id,
            "business": lambda *_: self.business(),
            "name": tax.name,
            "abbreviation": tax.abbreviation,
            "description": tax.details.get("description"),
            "taxNumber": tax.details.get("taxNumber"),
            "showTaxNumberOnInvoices": bool(tax.details.get("showTaxNumberOnInvoices")),
            "rate": lambda *_, **__: tax.rate,
            "rates": [{"effective": tax.created.date(), "rate": tax.rate}],
            "isCompound": bool(tax.details.get("isCompound")),
            "isRecoverable": bool(tax.details.get("isRecoverable")),
            "isArchived": tax.archived,
            "createdAt": tax.created,
            "modifiedAt": tax.modified,
        }

    def product(self, product: Product | None) -> dict[str, Any] | None:
        if product is None:
            return None
        accounts = self.b.accounts
        return {
            "id": product.id,
            "business": lambda *_: self.business(),
            "name": product.name,
            "description": product.description,
            "unitPrice": product.unit_price,
            "isSold": product.income_account_id is not None,
            "isBought": product.expense_account_id is not None,
            "isArchived": product.archived,
            "createdAt": product.created,
            "modifiedAt": product.modified,
            "incomeAccount": self.account(accounts.get(product.income_account_id or "")),
            "expenseAccount": self.account(accounts.get(product.expense_account_id or "")),
            "defaultSalesTaxes": [self.sales_tax(self.b.sales_taxes.get(t)) for t in product.sales_tax_ids],
        }

    def _item(self, item: Item, code: str) -> dict[str, Any]:
        return {
            "id": None,
            "description": item.description,
            "quantity": item.quantity,
            "price": item.unit_price,
            "unitPrice": item.unit_price,
            "account": self.account(self.b.accounts.get(item.account_id or "")),
            "product": self.product(self.b.products.get(item.product_id)),
            "subtotal": money(item.subtotal, code),
            "total": money(item.subtotal + item.tax, code),
            "taxes": [
                {
                    "amount": money(tax.amount, code),
                    "rate": tax.rate,
                    "salesTax": self.sales_tax(self.b.sales_taxes.get(tax.sales_tax_id)),
                }
                for tax in item.taxes
            ],
        }

    def invoice(self, invoice: Invoice | None) -> dict[str, Any] | None:
        if invoice is None:
            return None
        code = invoice.currency
        paid = self.b.amount_paid(invoice)
        details = invoice.details
        return {
            "id": invoice.id,
            "business": lambda *_: self.business(),
            "status": self.b.status(invoice, self.ctx.today()),
            "invoiceNumber": invoice.number,
            "invoiceDate": invoice.invoice_date,
            "dueDate": invoice.due_date,
            **{key: details.get(key) for key in ("title", "subhead", "poNumber", "memo", "footer")},
            **{key: details.get(key) for key in ("itemTitle", "unitTitle", "priceTitle", "amountTitle")},
            **{key: details.get(key) for key in ("hideName", "hideDescription", "hideUnit", "hidePrice")},
            **{key: details.get(key) for key in ("disableCreditCardPayments", "disableBankPayments")},
            **{key: details.get(key) for key in ("disableAmexPayments", "requireTermsOfServiceAgreement")},
            "hideAmount": details.get("hideAmount"),
            "pdfUrl": f"https://sandbox.invalid/invoices/{invoice.id}/pdf",
            "viewUrl": f"https://sandbox.invalid/invoices/{invoice.id}",
            "exchangeRate": invoice.exchange_rate,
            "createdAt": invoice.created,
            "modifiedAt": invoice.modified,
            "lastSentAt": invoice.sent_at,
            "lastSentVia": invoice.sent_via,
            "lastViewedAt": invoice.viewed_at,
            "currency": currency(code),
            "customer": lambda *_: self.customer(self.b.customers.get(invoice.customer_id)),
            "subtotal": money(invoice.subtotal, code),
            "taxTotal": money(invoice.tax_total, code),
            "discountTotal": money(invoice.discount_total, code),
            "total": money(invoice.total, code),
            "amountDue": money(max(invoice.total - paid, ZERO), code),
            "amountPaid": money(paid, code),
            "discounts": [
                {
                    "__typename": "FixedInvoiceDiscount"
                    if d.kind == "FIXED"
                    else "PercentageInvoiceDiscount",
                    "name": d.name,
                    "amount": d.value,
                    "percentage": d.value,
                    "createdAt": invoice.created,
                    "modifiedAt": invoice.modified,
                }
                for d in invoice.discounts
            ],
            "source": None,
            "invoiceReminders": [],
            "items": [self._item(item, code) for item in invoice.items],
            "attachments": [],
            "payments": lambda *_: [self.payment(p) for p in self.b.payments_of(invoice)],
        }

    def payment(self, payment: Payment | None) -> dict[str, Any] | None:
        if payment is None:
            return None
        invoice = self.b.invoices.get(payment.invoice_id)
        code = invoice.currency if invoice else self.b.currency
        return {
            "id": payment.id,
            "invoice": lambda *_: self.invoice(invoice),
            "amount": payment.amount,
            "paymentDate": payment.payment_date,
            "paymentMethod": payment.method,
            "memo": payment.memo,
            "exchangeRate": payment.exchange_rate,
            "displayExchangeRate": payment.exchange_rate,
            "origin": "MANUAL",
            "state": "COMPLETED",
            "transactionType": "PAYMENT",
            "active": True,
            "createdAt": payment.created,
            "modifiedAt": payment.modified,
            "businessCurrency": currency(self.b.currency),
            "invoiceCurrency": currency(code),
            "paymentCurrency": currency(code),
            "account": self.account(self.b.accounts.get(payment.account_id)),
            "customer": self.customer(self.b.customers.get(invoice.customer_id)) if invoice else None,
            "paymentDetails": None,
        }

    # ------------------------------------------------------------ the business and its lists

    def business(self) -> dict[str, Any]:
        b = self.b
        need = self.ctx.require
        return {
            "id": b.id,
            "name": b.name,
            "isPersonal": False,
            "isClassicAccounting": False,
            "isClassicInvoicing": False,
            "isArchived": b.archived,
            "organizationalType": None,
            "timezone": "America/Toronto" if b.country == "CA" else "America/New_York",
            "emailSendEnabled": True,
            "createdAt": b.created,
            "modifiedAt": b.modified,
            "currency": currency(b.currency),
            "type": None,
            "subtype": None,
            "address": {"country": country(b.country)},
            "invoiceEstimateSettings": None,
            "accounts": self._lister("account:read", self._accounts),
            "account": self._getter("account:read", b.accounts, self.account),
            "customers": self._lister("customer:read", self._customers),
            "customer": self._getter("customer:read", b.customers, self.customer),
            "vendors": lambda *_, page=1, pageSize=10, **__: (
                need("vendor:read") or page_of([], page, pageSize, id)
            ),
            "vendor": lambda *_, **__: need("vendor:read"),
            "products": self._lister("product:read", self._products),
            "product": self._getter("product:read", b.products, self.product),
            "salesTaxes": self._lister("sales_tax:read", self._sales_taxes),
            "salesTax": self._getter("sales_tax:read", b.sales_taxes, self.sales_tax),
            "invoices": self._lister("invoice:read", self._invoices),
            "invoice": self._getter("invoice:read", b.invoices, self.invoice),
            "invoicePayment": self._getter("invoice:read", b.payments, self.payment),
            "estimates": lambda *_, page=1, pageSize=10, **__: (
                need("estimate:read") or page_of([], page, pageSize, id)
            ),
            "estimate": lambda *_, **__: need("estimate:read"),
            "estimatePayment": lambda *_, **__: need("estimate:read"),
        }

    def _getter(self, scope: str, records: dict[str, Any], view: Callable[[Any], Any]) -> Resolver:
        def get(_info: Any, id: str) -> Any:
            self.ctx.require(scope)
            with self.b.lock:
                return view(records.get(id))

        return get

    def _lister(self, scope: str, lister: Callable[..., dict[str, Any]]) -> Resolver:
        def listing(_info: Any, page: int = 1, pageSize: int = 10, **filters: Any) -> dict[str, Any]:
            self.ctx.require(scope)
            with self.b.lock:
                return lister(page, pageSize, **filters)

        return listing

    def _accounts(
        self,
        page: int,
        size: int,
        types: list[str] | None = None,
        subtypes: list[str] | None = None,
        excludedSubtypes: list[str] | None = None,
        isArchived: bool | None = None,
    ) -> dict[str, Any]:
        chosen = [
            a
            for a in self.b.accounts.values()
            if (types is None or a.type in types)
            and (subtypes is None or a.subtype in subtypes)
            and (excludedSubtypes is None or a.subtype not in excludedSubtypes)
            and (isArchived is None or a.archived == isArchived)
        ]
        return page_of(chosen, page, size, self.account)

    def _customers(
        self,
        page: int,
        size: int,
        sort: list[str],
        email: str | None = None,
        modifiedAtAfter: Any = None,
        modifiedAtBefore: Any = None,
    ) -> dict[str, Any]:
        chosen = [
            c
            for c in self.b.customers.values()
            if (email is None or (c.details.get("email") or "").lower() == email.lower())
            and modified_between(c, modifiedAtAfter, modifiedAtBefore)
        ]
        return page_of(sorted_by(chosen, sort, _STAMP_KEYS), page, size, self.customer)

    def _products(
        self,
        page: int,
        size: int,
        sort: list[str],
        isSold: bool | None = None,
        isBought: bool | None = None,
        isArchived: bool | None = None,
        modifiedAtAfter: Any = None,
        modifiedAtBefore: Any = None,
    ) -> dict[str, Any]:
        chosen = [
            p
            for p in self.b.products.values()
            if (isSold is None or (p.income_account_id is not None) == isSold)
            and (isBought is None or (p.expense_account_id is not None) == isBought)
            and (isArchived is None or p.archived == isArchived)
            and modified_between(p, modifiedAtAfter, modifiedAtBefore)
        ]
        return page_of(sorted_by(chosen, sort, _STAMP_KEYS), page, size, self.product)

    def _sales_taxes(
        self,
        page: int,
        size: int,
        isArchived: bool | None = None,
        modifiedAtAfter: Any = None,
        modifiedAtBefore: Any = None,
    ) -> dict[str, Any]:
        chosen = [
            t
            for t in self.b.sales_taxes.values()
            if (isArchived is None or t.archived == isArchived)
            and modified_between(t, modifiedAtAfter, modifiedAtBefore)
        ]
        return page_of(sorted(chosen, key=lambda t: t.name), page, size, self.sales_tax)

    def _invoices(self, page: int, size: int, sort: list[str], **filters: Any) -> dict[str, Any]:
        today = self.ctx.today()
        b = self.b

        def keep(invoice: Invoice) -> bool:
            checks: tuple[tuple[str, Callable[[Any], bool]], ...] = (
                ("status", lambda v: b.status(invoice, today) == v),
                ("customerId", lambda v: invoice.customer_id == v),
                ("currency", lambda v: invoice.currency == v),
                ("invoiceDateStart", lambda v: invoice.invoice_date >= v),
                ("invoiceDateEnd", lambda v: invoice.invoice_date <= v),
                ("invoiceNumber", lambda v: invoice.number == v),
                ("amountDue", lambda v: self._due(invoice) == v),
            )
            wanted = all(filters.get(name) is None or test(filters[name]) for name, test in checks)
            return wanted and modified_between(
                invoice, filters.get("modifiedAtAfter"), filters.get("modifiedAtBefore")
            )

        keys: dict[str, Callable[[Any], Any]] = {
            **_STAMP_KEYS,
            "AMOUNT_DUE": self._due,
            "CUSTOMER_NAME": lambda i: (
                b.customers[i.customer_id].name.lower() if i.customer_id in b.customers else ""
            ),
            "DUE_AT": lambda i: i.due_date,
            "INVOICE_DATE": lambda i: i.invoice_date,
            "INVOICE_NUMBER": lambda i: i.number,
            "STATUS": lambda i: b.status(i, today),
            "TOTAL": lambda i: i.total,
        }
        chosen = [invoice for invoice in b.invoices.values() if keep(invoice)]
        return page_of(sorted_by(chosen, sort, keys), page, size, self.invoice)


_STAMP_KEYS: dict[str, Callable[[Any], Any]] = {
    "NAME": lambda record: record.name.lower(),
    "CREATED_AT": lambda record: record.created,
    "MODIFIED_AT": lambda record: record.modified,
}


# ------------------------------------------------------------------ the ledger (control API)


def ledger(business: Business, today: date) -> dict[str, list[dict[str, Any]]]:
    """Everything in the business's books as plain JSON (money as decimal strings)."""
    b = business

    def stamp(record: Any) -> dict[str, str]:
        return {"createdAt": record.created.isoformat(), "modifiedAt": record.modified.isoformat()}

    return {
        "accounts": [
            {"id": a.id, "name": a.name, "subtype": a.subtype, "type": a.type, "isArchived": a.archived}
            for a in b.accounts.values()
        ],
        "customers": [
            {
                "id": c.id,
                "name": c.name,
                "currency": c.currency,
                **c.details,
                "isArchived": c.archived,
                **stamp(c),
            }
            for c in b.customers.values()
        ],
        "products": [
            {
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "unitPrice": str(p.unit_price),
                "incomeAccountId": p.income_account_id,
                "expenseAccountId": p.expense_account_id,
                "isArchived": p.archived,
                **stamp(p),
            }
            for p in b.products.values()
        ],
        "sales_taxes": [
            {"id": t.id, "name": t.name, "abbreviation": t.abbreviation, "rate": str(t.rate), **stamp(t)}
            for t in b.sales_taxes.values()
        ],
        "invoices": [
            {
                "id": i.id,
                "invoiceNumber": i.number,
                "status": b.status(i, today),
                "customerId": i.customer_id,
                "currency": i.currency,
                "invoiceDate": i.invoice_date.isoformat(),
                "dueDate": i.due_date.isoformat(),
                "items": [
                    {
                        "productId": item.product_id,
                        "description": item.description,
                        "quantity": str(item.quantity),
                        "unitPrice": str(item.unit_price),
                        "subtotal": str(item.subtotal),
                        "taxes": [
                            {"salesTaxId": t.sales_tax_id, "amount": str(t.amount)} for t in item.taxes
                        ],
                    }
                    for item in i.items
                ],
                "subtotal": str(i.subtotal),
                "discountTotal": str(i.discount_total),
                "taxTotal": str(i.tax_total),
                "total": str(i.total),
                "amountPaid": str(b.amount_paid(i)),
                "amountDue": str(cents(max(i.total - b.amount_paid(i), ZERO))),
                "paymentIds": list(i.payment_ids),
                "lastSentVia": i.sent_via,
                **dict(i.details.items()),
                **stamp(i),
            }
            for i in b.invoices.values()
        ],
        "payments": [
            {
                "id": p.id,
                "invoiceId": p.invoice_id,
                "paymentAccountId": p.account_id,
                "amount": str(p.amount),
                "paymentDate": p.payment_date.isoformat(),
                "paymentMethod": p.method,
                "memo": p.memo,
                **stamp(p),
            }
            for p in b.payments.values()
        ],
        "transactions": [
            {"id": t.id, "externalId": t.external_id, **t.body, **stamp(t)} for t in b.transactions.values()
        ],
    }
