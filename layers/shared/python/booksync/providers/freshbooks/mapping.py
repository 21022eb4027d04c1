"""booksync documents <-> FreshBooks accounting JSON (providers.md 3.3 and 7.2; the official
``freshbooks-sdk`` 1.3.0 and FreshBooks' API pages it quotes).

Pure functions: no I/O, so every shape is testable without a server.

- Money travels as ``{"amount": "<decimal string>", "code": "<ISO 4217>"}``: never a float.
- A client carries booksync's customer id in its ``note``, on a line of its own
  (``booksync:customer:<id>``, what the lookups match; ``booksync:<id>``, the form written before,
  is still read as that customer's), after whatever a person wrote there, which booksync keeps
  (``marked_note``); under its ``organization`` (booksync's display name), first and last
  name, e-mail, phone and billing address. FreshBooks keeps two clients under one name: booksync's
  lookups go by the marker, then by e-mail, then by name only where the record surely is this
  customer.
- An item is keyed by its ``name`` (FreshBooks keeps two under one name too).
- An invoice is created as a FreshBooks draft and then marked sent (``action_mark_as_sent``):
  booksync never leaves one a draft there (its own drafts never sync). It carries its number and
  booksync's marker (``po_number``, FreshBooks' "Reference"), its lines by item name, the memo as
  its ``notes``, booksync's discount as FreshBooks' invoice discount (a percentage) and booksync's
  tax as each taxable line's tax (``taxName1``/``taxAmount1``: a percentage with at most three
  decimals; a rate that cannot be said so is refused, never rounded).
- A payment pays one invoice (``invoiceid``) and carries booksync's marker first in its ``note``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from booksync import currency as iso
from booksync.documents import DOC_ID_PATTERN, Customer, DocumentKind, Invoice, Item, Payment, PaymentMethod
from booksync.errors import Rejected
from booksync.providers.declaration import Unsayable
from booksync.providers.freshbooks import LABEL, PROVIDER
from booksync.providers.port import InvoiceRefs, Named, PaymentRefs, RemoteCustomer, RemoteObject
from booksync.providers.text import clean_line, clean_text, distinct_name, not_empty, unlinked_item
from booksync.providers.text import decimal_or_none as _decimal
from booksync.providers.text import line as _line
from booksync.providers.text import put as _put
from booksync.providers.text import text_or_none as _text

Json = dict[str, Any]

NAME_MAX = 255
ITEM_NAME_MAX = 255
DESCRIPTION_MAX = 4000
INVOICE_NUMBER_MAX = 255
PO_NUMBER_MAX = 255
NOTE_SEPARATOR = " | "
CLIENT_MARK = "booksync:customer:"
# A line of a client's note that is booksync's mark and nothing else (a customer id follows it).
_MARK_LINE = re.compile(re.escape(CLIENT_MARK) + DOC_ID_PATTERN.removeprefix("^").removesuffix("$"))
# The mark booksync wrote before (``booksync:<id>``): a person's line may read so too
# ("booksync:ok"), so it is only ever read as the mark of the one customer it names exactly.
_OLD_MARK = "booksync:"
# FreshBooks takes at most two taxes on a line, each a percentage with at most 3 decimals.
TAX_PLACES = 3
TAX_NAME = "Sales tax"
# FreshBooks' invoice discount is a percentage (at most 3 decimals, as its taxes); booksync's
# amount discount is said as the one percentage that gives exactly that amount, else refused.
DISCOUNT_PLACES = 3
# FreshBooks' vis_state: 0 active, 1 deleted, 2 archived.
ACTIVE, DELETED, ARCHIVED = 0, 1, 2
# FreshBooks' invoice status: 1 draft, 2 sent, 3 viewed, 4 paid, 5 auto-paid, 6 retry, 7 failed, 8 partial.
DRAFT = 1
PAYMENT_TYPES: Mapping[PaymentMethod, str] = {
    PaymentMethod.CASH: "Cash",
    PaymentMethod.CHECK: "Check",
    PaymentMethod.CREDIT_CARD: "Credit Card",
    PaymentMethod.BANK_TRANSFER: "Bank Transfer",
    PaymentMethod.OTHER: "Other",
}


def _not_empty(name: str, what: str, original: str) -> str:
    return not_empty(name, what, original, provider=PROVIDER, label=LABEL)


def money(amount: Decimal, currency: str) -> Json:
    """An amount as FreshBooks takes it: a decimal string with its currency."""
    return {"amount": format(amount, "f"), "code": currency}


def amount_of(value: Any) -> Decimal | None:
    """``{"amount": "10.00", "code": "USD"}`` (or a bare number) as Decimal."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    return _decimal(value)


def ident(obj: Mapping[str, Any], *keys: str) -> str:
    """The record's id: ``id`` or its own (``userid``, ``invoiceid``...), whichever it carries."""
    for key in ("id", *keys):
        if obj.get(key) is not None:
            return str(obj[key])
    raise KeyError(f"a {LABEL} record without an id: {sorted(obj)}")


def numeric(remote_id: str) -> int | str:
    """A FreshBooks id as its JSON carries one: a number."""
    return int(remote_id) if remote_id.isdigit() else remote_id


def live(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("vis_state", ACTIVE) != DELETED)


# ---------------------------------------------------------------------- clients


def client_mark(customer: Customer) -> str:
    return f"{CLIENT_MARK}{customer.id}"


def _old_mark(customer: Customer) -> str:
    return f"{_OLD_MARK}{customer.id}"


def _kept_whole(name: str, doc_id: str, limit: int) -> str:
    """``name`` cleaned; one longer than FreshBooks keeps is shortened with the document's own tag
    ("Replacement cartridge, ... (k3f9qz)"), the same each time: two long names that share their
    start never meet under one name there (FreshBooks would keep both, and its invoice lines name
    their item by name)."""
    whole = clean_line(name, len(name) + 1)
    return whole if len(whole) <= limit else distinct_name(whole, doc_id, limit)


def client_name(customer: Customer) -> str:
    name = _kept_whole(customer.display_name, customer.id, NAME_MAX)
    return _not_empty(name, "customer", customer.display_name)


def client_body(customer: Customer, currency: str | None = None, *, note: str | None = None) -> Json:
    """``currency``: the client's, on create only. ``note``: the whole note to write (with
    booksync's mark: ``marked_note``); none leaves the note FreshBooks holds as it is (a person's
    text beside booksync's mark is theirs)."""
    body: Json = {"organization": client_name(customer)}
    _put(body, "note", note)
    _put(body, "currency_code", currency)
    _put(body, "fname", _line(customer.given_name, NAME_MAX))
    _put(body, "lname", _line(customer.family_name, NAME_MAX))
    _put(body, "email", _line(customer.email, NAME_MAX))
    _put(body, "bus_phone", _line(customer.phone, 50))
    address = customer.billing_address
    if address is not None:
        _put(body, "p_street", _line(address.line1, NAME_MAX))
        _put(body, "p_street2", _line(address.line2, NAME_MAX))
        _put(body, "p_city", _line(address.city, NAME_MAX))
        _put(body, "p_province", _line(address.region, NAME_MAX))
        _put(body, "p_code", _line(address.postal_code, 50))
        _put(body, "p_country", _line(address.country, NAME_MAX))
    return body


def _note_lines(obj: Mapping[str, Any]) -> list[str]:
    note = obj.get("note")
    return note.splitlines() if isinstance(note, str) else []


def _mark_line(line: str) -> bool:
    return _MARK_LINE.fullmatch(line.strip()) is not None


def client_marker(obj: Mapping[str, Any]) -> str | None:
    """booksync's mark in the client's note: its line that is ``booksync:customer:<id>`` and
    nothing else, wherever it stands among a person's lines."""
    return next((line.strip() for line in _note_lines(obj) if _mark_line(line)), None)


def marked_for(obj: Mapping[str, Any], customer: Customer) -> bool:
    """Whether the client carries booksync's mark of ``customer``: its mark, or the one booksync
    wrote before (``booksync:<id>``, for clients marked then)."""
    marks = {client_mark(customer), _old_mark(customer)}
    return any(line.strip() in marks for line in _note_lines(obj))


def marked_note(note: str | None, customer: Customer) -> str:
    """The client's ``note`` with booksync's mark of ``customer`` on a line of its own after a
    person's text, which stays as they wrote it: only booksync's own mark lines go (a mark already
    there, or this customer's in the form written before), so it is never doubled."""
    old = _old_mark(customer)
    kept = (line for line in (note or "").splitlines() if not _mark_line(line) and line.strip() != old)
    theirs = "\n".join(kept).rstrip()
    mark = client_mark(customer)
    return f"{theirs}\n{mark}" if theirs.strip() else mark


def changed_at(obj: Mapping[str, Any]) -> str | None:
    """The record's ``updated`` stamp, as its version: FreshBooks keeps no version (nothing is
    sent with an update), but a thin webhook event's record read at the stamp booksync's own
    write answered is booksync's own write, and any later change is someone else's."""
    return _text(obj.get("updated"))


def to_client(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=ident(obj, "userid"),
        version=changed_at(obj),
        name=_text(obj.get("organization")) or display_name(obj),
        active=obj.get("vis_state", ACTIVE) == ACTIVE,
        marker=client_marker(obj),
        currency=_text(obj.get("currency_code")),
    )


def display_name(obj: Mapping[str, Any]) -> str:
    """How FreshBooks shows a client: its organization, else its first and last name, else e-mail."""
    person = " ".join(part for part in (_text(obj.get("fname")), _text(obj.get("lname"))) if part)
    return _text(obj.get("organization")) or person or _text(obj.get("email")) or ""


def to_remote_customer(obj: Mapping[str, Any]) -> RemoteCustomer:
    """A client as the wizard's duplicate judgement reads one."""
    return RemoteCustomer(
        id=ident(obj, "userid"),
        display_name=display_name(obj),
        given_name=_text(obj.get("fname")),
        family_name=_text(obj.get("lname")),
        company_name=_text(obj.get("organization")),
        email=_text(obj.get("email")),
        phone=_text(obj.get("bus_phone")) or _text(obj.get("mob_phone")),
        active=obj.get("vis_state", ACTIVE) == ACTIVE,
    )


# ---------------------------------------------------------------------- items


def item_name(item: Item) -> str:
    return _not_empty(_kept_whole(item.name, item.id, ITEM_NAME_MAX), "item", item.name)


def item_body(item: Item) -> Json:
    """An item's price has no currency in booksync: FreshBooks keeps it in the business's."""
    body: Json = {"name": item_name(item), "unit_cost": {"amount": format(item.unit_price, "f")}}
    _put(body, "description", clean_text(item.description, DESCRIPTION_MAX) if item.description else None)
    _put(body, "sku", _line(item.sku, 100))
    return body


def to_item(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=ident(obj, "itemid"),
        version=changed_at(obj),
        name=_text(obj.get("name")),
        total=amount_of(obj.get("unit_cost")),
        active=obj.get("vis_state", ACTIVE) == ACTIVE,
    )


def distinct(document: Named) -> Named:
    """``document`` under a name unique to it ("Jane Smith (k3f9qz)"), the same each time."""
    if isinstance(document, Customer):
        return document.model_copy(
            update={"display_name": distinct_name(client_name(document), document.id, NAME_MAX)}
        )
    return document.model_copy(
        update={"name": distinct_name(item_name(document), document.id, ITEM_NAME_MAX)}
    )


# ---------------------------------------------------------------------- invoices


def invoice_number(invoice: Invoice) -> str:
    return clean_line(invoice.number, INVOICE_NUMBER_MAX)


def _rate_unsayable(rate: Decimal) -> Unsayable | None:
    said = rate.quantize(Decimal(1).scaleb(-TAX_PLACES))
    if said == rate:
        return None
    return Unsayable(
        "tax_rate_percent",
        f"must have at most {TAX_PLACES} decimals: {LABEL} takes a tax as a percentage with at most "
        f"{TAX_PLACES} decimals, and {rate.normalize()}% cannot be said that way (booksync does not "
        "round it)",
        f"Give tax_rate_percent with at most {TAX_PLACES} decimals, then sync the invoice again.",
    )


def _discount(invoice: Invoice) -> tuple[Decimal | None, Unsayable | None]:
    """booksync's discount as FreshBooks' invoice discount (a percentage of the subtotal): a
    percent as it is; an amount as the percentage that gives exactly it, else what cannot be said."""
    discount = invoice.discount
    if discount is None or not invoice.discount_amount:
        return None, None
    if discount.kind == "percent":
        rate = discount.value.normalize()
        if rate != rate.quantize(Decimal(1).scaleb(-DISCOUNT_PLACES)):
            return None, Unsayable(
                "discount",
                f"must be a percent with at most {DISCOUNT_PLACES} decimals: {LABEL} takes no finer one",
                f"Give the discount with at most {DISCOUNT_PLACES} decimals, then sync the invoice again.",
            )
        return rate, None
    subtotal = invoice.subtotal
    percent = (invoice.discount_amount * 100 / subtotal).quantize(Decimal(1).scaleb(-DISCOUNT_PLACES))
    if (subtotal * percent / 100).quantize(iso.unit(invoice.currency)) == invoice.discount_amount:
        return percent.normalize(), None
    return None, Unsayable(
        "discount",
        f"cannot be said in {LABEL}, which takes a discount as a percentage of the subtotal (at most "
        f"{DISCOUNT_PLACES} decimals), and no percentage gives exactly {invoice.discount_amount} of "
        f"{subtotal}",
        "Give the discount as a percent, then sync the invoice again.",
    )


def unsayable(kind: DocumentKind, document: object) -> list[Unsayable]:
    """What of an invoice FreshBooks cannot hold as given (its declaration's ``unsayable``: refused
    at the door for a company whose books are in FreshBooks, and before each push)."""
    if kind is not DocumentKind.INVOICE or not isinstance(document, Invoice):
        return []
    rate = document.tax_rate_percent
    found = [_rate_unsayable(rate) if rate else None, _discount(document)[1]]
    return [problem for problem in found if problem is not None]


def _refused(invoice: Invoice, problem: Unsayable) -> Rejected:
    return Rejected(
        f"Invoice {invoice.number}: {problem.field} {problem.message}", provider=PROVIDER, fix=problem.fix
    )


def tax_percent(invoice: Invoice) -> Decimal | None:
    """booksync's rate as FreshBooks takes a line's tax (a percentage, at most 3 decimals);
    None when the invoice bears none. A rate finer than that is refused: never rounded."""
    rate = invoice.tax_rate_percent
    if not rate:
        return None
    problem = _rate_unsayable(rate)
    if problem is not None:
        raise _refused(invoice, problem)
    return rate.normalize()


def discount_percent(invoice: Invoice) -> Decimal | None:
    percent, problem = _discount(invoice)
    if problem is not None:
        raise _refused(invoice, problem)
    return percent


def invoice_body(invoice: Invoice, refs: InvoiceRefs, item_names: Mapping[str, str]) -> Json:
    """The invoice as FreshBooks takes it. ``item_names``: remote item id -> its name there."""
    rate = tax_percent(invoice)
    lines = []
    for line in invoice.lines:
        name = item_names.get(refs.item_ids.get(line.item_id) or "")
        if name is None:
            raise unlinked_item(line.item_id, provider=PROVIDER, label=LABEL)
        body: Json = {
            "type": 0,  # a line of an item or service (1: time)
            "name": name,
            "qty": format(line.quantity.normalize(), "f"),
            "unit_cost": money(line.unit_price, invoice.currency),
        }
        _put(body, "description", clean_text(line.description, DESCRIPTION_MAX) if line.description else None)
        if rate is not None and line.taxable:
            body["taxName1"] = TAX_NAME
            body["taxAmount1"] = format(rate, "f")
        lines.append(body)
    element: Json = {
        "customerid": numeric(refs.customer_id),
        "invoice_number": invoice_number(invoice),
        "po_number": marker_text(refs.marker),
        "create_date": invoice.issue_date.isoformat(),
        "due_offset_days": ((invoice.due_date or invoice.issue_date) - invoice.issue_date).days,
        "currency_code": invoice.currency,
        "lines": lines,
        "notes": clean_text(invoice.memo, DESCRIPTION_MAX) if invoice.memo else "",
        "discount_value": format(discount_percent(invoice) or Decimal(0), "f"),
    }
    return element


def marker_text(marker: str) -> str:
    return clean_line(marker, PO_NUMBER_MAX)


def is_draft(obj: Mapping[str, Any]) -> bool:
    status = obj.get("v3_status")
    if isinstance(status, str):
        return status.lower() == "draft"
    return str(obj.get("status")) == str(DRAFT)


def to_invoice(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=ident(obj, "invoiceid"),
        version=changed_at(obj),
        name=_text(obj.get("invoice_number")),
        total=amount_of(obj.get("amount")),
        balance=amount_of(obj.get("outstanding")),
        active=live(obj),
        marker=_text(obj.get("po_number")),
        currency=_text(obj.get("currency_code")),
    )


def carries_marker(obj: Mapping[str, Any], marker: str) -> bool:
    return _text(obj.get("po_number")) == marker_text(marker)


# ---------------------------------------------------------------------- payments


def marked(marker: str, text: str | None) -> str:
    """booksync's marker first (what the lookups match), a person's reference after it."""
    mark = clean_line(marker, len(marker) + 1)
    return mark if not text else f"{mark}{NOTE_SEPARATOR}{' '.join(text.split())}"


def note_marker(obj: Mapping[str, Any]) -> str | None:
    note = _text(obj.get("note"))
    return note.split(NOTE_SEPARATOR)[0].strip() if note else None


def payment_body(payment: Payment, refs: PaymentRefs, invoice_id: str, amount: Decimal) -> Json:
    return {
        "invoiceid": numeric(invoice_id),
        "amount": money(amount, refs.currency),
        "date": payment.date.isoformat(),
        "type": PAYMENT_TYPES[payment.method],
        "note": marked(refs.marker, payment.reference),
    }


def is_payment(obj: Mapping[str, Any], invoice_id: str, when: date, amount: Decimal, marker: str) -> bool:
    """The live payment booksync wrote for this invoice, date, amount and marker."""
    return (
        live(obj)
        and str(obj.get("invoiceid")) == invoice_id
        and str(obj.get("date")) == when.isoformat()
        and amount_of(obj.get("amount")) == amount
        and note_marker(obj) == clean_line(marker, len(marker) + 1)
    )


def to_payment(obj: Mapping[str, Any]) -> RemoteObject:
    return RemoteObject(
        id=ident(obj, "paymentid"),
        total=amount_of(obj.get("amount")),
        active=live(obj),
        marker=note_marker(obj),
    )


def first(rows: Sequence[Json]) -> Json | None:
    return rows[0] if rows else None
