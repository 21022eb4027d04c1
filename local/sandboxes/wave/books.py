"""The sandbox user's Wave businesses and their books: chart of accounts, customers, products, sales
taxes, invoices, invoice payments and money transactions, with Wave's rules on what may be written.

A write answers the record, or raises ``InputErrors`` (a mutation's ``didSucceed: false`` with its
``inputErrors``) or ``Missing`` (the record a mutation targets does not exist: a ``NOT_FOUND``
error). Where neither Wave's documentation nor the wave-mcp-server operations say what Wave does,
the rule is marked "(assumed)" and listed in README.md.
"""

from __future__ import annotations

import base64
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Only businesses with an active Wave Pro or Wave Advisors subscription can be authorized, and
# Wave is US/Canada only: USD or CAD (providers.md 4).
PAID_PLANS = ("pro", "advisors")
PLANS = ("starter", "pro", "advisors")
SUPPORTED_CURRENCIES = ("USD", "CAD")
# The refusals' stable codes (the consent's error_description and the API's extensions.reason).
PLAN_REQUIRED = "business_plan_required"
CURRENCY_UNSUPPORTED = "business_currency_unsupported"

# Wave's account subtypes: value -> (name, type, archivable, system created).
SUBTYPES: dict[str, tuple[str, str, bool, bool]] = {
    "CASH_AND_BANK": ("Cash and Bank", "ASSET", True, False),
    "MONEY_IN_TRANSIT": ("Money in Transit", "ASSET", True, False),
    "CURRENT_ASSET": ("Other Short-Term Asset", "ASSET", True, False),
    "INVENTORY": ("Inventory", "ASSET", True, False),
    "NON_CURRENT_ASSET": ("Other Long-Term Asset", "ASSET", True, False),
    "PROPERTY_PLANT_EQUIPMENT": ("Property, Plant, Equipment", "ASSET", True, False),
    "DEPRECIATION_AND_AMORTIZATION": ("Depreciation and Amortization", "ASSET", True, False),
    "VENDOR_PREPAYMENTS_AND_CREDITS": ("Vendor Prepayments and Vendor Credits", "ASSET", True, False),
    "SYSTEM_RECEIVABLE": ("Accounts Receivable", "ASSET", False, True),
    "CREDIT_CARD": ("Credit Card", "LIABILITY", True, False),
    "LOANS": ("Loan and Line of Credit", "LIABILITY", True, False),
    "CURRENT_LIABILITY": ("Other Short-Term Liability", "LIABILITY", True, False),
    "NON_CURRENT_LIABILITY": ("Other Long-Term Liability", "LIABILITY", True, False),
    "SALES_TAX": ("Sales Taxes", "LIABILITY", False, True),
    "DUE_FOR_PAYROLL": ("Due For Payroll", "LIABILITY", True, False),
    "DUE_TO_YOU_AND_OTHER_OWNERS": ("Due to You and Other Business Owners", "LIABILITY", True, False),
    "CUSTOMER_PREPAYMENTS_AND_CREDITS": (
        "Customer Prepayments and Customer Credits",
        "LIABILITY",
        True,
        False,
    ),
    "SYSTEM_PAYABLE": ("Accounts Payable", "LIABILITY", False, True),
    "OWNERS_EQUITY": ("Business Owner Contribution and Drawing", "EQUITY", True, False),
    "RETAINED_EARNINGS": ("Retained Earnings: Profit", "EQUITY", False, True),
    "INCOME": ("Income", "INCOME", True, False),
    "DISCOUNTS": ("Discount", "INCOME", True, False),
    "OTHER_INCOME": ("Other Income", "INCOME", True, False),
    "UNCATEGORIZED_INCOME": ("Uncategorized Income", "INCOME", False, True),
    "GAIN_ON_FOREIGN_EXCHANGE": ("Gain On Foreign Exchange", "INCOME", False, True),
    "COST_OF_GOODS_SOLD": ("Cost of Goods Sold", "EXPENSE", True, False),
    "EXPENSE": ("Operating Expense", "EXPENSE", True, False),
    "OPERATING_EXPENSE": ("Operating Expense", "EXPENSE", True, False),
    "PAYMENT_PROCESSING_FEES": ("Payment Processing Fee", "EXPENSE", True, False),
    "PAYROLL_EXPENSES": ("Payroll Expense", "EXPENSE", True, False),
    "UNCATEGORIZED_EXPENSE": ("Uncategorized Expense", "EXPENSE", False, True),
    "LOSS_ON_FOREIGN_EXCHANGE": ("Loss On Foreign Exchange", "EXPENSE", False, True),
    "TRANSFERS": ("Transfer Clearing", "ASSET", False, True),
}
NORMAL_BALANCE = {
    "ASSET": "DEBIT",
    "EXPENSE": "DEBIT",
    "LIABILITY": "CREDIT",
    "EQUITY": "CREDIT",
    "INCOME": "CREDIT",
}
# A product sells into these subtypes (Wave: "Mutation: Create product/service").
SELLING_SUBTYPES = ("INCOME", "DISCOUNTS", "OTHER_INCOME")
# A new business's chart of accounts (name, subtype).
STARTER_ACCOUNTS = (
    ("Cash on Hand", "CASH_AND_BANK"),
    ("Business Checking", "CASH_AND_BANK"),
    ("Business Credit Card", "CREDIT_CARD"),
    ("Accounts Receivable", "SYSTEM_RECEIVABLE"),
    ("Accounts Payable", "SYSTEM_PAYABLE"),
    ("Sales Tax Payable", "SALES_TAX"),
    ("Owner Investment / Drawings", "OWNERS_EQUITY"),
    ("Sales", "INCOME"),
    ("Consulting Income", "INCOME"),
    ("Discounts", "DISCOUNTS"),
    ("Uncategorized Income", "UNCATEGORIZED_INCOME"),
    ("Office Supplies", "OPERATING_EXPENSE"),
    ("Uncategorized Expense", "UNCATEGORIZED_EXPENSE"),
)
PAYMENT_METHODS = ("BANK_TRANSFER", "CASH", "CHEQUE", "CREDIT_CARD", "OTHER", "PAYPAL", "UNSPECIFIED")


class InputErrors(Exception):
    """A mutation Wave refuses: ``didSucceed: false`` and these ``inputErrors``."""

    def __init__(self, *errors: tuple[str, str, list[str]]) -> None:
        super().__init__("; ".join(message for _, message, _ in errors))
        self.errors = [{"code": code, "message": message, "path": path} for code, message, path in errors]


def refuse(code: str, message: str, *path: str) -> InputErrors:
    return InputErrors((code, message, ["input", *path]))


class Missing(LookupError):
    """The record a call names does not exist (in a business the caller may see): NOT_FOUND."""


# ------------------------------------------------------------------ ids


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def business_id_of(record_id: str) -> str | None:
    """The business an id belongs to: Wave's ids are opaque base64 of ``Business:<uuid>[;Kind:<n>]``."""
    try:
        decoded = base64.b64decode(record_id.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    head = decoded.split(";", 1)[0]
    return _b64(head) if head.startswith("Business:") else None


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_of(value: object, *path: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise refuse("INVALID", f"{path[-1]} must be a decimal number", *path) from None
    if not number.is_finite():
        raise refuse("INVALID", f"{path[-1]} must be a decimal number", *path)
    return number


# ------------------------------------------------------------------ records


@dataclass
class Stamped:
    id: str
    created: datetime
    modified: datetime


@dataclass
class Account(Stamped):
    name: str
    subtype: str
    currency: str
    description: str | None = None
    display_id: str | None = None
    archived: bool = False
    sequence: int = 1

    @property
    def type(self) -> str:
        return SUBTYPES[self.subtype][1]


@dataclass
class Customer(Stamped):
    name: str
    currency: str | None
    details: dict[str, Any] = field(default_factory=dict)  # firstName, email, address, ... as sent
    archived: bool = False


@dataclass
class SalesTax(Stamped):
    name: str
    abbreviation: str
    rate: Decimal
    details: dict[str, Any] = field(default_factory=dict)
    archived: bool = False


@dataclass
class Product(Stamped):
    name: str
    unit_price: Decimal
    description: str | None = None
    income_account_id: str | None = None
    expense_account_id: str | None = None
    sales_tax_ids: list[str] = field(default_factory=list)
    archived: bool = False


@dataclass
class ItemTax:
    sales_tax_id: str
    amount: Decimal
    rate: Decimal


@dataclass
class Item:
    product_id: str
    description: str | None
    quantity: Decimal
    unit_price: Decimal
    account_id: str | None
    taxes: list[ItemTax]

    @property
    def subtotal(self) -> Decimal:
        return cents(self.quantity * self.unit_price)

    @property
    def tax(self) -> Decimal:
        return sum((tax.amount for tax in self.taxes), ZERO)


@dataclass
class Discount:
    kind: str  # FIXED | PERCENTAGE
    name: str | None
    value: Decimal

    def amount(self, subtotal: Decimal) -> Decimal:
        return cents(self.value if self.kind == "FIXED" else subtotal * self.value / 100)


@dataclass
class Payment(Stamped):
    invoice_id: str
    account_id: str
    amount: Decimal
    payment_date: date
    method: str
    memo: str | None = None
    exchange_rate: Decimal | None = None


@dataclass
class Invoice(Stamped):
    customer_id: str
    number: str
    currency: str
    invoice_date: date
    due_date: date
    items: list[Item]
    approved: bool
    details: dict[str, Any] = field(default_factory=dict)  # title, memo, flags ... as sent
    discounts: list[Discount] = field(default_factory=list)
    exchange_rate: Decimal | None = None
    sent_at: datetime | None = None
    sent_via: str | None = None
    viewed_at: datetime | None = None
    payment_ids: list[str] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((item.subtotal for item in self.items), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((item.tax for item in self.items), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((discount.amount(self.subtotal) for discount in self.discounts), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount_total + self.tax_total


@dataclass
class MoneyTransaction(Stamped):
    external_id: str
    body: dict[str, Any]


# ------------------------------------------------------------------ a business


@dataclass
class Business:
    id: str
    name: str
    currency: str
    country: str
    plan: str
    created: datetime
    modified: datetime
    archived: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    accounts: dict[str, Account] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    sales_taxes: dict[str, SalesTax] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    transactions: dict[str, MoneyTransaction] = field(default_factory=dict)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _invoice_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def eligibility(self) -> tuple[str, str] | None:
        """Why an app may not be authorized for this business: (code, sentence), or None."""
        if self.plan not in PAID_PLANS:
            return PLAN_REQUIRED, (
                f'The business "{self.name}" cannot be connected: apps can be authorized only for '
                "businesses with an active Wave Pro or Wave Advisors subscription."
            )
        if self.currency not in SUPPORTED_CURRENCIES:
            return CURRENCY_UNSUPPORTED, (
                f'The business "{self.name}" cannot be connected: its currency is {self.currency}, '
                "and apps can be authorized only for USD or CAD businesses."
            )
        return None

    def new_id(self, kind: str) -> str:
        head = base64.b64decode(self.id.encode()).decode()
        return _b64(f"{head};{kind}:{next(self._serial)}")

    def next_invoice_number(self) -> str:
        numbers = {invoice.number for invoice in self.invoices.values()}
        while True:
            candidate = str(next(self._invoice_numbers))
            if candidate not in numbers:
                return candidate

    def payments_of(self, invoice: Invoice) -> list[Payment]:
        return [self.payments[pid] for pid in invoice.payment_ids if pid in self.payments]

    def amount_paid(self, invoice: Invoice) -> Decimal:
        return sum((payment.amount for payment in self.payments_of(invoice)), ZERO)

    def status(self, invoice: Invoice, today: date) -> str:
        """Wave's invoice status, derived: DRAFT until approved, then by payments, due date and sending."""
        if not invoice.approved:
            return "DRAFT"
        paid, total = self.amount_paid(invoice), invoice.total
        if paid > total:
            return "OVERPAID"
        if paid == total and (total > 0 or invoice.payment_ids):
            return "PAID"
        if paid > 0:
            return "PARTIAL"
        if invoice.due_date < today:
            return "OVERDUE"
        if invoice.viewed_at is not None:
            return "VIEWED"
        if invoice.sent_at is not None:
            return "SENT"
        return "SAVED"

    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        return [invoice for invoice in self.invoices.values() if invoice.customer_id == customer_id]


class Businesses:
    """Every business of the sandbox's one Wave user."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.lock = threading.Lock()
        self._by_id: dict[str, Business] = {}

    def reset(self, specs: Iterable[dict[str, str]]) -> None:
        with self.lock:
            self._by_id.clear()
        for spec in specs:
            self.add(**spec)

    def add(
        self, name: str, currency: str = "USD", plan: str = "pro", country: str | None = None
    ) -> Business:
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {PLANS}")
        now = self.now()
        business = Business(
            _b64(f"Business:{uuid.uuid4()}"),
            name,
            currency,
            country or ("CA" if currency == "CAD" else "US"),
            plan,
            now,
            now,
        )
        for account_name, subtype in STARTER_ACCOUNTS:
            account_id = business.new_id("Account")
            business.accounts[account_id] = Account(account_id, now, now, account_name, subtype, currency)
        with self.lock:
            self._by_id[business.id] = business
        return business

    def get(self, business_id: str) -> Business | None:
        with self.lock:
            return self._by_id.get(business_id)

    def all(self) -> list[Business]:
        with self.lock:
            return list(self._by_id.values())

    def owning(self, record_id: str) -> Business | None:
        owner = business_id_of(record_id)
        return self.get(owner) if owner else None
