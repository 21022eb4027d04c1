"""The business's documents as booksync receives them: customers, items, invoices, payments, refunds.

These are provider-neutral. Money is Decimal (design.md, rule 4). Adapters map them to each
provider's shapes; nothing here knows a provider's JSON.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from booksync import currency as iso


def _decimal_text(
    what: str, places: int, digits: int, example: str, *, positive: bool = False
) -> WithJsonSchema:
    """How a decimal is documented: the string form booksync asks for, with its decimals and
    digits (pydantic's own schema says only "number or string"). A JSON number is accepted too
    when it is exact, but a float such as 0.30000000000000004 is refused: strings are the form."""
    whole = digits - places
    sign = "" if positive else "-?"
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^{sign}\d{{1,{whole}}}(\.\d{{1,{places}}})?$",
            "description": f"{what}: a string with at most {places} decimals and {whole} digits "
            f'before the point, e.g. "{example}"',
            "examples": [example],
        }
    )


# The patterns of the fields from outside, each in one place (the door, the paths, and the
# validation errors that put them in words: api/field_errors.py).
DOC_ID_MAX = 100
# Underscores too: Square's refund ids carry one (``<payment id>_<suffix>``).
DOC_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{DOC_ID_MAX - 1}}}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

DocId = Annotated[
    str,
    StringConstraints(pattern=DOC_ID_PATTERN),
    Field(
        description=f"Your app's id: 1 to {DOC_ID_MAX} letters, digits and _ . : -, starting with "
        "a letter or digit"
    ),
]
Money = Annotated[
    Decimal, Field(max_digits=14, decimal_places=2), _decimal_text("An amount of money", 2, 14, "150.00")
]
Quantity = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=4),
    _decimal_text("A quantity, more than 0", 4, 14, "1.5", positive=True),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

# The dates the books take: accounting systems refuse (or misfile) years far outside these, so
# a typo like 0001-01-01 or 9999-12-31 is refused here rather than at sync.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2099, 12, 31)


# What booksync stored before a check was added is read back without it (``parse_stored``): the
# checks below refuse new input at the door, they never make a stored document unreadable.
_STORED = {"stored": True}


def _at_door(info: ValidationInfo) -> bool:
    return not (isinstance(info.context, dict) and info.context.get("stored"))


def _in_book_range(value: date, info: ValidationInfo) -> date:
    if _at_door(info) and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE} (YYYY-MM-DD), not {value}")
    return value


def _visible(value: str, info: ValidationInfo) -> str:
    # Categories C (control, format, unassigned) and Z (separators) show nothing on an invoice.
    if _at_door(info) and not any(unicodedata.category(char)[0] not in "CZ" for char in value):
        raise ValueError("must contain at least one visible character (letters, digits or signs)")
    return value


BookDate = Annotated[
    date,
    AfterValidator(_in_book_range),
    Field(description=f"A date, YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}", examples=["2026-12-01"]),
]
Name = Annotated[ShortText, AfterValidator(_visible)]


def _iso_4217(code: str, info: ValidationInfo) -> str:
    if _at_door(info) and not iso.is_currency(code):
        raise ValueError(f"{code!r} is not a currency in use; give {iso.EXPECTED_FORM}")
    return code


# The pattern first (its message says the form), then the code must be a currency in use.
CurrencyCode = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN), AfterValidator(_iso_4217)]


def _currency_of(info: ValidationInfo) -> str:
    """The invoice's currency, validated before its amounts (USD when it was itself refused)."""
    return str(info.data.get("currency", "USD"))


class DocumentKind(StrEnum):
    CUSTOMER = "customer"
    ITEM = "item"
    INVOICE = "invoice"
    PAYMENT = "payment"
    REFUND = "refund"
    # booksync's own (the billing memory, README "Billing memory"): never pushed to the books.
    ESTIMATE = "estimate"


# The kinds booksync pushes to accounting systems (an estimate is never one).
SYNCED_KINDS = tuple(kind for kind in DocumentKind if kind is not DocumentKind.ESTIMATE)


def marker(company_id: str, kind: DocumentKind, doc_id: str) -> str:
    """booksync's mark on what it writes for a document (QuickBooks: first in its PrivateNote)."""
    return f"booksync:{company_id}:{kind.value}:{doc_id}"


# booksync's own lengths (a provider's are in its declaration's text limits, checked at the door
# for a company whose books are with it: ``sync/records.py``).
NUMBER_MAX = 100  # an invoice's number
REFERENCE_MAX = 100  # a payment's or refund's reference (a cheque or transfer number)


class _Doc(BaseModel):
    # Built on first use: a function validates the few kinds its path touches, not all of them.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)
    # Fields added after documents of the kind were first stored: left out of the hash while unset,
    # so those documents keep their hash and never look edited.
    _hashed_when_set: ClassVar[tuple[str, ...]] = ()

    def content_hash(self) -> str:
        """Hash of what would be pushed: equal hashes mean nothing to send."""
        data = self.model_dump(mode="json")
        for name in self._hashed_when_set:
            if data[name] is None:
                del data[name]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class Address(_Doc):
    line1: Text | None = None
    line2: Text | None = None
    city: Text | None = None
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)] | None = None
    country: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None = None


class CustomerType(StrEnum):
    HOMEOWNER = "Homeowner"
    BUSINESS = "Business"
    BUILDER = "Builder"


class Customer(_Doc):
    id: DocId
    display_name: Name
    given_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    family_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    company_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    email: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, to_lower=True, pattern=EMAIL_PATTERN),
        ]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)] | None = None
    billing_address: Address | None = None
    # The post-connection wizard's type (booksync/onboarding/); booksync's own, never pushed.
    customer_type: CustomerType | None = None
    _hashed_when_set = ("customer_type",)


class ItemType(StrEnum):
    SERVICE = "service"
    NON_INVENTORY = "non_inventory"


class Item(_Doc):
    id: DocId
    name: Name
    type: ItemType = ItemType.SERVICE
    unit_price: Money = Decimal("0")
    unit_cost: Money | None = None
    description: Text | None = None
    sku: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    taxable: bool = True


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    PAID = "PAID"
    VOID = "VOID"


class Discount(_Doc):
    """An invoice-level discount, either a percentage of the subtotal or a fixed amount."""

    kind: Literal["percent", "amount"]
    value: Annotated[
        Decimal,
        Field(gt=0, max_digits=14, decimal_places=4),
        _decimal_text(
            "The percentage (percent, at most 100) or the amount (amount)", 4, 14, "10", positive=True
        ),
    ]

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> Discount:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("a percent discount cannot be over 100")
        return self


class InvoiceLine(_Doc):
    item_id: DocId
    description: Text | None = None
    quantity: Quantity = Decimal("1")
    unit_price: Money
    taxable: bool = True

    def amount_in(self, currency: str) -> Decimal:
        """Quantity x unit price, rounded to the currency's smallest unit."""
        return (self.quantity * self.unit_price).quantize(iso.unit(currency))


class _Billed(_Doc):
    """What an invoice and an estimate share: a customer, numbered lines, a discount and tax, and
    the total booksync computes from them (checked at the door alike)."""

    # The document's name in errors ("an invoice's total cannot be negative").
    _noun: ClassVar[str] = "invoice"

    id: DocId
    customer_id: DocId
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NUMBER_MAX)]
    status: InvoiceStatus = InvoiceStatus.DRAFT  # each kind's own statuses (Estimate's below)
    issue_date: BookDate
    # Before the amounts: their checks read it (fields are validated in this order).
    currency: CurrencyCode = "USD"
    lines: Annotated[list[InvoiceLine], Field(min_length=1, max_length=250)]
    discount: Discount | None = None
    tax_rate_percent: (
        Annotated[
            Decimal,
            Field(ge=0, le=100, max_digits=7, decimal_places=4),
            _decimal_text(
                "Sales tax in percent, 0 to 100, on the taxable lines", 4, 7, "8.25", positive=True
            ),
        ]
        | None
    ) = None
    memo: Text | None = None
    # booksync computes the total (``total`` below); an app that sends one has it checked, never
    # stored: one that disagrees with the lines is refused rather than silently replaced.
    stated_total: Money | None = Field(
        default=None,
        validation_alias="total",
        exclude=True,
        description="Optional. booksync computes the total from the lines, discount and tax; "
        "when given it must equal that total, else the document is refused (422).",
    )

    @field_validator("lines")
    @classmethod
    def _prices_fit_currency(cls, lines: list[InvoiceLine], info: ValidationInfo) -> list[InvoiceLine]:
        code = _currency_of(info)
        for index, line in enumerate(lines):
            if _at_door(info) and not iso.fits(line.unit_price, code):
                raise ValueError(iso.too_precise(f"line {index + 1}'s unit_price", line.unit_price, code))
        return lines

    @field_validator("discount")
    @classmethod
    def _discount_fits_currency(cls, discount: Discount | None, info: ValidationInfo) -> Discount | None:
        code = _currency_of(info)
        if discount is None or discount.kind != "amount" or not _at_door(info):
            return discount
        if not iso.fits(discount.value, code):
            raise ValueError(iso.too_precise("the discount", discount.value, code))
        return discount

    @field_validator("lines")
    @classmethod
    def _lines_not_negative(cls, value: list[InvoiceLine], info: ValidationInfo) -> list[InvoiceLine]:
        # Field validators (not a model one) so that a 422 names the field.
        subtotal = sum((line.amount_in(_currency_of(info)) for line in value), Decimal("0"))
        if _at_door(info) and subtotal < 0:
            raise ValueError(
                f"the lines add up to {subtotal}; an {cls._noun}'s total cannot be negative "
                f"(money owed to the customer is a credit note or a refund, not an {cls._noun})"
            )
        return value

    @field_validator("discount")
    @classmethod
    def _discount_within_subtotal(cls, value: Discount | None, info: ValidationInfo) -> Discount | None:
        lines = info.data.get("lines")
        if value is None or value.kind != "amount" or lines is None or not _at_door(info):
            return value
        subtotal = sum((line.amount_in(_currency_of(info)) for line in lines), Decimal("0"))
        if value.value > subtotal:
            raise ValueError(
                f"a fixed discount of {value.value} is more than the lines' subtotal {subtotal}; "
                f"give at most {subtotal}, or a percent discount"
            )
        return value

    @model_validator(mode="after")
    def _total_not_negative(self, info: ValidationInfo) -> Self:
        # Reached only with negative taxable lines beside larger untaxed ones (tax below zero).
        if _at_door(info) and self.total < 0:
            noun = self._noun
            raise ValueError(
                f"lines: the {noun}'s total would be {self.total}; an {noun}'s total cannot be negative"
            )
        return self

    @field_validator("stated_total")
    @classmethod
    def _stated_total_agrees(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        # A field validator (declared last, so the other fields are in info.data) that names ``total``.
        if value is None or "lines" not in info.data:
            return value
        computed = cls.model_construct(**info.data)  # the totals read lines, discount, tax
        if value != computed.total:
            parts_text = ", ".join(
                f"{name} {amount:.2f}"
                for name, amount in (
                    ("subtotal", computed.subtotal),
                    ("discount", computed.discount_amount),
                    ("tax", computed.tax_amount),
                )
            )
            raise PydanticCustomError(
                "total_mismatch",
                "is {stated}, but the lines make {computed} ({parts}): booksync computes the total itself",
                {
                    "stated": f"{value:.2f}",
                    "computed": f"{computed.total:.2f}",
                    "parts": parts_text,
                    "fix": "Leave total out (booksync computes it), or correct the lines, discount or "
                    f"tax_rate_percent so that they make {value:.2f}.",
                },
            )
        return value

    def line_amount(self, line: InvoiceLine) -> Decimal:
        return line.amount_in(self.currency)

    @property
    def subtotal(self) -> Decimal:
        return sum((self.line_amount(line) for line in self.lines), Decimal("0"))

    @property
    def discount_amount(self) -> Decimal:
        if self.discount is None:
            return Decimal("0")
        if self.discount.kind == "amount":
            return min(self.discount.value, self.subtotal).quantize(iso.unit(self.currency))
        return (self.subtotal * self.discount.value / 100).quantize(iso.unit(self.currency))

    @property
    def tax_amount(self) -> Decimal:
        """Sales tax on taxable lines, applied after the discount (pro rata)."""
        if not self.tax_rate_percent:
            return Decimal("0")
        taxable = sum((self.line_amount(ln) for ln in self.lines if ln.taxable), Decimal("0"))
        if self.subtotal:
            taxable -= self.discount_amount * taxable / self.subtotal
        return (taxable * self.tax_rate_percent / 100).quantize(iso.unit(self.currency))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount_amount + self.tax_amount

    @property
    def item_ids(self) -> list[str]:
        return list(dict.fromkeys(line.item_id for line in self.lines))


class Invoice(_Billed):
    due_date: BookDate | None = None

    @model_validator(mode="after")
    def _due_not_before_issue(self) -> Invoice:
        if self.due_date is not None and self.due_date < self.issue_date:
            raise ValueError("due_date cannot be before issue_date")
        return self


class EstimateStatus(StrEnum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class EstimateLine(InvoiceLine):
    """An invoice's line, with what the work or goods cost the business where it is known (the
    memory's markup over cost: README "Billing memory")."""

    unit_cost: Money | None = None


class Estimate(_Billed):
    """A priced proposal to a customer: booksync keeps it for the billing memory and never pushes
    it to an accounting system."""

    _noun: ClassVar[str] = "estimate"

    status: EstimateStatus = EstimateStatus.DRAFT  # type: ignore[assignment]
    lines: Annotated[list[EstimateLine], Field(min_length=1, max_length=250)]  # type: ignore[assignment]
    valid_until: BookDate | None = None

    @field_validator("valid_until")
    @classmethod
    def _valid_after_issue(cls, value: date | None, info: ValidationInfo) -> date | None:
        # A field validator (not a model one) so that a 422 names the field.
        issued = info.data.get("issue_date")
        if value is not None and issued is not None and value < issued:
            raise ValueError(f"cannot be before issue_date ({issued}); give the last day the estimate holds")
        return value

    @field_validator("lines")
    @classmethod
    def _costs_fit_currency(cls, lines: list[EstimateLine], info: ValidationInfo) -> list[EstimateLine]:
        code = _currency_of(info)
        for index, line in enumerate(lines):
            if _at_door(info) and line.unit_cost is not None and not iso.fits(line.unit_cost, code):
                raise ValueError(iso.too_precise(f"line {index + 1}'s unit_cost", line.unit_cost, code))
        return lines


class PaymentMethod(StrEnum):
    CASH = "cash"
    CHECK = "check"
    CREDIT_CARD = "credit_card"
    BANK_TRANSFER = "bank_transfer"
    OTHER = "other"


Cents = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=2),
    _decimal_text("An amount of money, more than 0", 2, 14, "150.00", positive=True),
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, max_length=REFERENCE_MAX)]


class Application(_Doc):
    """The part of a payment applied to one invoice."""

    invoice_id: DocId
    amount: Cents


class Payment(_Doc):
    """Money received: on one invoice (``invoice_id``) or spread over several (``applications``)."""

    id: DocId
    invoice_id: DocId | None = None
    amount: Cents
    # Checked even when absent (validate_default): one of the two forms must be given.
    # At most 99 invoices: the payment and its invoices are written in one DynamoDB transaction
    # (100 rows at most).
    applications: Annotated[list[Application], Field(min_length=1, max_length=99)] | None = Field(
        default=None, validate_default=True
    )
    date: BookDate
    method: PaymentMethod = PaymentMethod.OTHER
    reference: Reference | None = None
    memo: Text | None = None
    # The payment's currency; absent: its invoices'. Given, it must be theirs (checked on receipt).
    currency: CurrencyCode | None = None
    # The single form's invoice_id or the split form's applications, whichever is unused.
    _hashed_when_set = ("invoice_id", "applications", "currency")

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"))

    @field_validator("applications")
    @classmethod
    def _applied_once(cls, value: list[Application] | None, info: ValidationInfo) -> list[Application] | None:
        # A field validator (not a model one) so that a 422 names the field.
        if value is None:
            # (An invoice_id that failed its own check is absent from info.data: one error is enough.)
            if "invoice_id" in info.data and info.data["invoice_id"] is None:
                raise ValueError(
                    "give invoice_id (one invoice) or applications (a list of {invoice_id, amount})"
                )
            return value
        if info.data.get("invoice_id") is not None:
            raise ValueError("give invoice_id or applications, not both")
        ids = [a.invoice_id for a in value]
        if len(set(ids)) != len(ids):
            raise ValueError("each invoice may appear only once")
        applied = sum((a.amount for a in value), Decimal("0"))
        amount = info.data.get("amount")
        if amount is not None and applied != amount:
            raise ValueError(f"the amounts add up to {applied}, not the payment amount {amount}")
        return value

    @property
    def applied(self) -> list[Application]:
        """Every invoice the payment pays and how much of it (the single form is one application)."""
        if self.applications is not None:
            return list(self.applications)
        assert self.invoice_id is not None  # the validator guarantees one of the two
        return [Application(invoice_id=self.invoice_id, amount=self.amount)]

    @property
    def invoice_ids(self) -> list[str]:
        return [a.invoice_id for a in self.applied]


def payment_invoice_ids(body: dict[str, object]) -> list[str]:
    """The invoices a stored payment body applies to (either form), without parsing it whole."""
    return list(payment_applied(body))


def payment_applied(body: dict[str, object]) -> dict[str, Decimal]:
    """What a stored payment body applies to each invoice (either form), without parsing it whole."""
    applications = body.get("applications")
    if isinstance(applications, list):
        return {str(a["invoice_id"]): Decimal(str(a["amount"])) for a in applications if isinstance(a, dict)}
    return {str(body["invoice_id"]): Decimal(str(body["amount"]))} if body.get("invoice_id") else {}


class Refund(_Doc):
    """Money given back on a payment; never more, with the payment's other refunds, than it."""

    id: DocId
    payment_id: DocId
    amount: Cents
    date: BookDate
    reason: Text | None = None
    reference: Reference | None = None
    # The refund's currency; absent: its payment's. Given, it must be the payment's.
    currency: CurrencyCode | None = None
    _hashed_when_set = ("currency",)

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"))


Document = Customer | Item | Invoice | Payment | Refund | Estimate

MODEL_BY_KIND: dict[DocumentKind, type[_Doc]] = {
    DocumentKind.CUSTOMER: Customer,
    DocumentKind.ITEM: Item,
    DocumentKind.INVOICE: Invoice,
    DocumentKind.PAYMENT: Payment,
    DocumentKind.REFUND: Refund,
    DocumentKind.ESTIMATE: Estimate,
}


def parse_stored(kind: DocumentKind, body: object) -> _Doc:
    """A document as booksync stored it: read back as it was accepted, without checks added to
    the door since (a stored invoice dated 0001-01-01 still syncs, or fails, as before)."""
    return MODEL_BY_KIND[kind].model_validate(body, context=_STORED)
