"""The organisations (tenants) and their books: accounts, contacts, items, invoices, payments and
credit notes, kept in Xero's own JSON shapes with Xero's rules on what may be written.

Each write answers the element as Xero echoes it, or raises ``Invalid`` with Xero's validation
messages; ``accounting.py`` turns those into a 400 ``ValidationException`` or, with
``summarizeErrors=false``, into the element's ``ValidationErrors``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Tax rates of a sandbox organisation, by TaxType.
TAX_RATES = {"NONE": Decimal(0), "EXEMPTOUTPUT": Decimal(0), "OUTPUT": Decimal(10), "TAX001": Decimal(10)}
SALES_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
# Moves Xero allows an ACCREC invoice (PAID is reached by payments, never written).
TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"SUBMITTED", "DRAFT", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": set(),
    "VOIDED": set(),
    "DELETED": set(),
}


class Invalid(Exception):
    """An element Xero refuses: its validation messages."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def money(value: object, name: str) -> Decimal:
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise Invalid(f"{name} must be a number") from None


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def msdate(moment: datetime) -> str:
    """Xero's JSON dates: ``/Date(<ms since epoch>+0000)/``."""
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def day(value: object, name: str) -> date:
    """A date as Xero reads one: ``2026-12-06``, ``2026-12-06T00:00:00`` or ``/Date(ms+0000)/``."""
    text = str(value)
    try:
        if text.startswith("/Date("):
            millis = int(text[6:].split("+", maxsplit=1)[0].split("-", maxsplit=1)[0].rstrip(")/"))
            return datetime.fromtimestamp(millis / 1000, UTC).date()
        return date.fromisoformat(text[:10])
    except ValueError:
        raise Invalid(f"{name} is not a valid date") from None


def day_json(value: date) -> str:
    return msdate(datetime(value.year, value.month, value.day, tzinfo=UTC))


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Record:
    """One stored object: its JSON as Xero answers it and when it last changed."""

    body: dict[str, Any]
    updated: datetime = field(default_factory=_now)

    def touch(self) -> None:
        self.updated = _now()
        self.body["UpdatedDateUTC"] = msdate(self.updated)


@dataclass
class Event:
    """What a webhook announces: a contact or invoice created or updated."""

    category: str  # CONTACT | INVOICE
    kind: str  # CREATE | UPDATE
    resource_id: str
    tenant_id: str
    at: datetime = field(default_factory=_now)


def _default_accounts() -> list[dict[str, Any]]:
    def account(code: str, name: str, kind: str, cls: str, **extra: Any) -> dict[str, Any]:
        return {
            "AccountID": str(uuid.uuid4()),
            "Code": code,
            "Name": name,
            "Type": kind,
            "Status": "ACTIVE",
            "Class": cls,
            "TaxType": "NONE",
            "EnablePaymentsToAccount": extra.pop("EnablePaymentsToAccount", False),
            "ShowInExpenseClaims": False,
            "HasAttachments": False,
            **extra,
        }

    return [
        account(
            "090",
            "Business Bank Account",
            "BANK",
            "ASSET",
            BankAccountNumber="0901234567",
            BankAccountType="BANK",
            CurrencyCode="USD",
        ),
        account(
            "091",
            "Business Savings Account",
            "BANK",
            "ASSET",
            BankAccountNumber="0917654321",
            BankAccountType="BANK",
            CurrencyCode="USD",
        ),
        account("200", "Sales", "REVENUE", "REVENUE"),
        account("260", "Other Revenue", "REVENUE", "REVENUE"),
        account("400", "Advertising", "EXPENSE", "EXPENSE"),
        account("610", "Accounts Receivable", "CURRENT", "ASSET", SystemAccount="DEBTORS"),
        account("620", "Prepayments", "CURRENT", "ASSET"),
        account("855", "Clearing Account", "CURRLIAB", "LIABILITY", EnablePaymentsToAccount=True),
    ]


class Organisation:
    """One tenant and its books."""

    def __init__(self, name: str, tenant_id: str | None = None, currency: str = "USD") -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.name = name
        self.currency = currency
        self.short_code = "!" + self.tenant_id[:5]
        self.lock = threading.RLock()
        self.accounts = {a["AccountID"]: Record(a) for a in _default_accounts()}
        for record in self.accounts.values():
            record.touch()
        self.contacts: dict[str, Record] = {}
        self.items: dict[str, Record] = {}
        self.invoices: dict[str, Record] = {}
        self.payments: dict[str, Record] = {}
        self.credit_notes: dict[str, Record] = {}
        self.events: list[Event] = []
        self.invoice_seq = 0
        self.credit_seq = 0

    def public(self) -> dict[str, Any]:
        return {
            "OrganisationID": self.tenant_id,
            "APIKey": "",
            "Name": self.name,
            "LegalName": self.name,
            "PaysTax": True,
            "Version": "US",
            "OrganisationType": "COMPANY",
            "BaseCurrency": self.currency,
            "CountryCode": "US",
            "IsDemoCompany": False,
            "OrganisationStatus": "ACTIVE",
            "FinancialYearEndDay": 31,
            "FinancialYearEndMonth": 12,
            "SalesTaxBasis": "ACCRUALS",
            "SalesTaxPeriod": "MONTHLY",
            "DefaultSalesTax": "Tax Exclusive",
            "DefaultPurchasesTax": "Tax Exclusive",
            "Timezone": "EASTERNSTANDARDTIME",
            "OrganisationEntityType": "COMPANY",
            "ShortCode": self.short_code,
            "Edition": "BUSINESS",
            "Class": "STANDARD",
        }

    def _event(self, category: str, kind: str, resource_id: str) -> None:
        self.events.append(Event(category, kind, resource_id, self.tenant_id))

    # ------------------------------------------------------------ accounts

    def account(self, ref: dict[str, Any] | None, name: str = "Account") -> Record:
        if not isinstance(ref, dict):
            raise Invalid(f"{name} is required (AccountID or Code)")
        for record in self.accounts.values():
            if ref.get("AccountID") == record.body["AccountID"] or (
                ref.get("Code") is not None and ref.get("Code") == record.body.get("Code")
            ):
                return record
        raise Invalid(f"{name} could not be found")

    # ------------------------------------------------------------ contacts

    def contact_by_name(self, name: str) -> Record | None:
        wanted = name.strip().lower()
        return next(
            (
                r
                for r in self.contacts.values()
                if r.body["Name"].strip().lower() == wanted and r.body["ContactStatus"] == "ACTIVE"
            ),
            None,
        )

    def find(self, records: dict[str, Record], key: str, value: object) -> Record | None:
        return next((r for r in records.values() if value is not None and r.body.get(key) == value), None)

    def save_contact(
        self, element: dict[str, Any], contact_id: str | None = None, *, match: bool = True
    ) -> dict[str, Any]:
        """Create, or update the contact named by ContactID (or ``contact_id``) or, with ``match``
        (POST), by ContactNumber."""
        wanted = contact_id or element.get("ContactID")
        record = (
            self.contacts.get(wanted)
            if wanted
            else self.find(self.contacts, "ContactNumber", element.get("ContactNumber") if match else None)
        )
        if wanted and record is None:
            raise Invalid(f"The contact with ContactID {wanted} could not be found")
        name = element.get("Name", record.body["Name"] if record else None)
        problems = []
        if not isinstance(name, str) or not name.strip():
            problems.append("The contact name must be specified")
        elif len(name) > 255:
            problems.append("The contact name must not exceed 255 characters")
        else:
            same = self.contact_by_name(name)
            if same is not None and same is not record:
                problems.append(
                    f"The contact name {name} is already assigned to another contact. "
                    "The contact name must be unique across all active contacts."
                )
        number = element.get("ContactNumber")
        if isinstance(number, str) and len(number) > 50:
            problems.append("The ContactNumber must not exceed 50 characters")
        status = element.get("ContactStatus", record.body["ContactStatus"] if record else "ACTIVE")
        if status not in {"ACTIVE", "ARCHIVED"}:
            problems.append("ContactStatus must be ACTIVE or ARCHIVED")
        if problems:
            raise Invalid(*problems)
        kept = {k: v for k, v in element.items() if k in CONTACT_FIELDS}
        if record is None:
            body: dict[str, Any] = {
                "ContactID": str(uuid.uuid4()),
                "ContactStatus": "ACTIVE",
                "Addresses": [],
                "Phones": [],
                "ContactGroups": [],
                "ContactPersons": [],
                "HasValidationErrors": False,
                "IsSupplier": False,
                "IsCustomer": False,
                **kept,
            }
            record = Record(body)
            self.contacts[body["ContactID"]] = record
            kind = "CREATE"
        else:
            record.body.update(kept)
            kind = "UPDATE"
        record.touch()
        self._event("CONTACT", kind, record.body["ContactID"])
        return record.body

    # ------------------------------------------------------------ items

    def save_item(
        self, element: dict[str, Any], item_id: str | None = None, *, match: bool = True
    ) -> dict[str, Any]:
        wanted = item_id or element.get("ItemID")
        record = (
            self.items.get(wanted)
            if wanted
            else self.find(self.items, "Code", element.get("Code") if match else None)
        )
        if wanted and record is None:
            raise Invalid(f"The item with ItemID {wanted} could not be found")
        code = element.get("Code", record.body["Code"] if record else None)
        name = element.get("Name", record.body.get("Name") if record else None)
        problems = []
        if not isinstance(code, str) or not code.strip():
            problems.append("Item code must be specified")
        elif len(code) > 30:
            problems.append("The Code must not exceed 30 characters")
        elif (other := self.find(self.items, "Code", code)) is not None and other is not record:
            problems.append(f"Item code '{code}' already exists")
        if isinstance(name, str) and len(name) > 50:
            problems.append("The Name must not exceed 50 characters")
        for details in ("SalesDetails", "PurchaseDetails"):
            code_ = (element.get(details) or {}).get("AccountCode")
            if code_ is not None and self.find(self.accounts, "Code", code_) is None:
                problems.append(f"Account code '{code_}' is not a valid code for this document.")
        if problems:
            raise Invalid(*problems)
        kept = {k: v for k, v in element.items() if k in ITEM_FIELDS}
        if record is None:
            body: dict[str, Any] = {
                "ItemID": str(uuid.uuid4()),
                "IsSold": True,
                "IsPurchased": False,
                "IsTrackedAsInventory": False,
                **kept,
            }
            record = Record(body)
            self.items[body["ItemID"]] = record
        else:
            record.body.update(kept)
        record.touch()
        return record.body

    # ------------------------------------------------------------ invoices and credit notes

    def _contact_ref(self, ref: object) -> dict[str, Any]:
        if not isinstance(ref, dict):
            raise Invalid("A Contact must be specified for this type of transaction")
        if ref.get("ContactID"):
            record = self.contacts.get(ref["ContactID"])
            if record is None:
                raise Invalid(f"The contact with ContactID {ref['ContactID']} could not be found")
        elif ref.get("ContactNumber") and (
            found := self.find(self.contacts, "ContactNumber", ref["ContactNumber"])
        ):
            record = found
        elif isinstance(ref.get("Name"), str) and ref["Name"].strip():
            record = (
                self.contact_by_name(ref["Name"])
                or self.contacts[self.save_contact({"Name": ref["Name"]})["ContactID"]]
            )
        else:
            raise Invalid("A Contact must be specified for this type of transaction")
        if record.body["ContactStatus"] != "ACTIVE":
            raise Invalid("The contact is archived")
        return {k: record.body[k] for k in ("ContactID", "Name") if k in record.body}

    def _lines(self, lines: object, amount_types: str) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        if not isinstance(lines, list):
            raise Invalid("LineItems must be a list")
        problems: list[str] = []
        out, subtotal, tax = [], ZERO, ZERO
        for line in lines:
            if not isinstance(line, dict):
                raise Invalid("A line item must be an object")
            quantity = money(line.get("Quantity", 1), "Quantity")
            unit = money(line.get("UnitAmount", 0), "UnitAmount")
            gross = quantity * unit
            if line.get("DiscountRate") is not None:
                gross = gross * (Decimal(100) - money(line["DiscountRate"], "DiscountRate")) / Decimal(100)
            if line.get("DiscountAmount") is not None:
                gross -= money(line["DiscountAmount"], "DiscountAmount")
            amount = cents(gross)
            if (
                line.get("LineAmount") is not None
                and cents(money(line["LineAmount"], "LineAmount")) != amount
            ):
                problems.append(
                    f"The line total {cents(money(line['LineAmount'], 'LineAmount'))} does not match "
                    f"the expected line total {amount}"
                )
            item = line.get("ItemCode")
            if item is not None and self.find(self.items, "Code", item) is None:
                problems.append(f"Item code '{item}' is not valid")
            code = line.get("AccountCode")
            if code is None and item is not None and (found := self.find(self.items, "Code", item)):
                code = (found.body.get("SalesDetails") or {}).get("AccountCode")
            if code is not None and self.find(self.accounts, "Code", code) is None:
                problems.append(f"Account code '{code}' is not a valid code for this document.")
            tax_type = line.get("TaxType", "NONE" if amount_types == "NoTax" else "OUTPUT")
            if amount_types == "NoTax":
                tax_type = "NONE"
            if tax_type not in TAX_RATES:
                problems.append(
                    f"The TaxType code {tax_type} does not exist or cannot be used "
                    "for this type of transaction."
                )
                continue
            rate = TAX_RATES[tax_type]
            if amount_types == "Inclusive":
                line_tax = cents(amount * rate / (Decimal(100) + rate))
                net = amount - line_tax
            else:
                line_tax = cents(amount * rate / Decimal(100))
                net = amount
            subtotal += net
            tax += line_tax
            kept = {k: v for k, v in line.items() if k in LINE_FIELDS}
            out.append(
                {
                    **kept,
                    "LineItemID": line.get("LineItemID") or str(uuid.uuid4()),
                    "Quantity": quantity,
                    "UnitAmount": unit,
                    "LineAmount": amount,
                    "TaxType": tax_type,
                    "TaxAmount": line_tax,
                    **({"AccountCode": code} if code is not None else {}),
                }
            )
        if problems:
            raise Invalid(*problems)
        return out, subtotal, tax

    def save_invoice(
        self, element: dict[str, Any], invoice_id: str | None = None, *, match: bool = True
    ) -> dict[str, Any]:
        wanted = invoice_id or element.get("InvoiceID")
        record = self.invoices.get(wanted) if wanted else None
        if wanted and record is None:
            raise Invalid(f"The invoice with InvoiceID {wanted} could not be found")
        if record is None and match and element.get("InvoiceNumber") is not None:
            record = self.find(self.invoices, "InvoiceNumber", element["InvoiceNumber"])
        if record is None:
            return self._new_invoice(element)
        return self._edit_invoice(record, element)

    def _new_invoice(self, element: dict[str, Any]) -> dict[str, Any]:
        if element.get("Type") != "ACCREC":
            raise Invalid("Invoice Type must be ACCREC (the sandbox keeps sales invoices only)")
        status = element.get("Status", "DRAFT")
        if status not in SALES_STATUSES:
            raise Invalid(f"Invoice Status {status} cannot be set on a new invoice")
        number = element.get("InvoiceNumber")
        if number is None:
            self.invoice_seq += 1
            number = f"INV-{self.invoice_seq:04d}"
        body = self._invoice_body(
            element,
            {"Type": "ACCREC", "Status": status, "InvoiceNumber": number, "InvoiceID": str(uuid.uuid4())},
        )
        if status == "AUTHORISED" and not body["LineItems"]:
            raise Invalid("An invoice must have at least one line item to be approved")
        record = Record(body)
        self.invoices[body["InvoiceID"]] = record
        record.touch()
        self._event("INVOICE", "CREATE", body["InvoiceID"])
        return body

    def _invoice_body(self, element: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        number = base.get("InvoiceNumber")
        if not isinstance(number, str) or len(number) > 255:
            raise Invalid("InvoiceNumber must be text of at most 255 characters")
        other = self.find(self.invoices, "InvoiceNumber", number)
        if other is not None and other.body["InvoiceID"] != base["InvoiceID"]:
            raise Invalid("Invoice # must be unique.")
        amount_types = element.get("LineAmountTypes", base.get("LineAmountTypes", "Exclusive"))
        if amount_types not in {"Exclusive", "Inclusive", "NoTax"}:
            raise Invalid("LineAmountTypes must be Exclusive, Inclusive or NoTax")
        lines, subtotal, tax = self._lines(element.get("LineItems", base.get("LineItems", [])), amount_types)
        issued = day(element.get("Date", base.get("Date") or date.today().isoformat()), "Date")
        due = element.get("DueDate", base.get("DueDate"))
        total = subtotal + tax
        paid = base.get("AmountPaid", ZERO)
        credited = base.get("AmountCredited", ZERO)
        body = {
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasAttachments": False,
            "HasErrors": False,
            "IsDiscounted": False,
            "AmountPaid": paid,
            "AmountCredited": credited,
            **base,
            "Contact": self._contact_ref(element.get("Contact", base.get("Contact"))),
            "LineAmountTypes": amount_types,
            "LineItems": lines,
            "Date": day_json(issued),
            "SubTotal": subtotal,
            "TotalTax": tax,
            "Total": total,
            "AmountDue": total - paid - credited,
            "CurrencyCode": self.currency,
            "CurrencyRate": Decimal(1),
        }
        if due is not None:
            due_day = day(due, "DueDate")
            body["DueDate"] = day_json(due_day)
        for name in ("Reference", "SentToContact", "ExpectedPaymentDate", "BrandingThemeID"):
            if name in element:
                body[name] = element[name]
        return body

    def _edit_invoice(self, record: Record, element: dict[str, Any]) -> dict[str, Any]:
        current = record.body["Status"]
        status = element.get("Status", current)
        if status not in TRANSITIONS[current] and not (
            status == current and set(element) <= {"InvoiceID", "Status"}
        ):
            raise Invalid(
                f"Invoice not of valid status for modification (it is {current}, {status} was asked)"
            )
        if status == "VOIDED" and record.body["AmountPaid"] > 0:
            raise Invalid(
                "This invoice cannot be voided as it has payments allocated to it. Remove the payments first."
            )
        changes = set(element) - {"InvoiceID", "Status", "InvoiceNumber", "Type"}
        if current in {"VOIDED", "DELETED", "PAID"} and changes:
            raise Invalid(f"This document cannot be edited as it has a status of {current}")
        if (
            changes
            and record.body["AmountPaid"] > 0
            and {"LineItems", "Contact", "LineAmountTypes"} & changes
        ):
            raise Invalid(
                "This document cannot be edited as it has a payment or credit note allocated to it."
            )
        body = (
            self._invoice_body(element, {**record.body, "Status": status})
            if changes
            else {**record.body, "Status": status}
        )
        if status == "AUTHORISED" and not body["LineItems"]:
            raise Invalid("An invoice must have at least one line item to be approved")
        if status in {"VOIDED", "DELETED"}:
            body["AmountDue"] = ZERO
        record.body = body
        record.touch()
        self._event("INVOICE", "UPDATE", body["InvoiceID"])
        return body

    def save_credit_note(self, element: dict[str, Any]) -> dict[str, Any]:
        if element.get("CreditNoteID"):
            record = self.credit_notes.get(element["CreditNoteID"])
            if record is None:
                raise Invalid(
                    f"The credit note with CreditNoteID {element['CreditNoteID']} could not be found"
                )
            status = element.get("Status", record.body["Status"])
            if status not in TRANSITIONS[record.body["Status"]] and status != record.body["Status"]:
                raise Invalid(
                    f"Credit note not of valid status for modification (it is {record.body['Status']})"
                )
            record.body["Status"] = status
            record.touch()
            return record.body
        if element.get("Type") != "ACCRECCREDIT":
            raise Invalid("CreditNote Type must be ACCRECCREDIT (the sandbox keeps sales credit notes only)")
        status = element.get("Status", "DRAFT")
        if status not in SALES_STATUSES:
            raise Invalid(f"Credit note Status {status} cannot be set on a new credit note")
        self.credit_seq += 1
        number = element.get("CreditNoteNumber") or f"CN-{self.credit_seq:04d}"
        amount_types = element.get("LineAmountTypes", "Exclusive")
        lines, subtotal, tax = self._lines(element.get("LineItems", []), amount_types)
        issued = day(element.get("Date", date.today().isoformat()), "Date")
        body: dict[str, Any] = {
            "CreditNoteID": str(uuid.uuid4()),
            "CreditNoteNumber": number,
            "Type": "ACCRECCREDIT",
            "Status": status,
            "Contact": self._contact_ref(element.get("Contact")),
            "LineItems": lines,
            "LineAmountTypes": amount_types,
            "Date": day_json(issued),
            "SubTotal": subtotal,
            "TotalTax": tax,
            "Total": subtotal + tax,
            "RemainingCredit": subtotal + tax,
            "Allocations": [],
            "Payments": [],
            "CurrencyCode": self.currency,
            "CurrencyRate": Decimal(1),
            "HasAttachments": False,
            "HasErrors": False,
        }
        if "Reference" in element:
            body["Reference"] = element["Reference"]
        record = Record(body)
        self.credit_notes[body["CreditNoteID"]] = record
        record.touch()
        return body

    def allocate(self, credit_note_id: str, element: dict[str, Any]) -> dict[str, Any]:
        """A credit note's remaining credit applied to an invoice of the same contact."""
        note = self.credit_notes.get(credit_note_id)
        if note is None:
            raise Invalid(f"The credit note with CreditNoteID {credit_note_id} could not be found")
        invoice = self._invoice_ref(element.get("Invoice"))
        amount = cents(money(element.get("Amount"), "Amount"))
        if note.body["Status"] != "AUTHORISED":
            raise Invalid("Only an AUTHORISED credit note can be allocated")
        if amount <= 0 or amount > note.body["RemainingCredit"]:
            raise Invalid("The amount must be more than zero and not exceed the remaining credit")
        self._apply(invoice, amount, "AmountCredited")
        note.body["RemainingCredit"] -= amount
        if note.body["RemainingCredit"] == 0:
            note.body["Status"] = "PAID"
        allocation = {
            "AllocationID": str(uuid.uuid4()),
            "Amount": amount,
            "Date": day_json(day(element.get("Date", date.today().isoformat()), "Date")),
            "Invoice": {
                "InvoiceID": invoice.body["InvoiceID"],
                "InvoiceNumber": invoice.body["InvoiceNumber"],
            },
        }
        note.body["Allocations"].append(allocation)
        invoice.body["CreditNotes"].append({"CreditNoteID": credit_note_id, "AppliedAmount": amount})
        note.touch()
        return {**allocation, "CreditNote": {"CreditNoteID": credit_note_id}}

    # ------------------------------------------------------------ payments

    def _invoice_ref(self, ref: object) -> Record:
        if not isinstance(ref, dict):
            raise Invalid("An Invoice must be specified (InvoiceID or InvoiceNumber)")
        record = self.invoices.get(ref.get("InvoiceID", "")) or self.find(
            self.invoices, "InvoiceNumber", ref.get("InvoiceNumber")
        )
        if record is None:
            raise Invalid("Invoice could not be found")
        return record

    def _apply(self, invoice: Record, amount: Decimal, field_name: str) -> None:
        body = invoice.body
        if body["Status"] != "AUTHORISED":
            raise Invalid(
                "Payment can only be made against an AUTHORISED invoice"
                if field_name == "AmountPaid"
                else "Credit can only be allocated to an AUTHORISED invoice"
            )
        if amount > body["AmountDue"]:
            raise Invalid("Payment amount exceeds the amount outstanding on this document")
        body[field_name] += amount
        body["AmountDue"] -= amount
        if body["AmountDue"] == 0:
            body["Status"] = "PAID"
            body["FullyPaidOnDate"] = msdate(_now())
        invoice.touch()
        self._event("INVOICE", "UPDATE", body["InvoiceID"])

    def add_payment(self, element: dict[str, Any]) -> dict[str, Any]:
        account = self.account(element.get("Account"))
        if account.body["Type"] != "BANK" and not account.body.get("EnablePaymentsToAccount"):
            raise Invalid(
                "Payments can only be made to a bank account or an account with EnablePaymentsToAccount"
            )
        amount = cents(money(element.get("Amount"), "Amount"))
        if amount <= 0:
            raise Invalid("Payment amount must be greater than zero")
        paid_on = day(element.get("Date", date.today().isoformat()), "Date")
        base: dict[str, Any] = {
            "PaymentID": str(uuid.uuid4()),
            "Date": day_json(paid_on),
            "Amount": amount,
            "BankAmount": amount,
            "CurrencyRate": Decimal(1),
            "Status": "AUTHORISED",
            "IsReconciled": bool(element.get("IsReconciled", False)),
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": account.body["AccountID"], "Code": account.body["Code"]},
        }
        if "Reference" in element:
            base["Reference"] = element["Reference"]
        if isinstance(element.get("CreditNote"), dict):
            note = self.credit_notes.get(element["CreditNote"].get("CreditNoteID", ""))
            if note is None:
                raise Invalid("Credit note could not be found")
            if note.body["Status"] != "AUTHORISED" or amount > note.body["RemainingCredit"]:
                raise Invalid("Payment amount exceeds the amount outstanding on this document")
            note.body["RemainingCredit"] -= amount
            if note.body["RemainingCredit"] == 0:
                note.body["Status"] = "PAID"
            note.touch()
            body: dict[str, Any] = {
                **base,
                "PaymentType": "ARCREDITPAYMENT",
                "CreditNote": {
                    "CreditNoteID": note.body["CreditNoteID"],
                    "CreditNoteNumber": note.body["CreditNoteNumber"],
                },
            }
            note.body["Payments"].append(
                {"PaymentID": body["PaymentID"], "Amount": amount, "Date": body["Date"]}
            )
        else:
            invoice = self._invoice_ref(element.get("Invoice"))
            self._apply(invoice, amount, "AmountPaid")
            body = {
                **base,
                "PaymentType": "ACCRECPAYMENT",
                "Invoice": {
                    "InvoiceID": invoice.body["InvoiceID"],
                    "InvoiceNumber": invoice.body["InvoiceNumber"],
                    "Type": "ACCREC",
                    "Contact": invoice.body["Contact"],
                },
            }
            invoice.body["Payments"].append(
                {
                    "PaymentID": body["PaymentID"],
                    "Amount": amount,
                    "Date": body["Date"],
                    "Reference": body.get("Reference", ""),
                }
            )
        record = Record(body)
        self.payments[body["PaymentID"]] = record
        record.touch()
        return body

    def delete_payment(self, payment_id: str) -> dict[str, Any]:
        """Xero deletes a payment by POSTing Status DELETED: the invoice's money comes back."""
        record = self.payments.get(payment_id)
        if record is None:
            raise Invalid(f"The payment with PaymentID {payment_id} could not be found")
        body = record.body
        if body["Status"] == "DELETED":
            raise Invalid("The payment has already been deleted")
        if "Invoice" in body:
            invoice = self.invoices[body["Invoice"]["InvoiceID"]]
            invoice.body["AmountPaid"] -= body["Amount"]
            invoice.body["AmountDue"] += body["Amount"]
            invoice.body["Status"] = "AUTHORISED"
            invoice.body.pop("FullyPaidOnDate", None)
            invoice.body["Payments"] = [p for p in invoice.body["Payments"] if p["PaymentID"] != payment_id]
            invoice.touch()
            self._event("INVOICE", "UPDATE", invoice.body["InvoiceID"])
        else:
            note = self.credit_notes[body["CreditNote"]["CreditNoteID"]]
            note.body["RemainingCredit"] += body["Amount"]
            note.body["Status"] = "AUTHORISED"
            note.touch()
        body["Status"] = "DELETED"
        record.touch()
        return body


CONTACT_FIELDS = frozenset(
    {
        "Name",
        "ContactNumber",
        "AccountNumber",
        "ContactStatus",
        "FirstName",
        "LastName",
        "CompanyNumber",
        "EmailAddress",
        "ContactPersons",
        "TaxNumber",
        "Addresses",
        "Phones",
        "IsSupplier",
        "IsCustomer",
        "DefaultCurrency",
        "SalesDefaultAccountCode",
        "AccountsReceivableTaxType",
        "PaymentTerms",
    }
)
ITEM_FIELDS = frozenset(
    {
        "Code",
        "Name",
        "Description",
        "PurchaseDescription",
        "IsSold",
        "IsPurchased",
        "SalesDetails",
        "PurchaseDetails",
        "InventoryAssetAccountCode",
        "IsTrackedAsInventory",
    }
)
LINE_FIELDS = frozenset(
    {"Description", "ItemCode", "AccountCode", "AccountID", "Tracking", "DiscountRate", "DiscountAmount"}
)


class Organisations:
    """Every organisation the sandbox's one Xero user belongs to (the consent page offers them all)."""

    def __init__(self, names: Iterable[str] = ("Demo Company (US)", "Second Company (US)")) -> None:
        self.lock = threading.Lock()
        self._orgs: dict[str, Organisation] = {}
        for name in names:
            self.add(name)

    def add(self, name: str, tenant_id: str | None = None) -> Organisation:
        org = Organisation(name, tenant_id)
        with self.lock:
            self._orgs[org.tenant_id] = org
        return org

    def get(self, tenant_id: str) -> Organisation | None:
        with self.lock:
            return self._orgs.get(tenant_id)

    def all(self) -> list[Organisation]:
        with self.lock:
            return list(self._orgs.values())

    def reset(self, names: Iterable[str]) -> None:
        with self.lock:
            self._orgs.clear()
        for name in names:
            self.add(name)


Matcher = Callable[[dict[str, Any]], bool]
