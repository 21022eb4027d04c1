"""The businesses and their books: clients, items, taxes, invoices and payments (with the
overpayment credits payments leave), kept in FreshBooks' own JSON shapes with FreshBooks' rules
on what may be written (README.md names each rule's source).

Money is a decimal string with its currency ``code`` (``{"amount": "27.00", "code": "USD"}``);
a line's ``taxAmount1``/``taxAmount2`` is a percentage (at most 3 decimals), not money. An
invoice's ``amount``, ``outstanding``, ``paid``, ``status``, ``v3_status`` and
``payment_status`` follow from its lines, its discount and the payments on it: status 4 (paid)
or 8 (partial); paying more than is owed leaves the excess as a credit whose id is the payment's
``overpaymentid``.

Every change appends an ``Event`` (``invoice.create``, ``payment.delete``...): the webhook
callbacks announce them, the ledger shows what the books hold.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from local.sandboxes.freshbooks import errors

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# Accounting resources answer times in US/Eastern as "yyyy-MM-dd HH:mm:ss" (SDK models.py).
EASTERN = ZoneInfo("US/Eastern")
ACTIVE, DELETED, ARCHIVED = 0, 1, 2
# Invoice status (FreshBooks' invoice docs): 1 draft, 2 sent, 3 viewed, 4 paid, 8 partial.
DRAFT, SENT, VIEWED, PAID, PARTIAL = 1, 2, 3, 4, 8
V3_STATUS = {DRAFT: "draft", SENT: "sent", VIEWED: "viewed", PAID: "paid", PARTIAL: "partial"}
PAYMENT_TYPES = (
    "2Checkout",
    "ACH",
    "AMEX",
    "Bank Transfer",
    "Cash",
    "Check",
    "Credit",
    "Credit Card",
    "Debit",
    "DINERS",
    "DISCOVER",
    "JCB",
    "MASTERCARD",
    "Other",
    "PayPal",
    "VISA",
)


STAMP = "%Y-%m-%d %H:%M:%S"


def eastern_now() -> str:
    return datetime.now(UTC).astimezone(EASTERN).strftime(STAMP)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def decimal(value: object, obj: str, name: str) -> Decimal:
    """A number sent as a string or a JSON number (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise errors.invalid(
            obj, name, f'{name} must be a decimal number, e.g. "12.50" (got {value!r})', value
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise errors.invalid(obj, name, f'{name} must be a decimal number, e.g. "12.50"', value) from None
    if not number.is_finite():
        raise errors.invalid(obj, name, f"{name} must be a finite number", value)
    return number


def places(number: Decimal) -> int:
    """How many decimals a (finite) number is written with."""
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def text(number: Decimal) -> str:
    """A quantity or percentage as FreshBooks writes one: ``6``, ``1.5``, ``8.875``."""
    return format(number.normalize(), "f")


def money_text(amount: Decimal) -> str:
    return format(amount.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def money(amount: Decimal, code: str) -> dict[str, str]:
    return {"amount": money_text(amount), "code": code}


def parse_money(value: object, obj: str, name: str, currency: str | None) -> tuple[Decimal, str | None]:
    """``{"amount": "27.00", "code": "USD"}`` (or a bare amount): the amount, at most 2 decimals,
    and its code, which must be ``currency`` when both are known."""
    raw, code = (value.get("amount"), value.get("code")) if isinstance(value, dict) else (value, None)
    amount = decimal(raw, obj, f"{name}.amount")
    if places(amount) > 2:
        raise errors.invalid(obj, name, f"{name}.amount has more than 2 decimals: round it to cents", raw)
    if code is not None and (not isinstance(code, str) or (currency is not None and code != currency)):
        raise errors.invalid(obj, name, f"{name}.code must be {currency} (the {obj}'s currency)", code)
    return amount, code


def day(value: object, obj: str, name: str) -> str:
    if not isinstance(value, str):
        raise errors.invalid(obj, name, f"{name} must be a date, YYYY-MM-DD", value)
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise errors.invalid(obj, name, f"{name} must be a date, YYYY-MM-DD", value) from None


def currency_code(obj: str, code: object) -> str:
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise errors.invalid(obj, "currency_code", "currency_code must be an ISO 4217 code, e.g. USD", code)
    return code


def _account_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(5))


@dataclass
class Event:
    """A change a webhook callback announces: ``invoice.create``, ``payment.delete``..."""

    name: str
    object_id: int
    account_id: str
    business_id: int
    user_id: int
    identity_id: int
    at: str = field(default_factory=utc_now)

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "object_id": self.object_id,
            "account_id": self.account_id,
            "business_id": self.business_id,
            "user_id": self.user_id,
            "identity_id": self.identity_id,
            "at": self.at,
        }


@dataclass(frozen=True)
class Kind:
    """A resource: its path below the account, its JSON names and its id fields."""

    path: str  # users/clients
    single: str  # client
    plural: str  # clients
    id_fields: tuple[str, ...]  # ("id", "userid")
    event: str  # the webhook event's object: client, item, invoice, payment, tax
    real_delete: bool = False  # DELETE (invoices, taxes) rather than PUT vis_state 1


CLIENTS = Kind("users/clients", "client", "clients", ("id", "userid"), "client")
ITEMS = Kind("items/items", "item", "items", ("id", "itemid"), "item")
TAXES = Kind("taxes/taxes", "tax", "taxes", ("id", "taxid"), "tax", real_delete=True)
INVOICES = Kind("invoices/invoices", "invoice", "invoices", ("id", "invoiceid"), "invoice", real_delete=True)
PAYMENTS = Kind("payments/payments", "payment", "payments", ("id", "paymentid"), "payment")
KINDS = (CLIENTS, ITEMS, TAXES, INVOICES, PAYMENTS)


class Business:
    """One business's books. Hold ``lock`` around reads and writes."""

    def __init__(
        self,
        name: str,
        currency: str,
        business_id: int,
        ids: Iterator[int],
        user_id: int,
        listeners: list[Callable[[Event], None]],
        identity_id: int,
    ) -> None:
        self.name = name
        self.currency = currency
        self.account_id = _account_id()
        self.business_id = business_id
        self.business_uuid = str(uuid.uuid4())
        self.user_id = user_id  # the business's owner as its accounting user (webhooks' user_id)
        self.identity_id = identity_id  # the owner's identity (webhooks' identity_id)
        self.lock = threading.RLock()
        self.records: dict[str, dict[int, dict[str, Any]]] = {kind.plural: {} for kind in KINDS}
        self.credits: dict[int, dict[str, Any]] = {}  # overpayment credits, by creditid
        self.events: list[Event] = []
        self.next_invoice_number = 1
        self._ids = ids
        self.listeners = listeners  # told of every event (the webhook callbacks)

    def public(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "business_id": self.business_id,
            "business_uuid": self.business_uuid,
            "name": self.name,
            "currency": self.currency,
        }

    # ------------------------------------------------------------ plumbing

    def table(self, kind: Kind) -> dict[int, dict[str, Any]]:
        return self.records[kind.plural]

    def get(self, kind: Kind, record_id: int) -> dict[str, Any]:
        found = self.table(kind).get(record_id)
        if found is None:
            raise errors.not_found(kind.single, kind.id_fields[-1], record_id)
        return found

    def _new_id(self) -> int:
        return next(self._ids)

    def _event(self, kind: Kind, action: str, record_id: int) -> None:
        name = f"{kind.event}.{action}"
        event = Event(name, record_id, self.account_id, self.business_id, self.user_id, self.identity_id)
        self.events.append(event)
        for listener in self.listeners:
            listener(event)

    def _stamp(self, body: dict[str, Any]) -> None:
        """FreshBooks' ``updated`` has whole seconds; here each change of a record reads later than
        the one before it (sandbox's choice), so a test's edit right after booksync's write is
        never the same stamp, which booksync reads as its own write."""
        now, before = eastern_now(), body.get("updated")
        if isinstance(before, str) and now <= before:
            now = (datetime.strptime(before, STAMP) + timedelta(seconds=1)).strftime(STAMP)
        body["updated"] = now

    # ------------------------------------------------------------ writes

    def create(self, kind: Kind, data: dict[str, Any]) -> dict[str, Any]:
        record_id = self._new_id()
        body = _CREATORS[kind.plural](self, record_id, data)
        for id_field in kind.id_fields:
            body[id_field] = record_id
        body["accounting_systemid"] = self.account_id
        self._stamp(body)
        self.table(kind)[record_id] = body
        if kind is PAYMENTS:
            self._settle(body["invoiceid"])
        self._event(kind, "create", record_id)
        return body

    def update(self, kind: Kind, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
        old = self.get(kind, record_id)
        before, old_invoice = old.get("vis_state"), old.get("invoiceid")
        body = copy.deepcopy(old)  # a refused update changes nothing
        _UPDATERS[kind.plural](self, body, data)
        self._stamp(body)
        self.table(kind)[record_id] = body
        if kind is PAYMENTS:
            self._settle(body["invoiceid"])
            if old_invoice is not None and old_invoice != body["invoiceid"]:
                self._settle(old_invoice)
        action = "delete" if before != DELETED and body.get("vis_state") == DELETED else "update"
        self._event(kind, action, record_id)
        return body

    def delete(self, kind: Kind, record_id: int) -> None:
        """A real DELETE (invoices, taxes): the record reads deleted (vis_state 1) from now on."""
        body = self.get(kind, record_id)
        if body.get("vis_state") == DELETED:
            raise errors.not_found(kind.single, kind.id_fields[-1], record_id)
        body["vis_state"] = DELETED
        self._stamp(body)
        self._event(kind, "delete", record_id)

    # ------------------------------------------------------------ invoice arithmetic

    def _settle(self, invoice_id: int) -> None:
        """An invoice's paid, outstanding and status from its active payments, in the order they
        were made; a payment beyond what is owed leaves its excess as an overpayment credit."""
        invoice = self.table(INVOICES).get(invoice_id)
        if invoice is not None:
            self._settle_invoice(invoice)

    def _settle_invoice(self, invoice: dict[str, Any]) -> None:
        invoice_id = invoice["id"]
        code = invoice["currency_code"]
        owed = Decimal(invoice["amount"]["amount"])
        paid = ZERO
        last_date = None
        for payment in sorted(self.table(PAYMENTS).values(), key=lambda p: p["id"]):
            if payment["invoiceid"] != invoice_id:
                continue
            amount = Decimal(payment["amount"]["amount"])
            excess = ZERO
            if payment["vis_state"] == ACTIVE:
                applied = min(amount, max(ZERO, owed - paid))
                excess = amount - applied
                paid += applied
                last_date = payment["date"]
            self._credit(payment, excess, code)
        invoice["paid"] = money(paid, code)
        invoice["outstanding"] = money(max(ZERO, owed - paid), code)
        if owed > 0 and paid >= owed:
            invoice["status"], invoice["payment_status"], invoice["date_paid"] = PAID, "paid", last_date
        elif paid > 0:
            invoice["status"], invoice["payment_status"], invoice["date_paid"] = PARTIAL, "partial", None
        else:
            invoice["status"] = SENT if invoice["sentid"] else DRAFT
            invoice["payment_status"], invoice["date_paid"] = "unpaid", None
        invoice["v3_status"] = V3_STATUS[invoice["status"]]
        invoice["display_status"] = invoice["v3_status"]

    def _credit(self, payment: dict[str, Any], excess: Decimal, code: str) -> None:
        credit_id = payment.get("overpaymentid")
        if excess <= 0:
            if credit_id is not None:
                self.credits.pop(credit_id, None)
                payment["overpaymentid"] = None
            return
        if credit_id is None:
            credit_id = self._new_id()
            payment["overpaymentid"] = credit_id
        self.credits[credit_id] = {
            "creditid": credit_id,
            "clientid": payment["clientid"],
            "paymentid": payment["id"],
            "amount": money(excess, code),
            "type": "overpayment",
        }

    def reprice(self, invoice: dict[str, Any]) -> None:
        """Amount (lines, discount, taxes) then the payments' arithmetic again."""
        code = invoice["currency_code"]
        subtotal = sum((Decimal(line["amount"]["amount"]) for line in invoice["lines"]), ZERO)
        rate = Decimal(invoice["discount_value"]) / HUNDRED
        discount = (subtotal * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = ZERO
        for line in invoice["lines"]:
            base = Decimal(line["amount"]["amount"]) * (1 - rate)
            for n in (1, 2):
                if line.get(f"taxAmount{n}") not in (None, ""):
                    tax += (base * Decimal(line[f"taxAmount{n}"]) / HUNDRED).quantize(CENT, ROUND_HALF_UP)
        invoice["discount_total"] = money(-discount, code)
        invoice["amount"] = money(subtotal - discount + tax, code)
        self._settle_invoice(invoice)


# ------------------------------------------------------------ what each resource accepts


def _check_fields(
    obj: str, data: dict[str, Any], writable: frozenset[str], read_only: frozenset[str]
) -> None:
    unknown = sorted(set(data) - writable - read_only)
    if unknown:
        raise errors.invalid(
            obj,
            unknown[0],
            f"{obj} has no field {unknown[0]!r}; fields it takes: {', '.join(sorted(writable))}",
        )


def _strings(obj: str, data: dict[str, Any], names: frozenset[str], body: dict[str, Any]) -> None:
    for name in names & set(data):
        value = data[name]
        if value is not None and not isinstance(value, str):
            raise errors.invalid(obj, name, f"{name} must be a string", value)
        body[name] = value if value is not None else ""


def _vis_state(obj: str, data: dict[str, Any], body: dict[str, Any]) -> None:
    if "vis_state" in data:
        value = data["vis_state"]
        if value not in (ACTIVE, DELETED, ARCHIVED) or isinstance(value, bool):
            raise errors.invalid(
                obj, "vis_state", "vis_state must be 0 (active), 1 (deleted) or 2 (archived)", value
            )
        body["vis_state"] = value


_CLIENT_TEXT = frozenset(
    {
        "organization",
        "fname",
        "lname",
        "email",
        "language",
        "note",
        "bus_phone",
        "home_phone",
        "mob_phone",
        "fax",
        "p_street",
        "p_street2",
        "p_city",
        "p_province",
        "p_code",
        "p_country",
        "s_street",
        "s_street2",
        "s_city",
        "s_province",
        "s_code",
        "s_country",
        "vat_name",
        "vat_number",
    }
)
_CLIENT_FLAGS = frozenset({"pref_email", "pref_gmail", "allow_late_fees", "allow_late_notifications"})
_CLIENT_WRITABLE = _CLIENT_TEXT | _CLIENT_FLAGS | {"currency_code", "vis_state"}
_CLIENT_READ_ONLY = frozenset(
    {"id", "userid", "accounting_systemid", "updated", "signup_date", "username", "uuid", "role", "level"}
)


def _client_fields(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _check_fields("client", data, _CLIENT_WRITABLE, _CLIENT_READ_ONLY)
    _strings("client", data, _CLIENT_TEXT, body)
    for flag in _CLIENT_FLAGS & set(data):
        if not isinstance(data[flag], bool):
            raise errors.invalid("client", flag, f"{flag} must be true or false", data[flag])
        body[flag] = data[flag]
    if "currency_code" in data:
        body["currency_code"] = currency_code("client", data["currency_code"])
    _vis_state("client", data, body)
    email = body.get("email") or ""
    if email and ("@" not in email or email.startswith("@") or email.endswith("@")):
        raise errors.invalid("client", "email", "email is not a valid e-mail address", email)
    if not any(body.get(name) for name in ("organization", "fname", "lname", "email")):
        raise errors.invalid(
            "client", "organization", "a client needs an organization, a first or last name, or an e-mail"
        )


def _create_client(business: Business, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = dict.fromkeys(_CLIENT_TEXT, "")
    body.update(
        {
            "currency_code": business.currency,
            "language": "en",
            "pref_email": True,
            "pref_gmail": False,
            "allow_late_fees": True,
            "allow_late_notifications": True,
            "vis_state": ACTIVE,
            "signup_date": utc_now(),
            "username": secrets.token_urlsafe(8),
            "uuid": str(uuid.uuid4()),
            "role": "client",
            "level": 0,
        }
    )
    _client_fields(business, body, data)
    return body


def _update_client(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _client_fields(business, body, data)


_ITEM_WRITABLE = frozenset(
    {"name", "description", "qty", "unit_cost", "inventory", "sku", "tax1", "tax2", "vis_state"}
)
_ITEM_READ_ONLY = frozenset({"id", "itemid", "accounting_systemid", "updated"})


def _item_fields(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _check_fields("item", data, _ITEM_WRITABLE, _ITEM_READ_ONLY)
    _strings("item", data, frozenset({"name", "description", "sku"}), body)
    if "qty" in data:
        body["qty"] = text(decimal(data["qty"], "item", "qty"))
    if "inventory" in data:
        body["inventory"] = (
            None if data["inventory"] is None else text(decimal(data["inventory"], "item", "inventory"))
        )
    if "unit_cost" in data:
        amount, code = parse_money(data["unit_cost"], "item", "unit_cost", None)
        body["unit_cost"] = money(amount, code or business.currency)
    for tax in ("tax1", "tax2"):
        if tax in data:
            value = data[tax]
            if value not in (None, 0) and (isinstance(value, bool) or value not in business.table(TAXES)):
                raise errors.invalid(
                    "item", tax, f"{tax} must be the id of one of the business's taxes", value
                )
            body[tax] = value or 0
    _vis_state("item", data, body)
    if not body.get("name"):
        raise errors.invalid("item", "name", "an item needs a name")


def _create_item(business: Business, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "",
        "description": "",
        "qty": "0",
        "inventory": None,
        "sku": "",
        "tax1": 0,
        "tax2": 0,
        "unit_cost": money(ZERO, business.currency),
        "vis_state": ACTIVE,
    }
    _item_fields(business, body, data)
    return body


def _update_item(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _item_fields(business, body, data)


_TAX_WRITABLE = frozenset({"name", "amount", "number", "compound"})
_TAX_READ_ONLY = frozenset({"id", "taxid", "accounting_systemid", "updated", "vis_state"})


def _tax_fields(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _check_fields("tax", data, _TAX_WRITABLE, _TAX_READ_ONLY)
    _strings("tax", data, frozenset({"name", "number"}), body)
    if "amount" in data:
        body["amount"] = text(percentage(data["amount"], "tax", "amount"))
    if "compound" in data:
        if not isinstance(data["compound"], bool):
            raise errors.invalid("tax", "compound", "compound must be true or false", data["compound"])
        body["compound"] = data["compound"]
    if not body.get("name"):
        raise errors.invalid("tax", "name", "a tax needs a name")


def _create_tax(business: Business, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "", "amount": "0", "number": "", "compound": False, "vis_state": ACTIVE}
    _tax_fields(business, body, data)
    return body


def _update_tax(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _tax_fields(business, body, data)


def percentage(value: object, obj: str, name: str) -> Decimal:
    """A tax rate in percent, 0 to 100, at most 3 decimals (providers.md 7.2)."""
    rate = decimal(value, obj, name)
    if places(rate) > 3:
        raise errors.invalid(obj, name, f"{name} is a percentage with at most 3 decimals (e.g. 8.875)", value)
    if not ZERO <= rate <= HUNDRED:
        raise errors.invalid(obj, name, f"{name} is a percentage between 0 and 100", value)
    return rate


_LINE_WRITABLE = frozenset(
    {"name", "description", "qty", "unit_cost", "taxName1", "taxAmount1", "taxName2", "taxAmount2", "type"}
)
_LINE_READ_ONLY = frozenset({"lineid", "amount", "invoiceid", "updated", "basecampid", "compounded_tax"})


def _line(business: Business, number: int, data: object, currency: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.invalid("invoice", "lines", "each line must be an object")
    _check_fields("line", data, _LINE_WRITABLE, _LINE_READ_ONLY)
    line: dict[str, Any] = {"lineid": number, "name": "", "description": "", "type": 0}
    _strings("line", data, frozenset({"name", "description"}), line)
    qty = decimal(data.get("qty", 1), "line", "qty")
    unit, _ = parse_money(data.get("unit_cost", "0"), "line", "unit_cost", currency)
    line["qty"] = text(qty)
    line["unit_cost"] = money(unit, currency)
    line["amount"] = money(qty * unit, currency)
    for n in (1, 2):
        name, amount = data.get(f"taxName{n}"), data.get(f"taxAmount{n}")
        if amount in (None, "") and name in (None, ""):
            continue
        if not isinstance(name, str) or not name:
            raise errors.invalid("line", f"taxName{n}", f"taxAmount{n} needs its taxName{n}", name)
        line[f"taxName{n}"] = name
        line[f"taxAmount{n}"] = text(percentage(amount, "line", f"taxAmount{n}"))
    if data.get("type", 0) not in (0, 1):
        raise errors.invalid("line", "type", "type must be 0 (normal) or 1 (rebill)", data.get("type"))
    return line


_INVOICE_TEXT = frozenset({"notes", "terms", "po_number", "address", "language", "invoice_number"})
_INVOICE_WRITABLE = _INVOICE_TEXT | {
    "customerid",
    "create_date",
    "due_offset_days",
    "currency_code",
    "lines",
    "discount_value",
    "vis_state",
    "action_mark_as_sent",
    "action_email",
    "email_recipients",
}
_INVOICE_READ_ONLY = frozenset(
    {
        "id",
        "invoiceid",
        "accounting_systemid",
        "updated",
        "created_at",
        "amount",
        "outstanding",
        "paid",
        "status",
        "v3_status",
        "payment_status",
        "display_status",
        "date_paid",
        "due_date",
        "sentid",
        "discount_total",
        "fname",
        "lname",
        "organization",
        "email",
        "ownerid",
    }
)


def _invoice_fields(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _check_fields("invoice", data, _INVOICE_WRITABLE, _INVOICE_READ_ONLY)
    _strings("invoice", data, _INVOICE_TEXT, body)
    if "customerid" in data:
        client = (
            business.table(CLIENTS).get(data["customerid"]) if isinstance(data["customerid"], int) else None
        )
        if client is None or client["vis_state"] == DELETED:
            raise errors.invalid(
                "invoice",
                "customerid",
                "customerid must be the id of an active client",
                data["customerid"],
                1012,
            )
        body["customerid"] = client["id"]
        for name in ("fname", "lname", "organization", "email"):
            body[name] = client[name]
        body.setdefault("currency_code", client["currency_code"])
    if "currency_code" in data:
        body["currency_code"] = currency_code("invoice", data["currency_code"])
    if "create_date" in data:
        body["create_date"] = day(data["create_date"], "invoice", "create_date")
    if "due_offset_days" in data:
        offset = data["due_offset_days"]
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise errors.invalid(
                "invoice",
                "due_offset_days",
                "due_offset_days must be a whole number of days, 0 or more",
                offset,
            )
        body["due_offset_days"] = offset
    if "discount_value" in data:
        body["discount_value"] = text(percentage(data["discount_value"], "invoice", "discount_value"))
    if "lines" in data:
        if not isinstance(data["lines"], list):
            raise errors.invalid("invoice", "lines", "lines must be a list of lines")
        body["lines"] = [
            _line(business, n, line, body.get("currency_code") or business.currency)
            for n, line in enumerate(data["lines"], start=1)
        ]
    _vis_state("invoice", data, body)
    if "customerid" not in body:
        raise errors.invalid("invoice", "customerid", "an invoice needs customerid, the id of its client")
    start = date.fromisoformat(body["create_date"])
    body["due_date"] = date.fromordinal(start.toordinal() + body["due_offset_days"]).isoformat()
    if data.get("action_mark_as_sent") is True or data.get("action_email") is True:
        body["sentid"] = body["sentid"] or business.user_id
        if data.get("action_email") is True:
            body["last_sent_by_email"] = utc_now()
    business.reprice(body)


def _create_invoice(business: Business, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record_id,
        "invoice_number": "",
        "create_date": date.today().isoformat(),
        "due_offset_days": 0,
        "lines": [],
        "discount_value": "0",
        "notes": "",
        "terms": "",
        "po_number": "",
        "address": "",
        "language": "en",
        "vis_state": ACTIVE,
        "status": DRAFT,
        "sentid": None,
        "created_at": eastern_now(),
        "ownerid": business.user_id,
    }
    number = data.get("invoice_number")
    if not number:
        body["invoice_number"] = f"{business.next_invoice_number:07d}"
        business.next_invoice_number += 1
    _invoice_fields(business, body, data)
    return body


def _update_invoice(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    if "customerid" in data and data["customerid"] != body["customerid"]:
        body.pop("currency_code", None)  # the new client's currency, unless one is given
    _invoice_fields(business, body, data)


_PAYMENT_WRITABLE = frozenset(
    {"invoiceid", "amount", "date", "type", "note", "send_client_notification", "vis_state"}
)
_PAYMENT_READ_ONLY = frozenset(
    {
        "id",
        "paymentid",
        "accounting_systemid",
        "updated",
        "clientid",
        "overpaymentid",
        "creditid",
        "logid",
        "from_credit",
        "gateway",
        "transactionid",
        "orderid",
        "bulk_payment_id",
    }
)


def _payment_fields(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    _check_fields("payment", data, _PAYMENT_WRITABLE, _PAYMENT_READ_ONLY)
    if "invoiceid" in data:
        invoice = (
            business.table(INVOICES).get(data["invoiceid"]) if isinstance(data["invoiceid"], int) else None
        )
        if invoice is None or invoice["vis_state"] == DELETED:
            raise errors.invalid(
                "payment",
                "invoiceid",
                "invoiceid must be the id of an invoice that is not deleted",
                data["invoiceid"],
                1012,
            )
        body["invoiceid"], body["clientid"] = invoice["id"], invoice["customerid"]
        body["code"] = invoice["currency_code"]
    if "invoiceid" not in body:
        raise errors.invalid("payment", "invoiceid", "a payment needs invoiceid, the invoice it pays")
    code = body["code"]
    if "amount" in data:
        amount, _ = parse_money(data["amount"], "payment", "amount", code)
        if amount <= 0:
            raise errors.invalid("payment", "amount", "amount must be more than 0", money_text(amount))
        body["amount"] = money(amount, code)
    elif "amount" in body:
        body["amount"] = money(Decimal(body["amount"]["amount"]), code)
    else:
        raise errors.invalid("payment", "amount", 'a payment needs an amount, e.g. {"amount": "10.00"}')
    if "date" in data:
        body["date"] = day(data["date"], "payment", "date")
    if "date" not in body:
        raise errors.invalid("payment", "date", "a payment needs its date, YYYY-MM-DD")
    if "type" in data:
        if data["type"] not in PAYMENT_TYPES:
            raise errors.invalid(
                "payment", "type", f"type must be one of {', '.join(PAYMENT_TYPES)}", data["type"]
            )
        body["type"] = data["type"]
    _strings("payment", data, frozenset({"note"}), body)
    if "send_client_notification" in data:
        body["send_client_notification"] = data["send_client_notification"] is True
    _vis_state("payment", data, body)


def _create_payment(business: Business, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record_id,
        "type": "Check",
        "note": "",
        "vis_state": ACTIVE,
        "overpaymentid": None,
        "creditid": None,
        "from_credit": False,
        "gateway": None,
        "transactionid": None,
        "orderid": None,
        "bulk_payment_id": None,
        "send_client_notification": False,
        "logid": record_id,
    }
    _payment_fields(business, body, data)
    body.pop("code")
    return body


def _update_payment(business: Business, body: dict[str, Any], data: dict[str, Any]) -> None:
    body["code"] = body["amount"]["code"]
    _payment_fields(business, body, data)
    body.pop("code")


_CREATORS: dict[str, Callable[[Business, int, dict[str, Any]], dict[str, Any]]] = {
    "clients": _create_client,
    "items": _create_item,
    "taxes": _create_tax,
    "invoices": _create_invoice,
    "payments": _create_payment,
}
_UPDATERS: dict[str, Callable[[Business, dict[str, Any], dict[str, Any]], None]] = {
    "clients": _update_client,
    "items": _update_item,
    "taxes": _update_tax,
    "invoices": _update_invoice,
    "payments": _update_payment,
}


# ------------------------------------------------------------ the businesses and their users

DEFAULT_USER = "owner@sandbox.test"


@dataclass
class User:
    """A FreshBooks identity: the person who logs in and consents."""

    identity_id: int
    email: str
    first_name: str
    last_name: str


@dataclass
class Membership:
    user: User
    business: Business
    role: str  # owner, business_admin, business_employee... ("client" memberships reach no books)


class Businesses:
    """Every business of the sandbox and its users' memberships. The default user
    (``owner@sandbox.test``) owns the businesses named at start; a business added for another
    e-mail makes that user (the identity that logs in on the authorize page), so tests can give
    each company its own FreshBooks user. A user with several businesses chooses one;
    ``business_clients`` entries (where the user is only a client of another business) are
    listed and reach nothing."""

    def __init__(self, names: tuple[str, ...], currency: str = "USD") -> None:
        self.lock = threading.Lock()
        self._ids = itertools.count(100_001)
        self._business_ids = itertools.count(439_001)
        self._identity_ids = itertools.count(12_345)
        self.by_account: dict[str, Business] = {}
        self.users: dict[str, User] = {}  # by e-mail
        self.memberships: list[Membership] = []
        self.listeners: list[Callable[[Event], None]] = []
        self.user(DEFAULT_USER)
        for name in names:
            self.add(name, currency)

    def user(self, email: str) -> User:
        """The user of this e-mail, made on first use."""
        found = self.users.get(email)
        if found is None:
            local = email.split("@", maxsplit=1)[0]
            found = User(next(self._identity_ids), email, local.capitalize(), "Sandbox")
            if email == DEFAULT_USER:
                found.first_name, found.last_name = "Sandy", "Box"
            self.users[email] = found
        return found

    def add(
        self, name: str, currency: str = "USD", role: str = "owner", user: str = DEFAULT_USER
    ) -> Business:
        with self.lock:
            member = self.user(user)
            business_id = next(self._business_ids)
            business = Business(name, currency, business_id, self._ids, 1, self.listeners, member.identity_id)
            self.by_account[business.account_id] = business
            self.memberships.append(Membership(member, business, role))
            return business

    def reset(self, names: list[str], currency: str = "USD") -> None:
        with self.lock:
            self.by_account.clear()
            self.memberships.clear()
            self.users.clear()
            self.user(DEFAULT_USER)
        for name in names:
            self.add(name, currency)

    def get(self, account_id: str) -> Business | None:
        with self.lock:
            return self.by_account.get(account_id)

    def all(self) -> list[Business]:
        with self.lock:
            return list(self.by_account.values())

    def known(self, email: str) -> User | None:
        with self.lock:
            return self.users.get(email)

    def owner_of(self, account_id: str) -> User | None:
        with self.lock:
            return next((m.user for m in self.memberships if m.business.account_id == account_id), None)

    def reachable(self, account_id: str, identity_id: int) -> Business | None:
        """The business the user may keep books of (a membership other than ``client``)."""
        with self.lock:
            for membership in self.memberships:
                if (
                    membership.business.account_id == account_id
                    and membership.user.identity_id == identity_id
                    and membership.role != "client"
                ):
                    return membership.business
            return None

    def identity(self, identity_id: int) -> dict[str, Any]:
        """``GET /auth/api/v1/users/me``'s ``response`` (SDK fixture ``auth_me_response``)."""
        with self.lock:
            user = next(u for u in self.users.values() if u.identity_id == identity_id)
            mine = [m for m in self.memberships if m.user is user]
            memberships = [
                {
                    "id": 140_000 + n,
                    "role": membership.role,
                    "unacknowledged_change": False,
                    "business": {
                        "id": membership.business.business_id,
                        "business_uuid": membership.business.business_uuid,
                        "name": membership.business.name,
                        "account_id": membership.business.account_id,
                        "date_format": "mm/dd/yyyy",
                        "address": {
                            "street": "",
                            "city": "",
                            "province": "",
                            "country": "",
                            "postal_code": "",
                        },
                        "phone_number": None,
                        # Where the user is only a client of another business: no books to keep.
                        "business_clients": [
                            {
                                "id": 5432,
                                "business_id": 6543,
                                "account_id": "XYZ321",
                                "userid": 65342,
                                "client_business": {"business_id": membership.business.business_id},
                                "account_business": {"account_business_id": 7933, "account_id": "XYZ321"},
                            }
                        ],
                    },
                }
                for n, membership in enumerate(mine, start=1)
            ]
            roles = [
                {
                    "id": 61_000 + n,
                    "role": m.role,
                    "systemid": m.business.business_id,
                    "userid": 1,
                    "accountid": m.business.account_id,
                }
                for n, m in enumerate(mine, start=1)
            ]
        return {
            "id": user.identity_id,
            "identity_id": user.identity_id,
            "identity_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, user.email)),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "language": "en",
            "confirmed_at": "2026-01-05T10:00:00Z",
            "created_at": "2026-01-05T09:58:00Z",
            "setup_complete": True,
            "business_memberships": memberships,
            "roles": roles,
            "groups": [],
            "permissions": {},
            "subscription_statuses": {},
            "integrations": {},
        }
