"""The billing memory's records: one sent invoice, estimate or payment of a company, as remembered.

A record is what the memory embeds and keyword-searches (``BillingRecord.text``) and what price
facts are computed from (its lines). ``content_hash`` covers every field, so an unchanged document
is recognised and never embedded twice. Money is ``Decimal`` throughout; stored as strings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from booksync.errors import InvalidRequest


class RecordKind(StrEnum):
    INVOICE = "invoice"
    ESTIMATE = "estimate"
    PAYMENT = "payment"


def record_key(kind: RecordKind | str, doc_id: str) -> str:
    """A record's key within its company: ``<kind>#<doc_id>`` (the MemoryTable's sort key, the
    vector store's key)."""
    return f"{RecordKind(kind).value}#{doc_id}"


def _money(value: Any, name: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidRequest(
            f"{name} is not an amount: {value!r}", fix=f"Send {name} as a decimal number, e.g. 125.50."
        ) from exc
    if not amount.is_finite():
        raise InvalidRequest(f"{name} is not a finite amount: {value!r}", fix=f"Send {name} as a number.")
    return amount


def _plain(amount: Decimal) -> str:
    """``Decimal`` as stored and hashed: no exponent, trailing zeros kept as given."""
    return format(amount, "f")


@dataclass(frozen=True)
class RecordLine:
    """One line of a billing document: the item, how many, at what unit price (and cost, where
    known: the markup comes from it)."""

    item_id: str | None
    item_name: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal | None
    amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "item_name": self.item_name,
            "description": self.description,
            "quantity": _plain(self.quantity),
            "unit_price": _plain(self.unit_price),
            "unit_cost": None if self.unit_cost is None else _plain(self.unit_cost),
            "amount": _plain(self.amount),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordLine:
        cost = data.get("unit_cost")
        return cls(
            item_id=data.get("item_id"),
            item_name=str(data.get("item_name") or ""),
            description=str(data.get("description") or ""),
            quantity=_money(data.get("quantity", "1"), "quantity"),
            unit_price=_money(data["unit_price"], "unit_price"),
            unit_cost=None if cost is None else _money(cost, "unit_cost"),
            amount=_money(data["amount"], "amount"),
        )


@dataclass(frozen=True)
class BillingRecord:
    """A company's sent invoice, estimate or recorded payment, as the memory keeps it.

    ``invoice_id`` is the paid invoice's id, for a payment (None otherwise). ``status`` is the
    document's own (sent, paid, accepted, declined, recorded...), lower case.
    """

    company_id: str
    kind: RecordKind
    doc_id: str
    number: str | None
    status: str
    customer_id: str | None
    customer_name: str | None
    date: date
    total: Decimal
    currency: str
    lines: tuple[RecordLine, ...] = ()
    memo: str | None = None
    invoice_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind.value}#{self.doc_id}"

    def text(self) -> str:
        """What is embedded and keyword-searched: the document in words, one line per item."""
        title = f"{self.kind.value.capitalize()} {self.number or self.doc_id}"
        who = f" for {self.customer_name}" if self.customer_name else ""
        head = (
            f"{title}{who} on {self.date.isoformat()} ({self.date.strftime('%B %Y')}), "
            f"status {self.status}, total {self.currency} {_plain(self.total)}."
        )
        parts = [head]
        if self.kind is RecordKind.PAYMENT and self.invoice_id:
            parts.append(f"Payment of invoice {self.invoice_id}.")
        for line in self.lines:
            described = f"{line.item_name}: {line.description}" if line.description else line.item_name
            parts.append(
                f"{described}. {_plain(line.quantity)} x {_plain(line.unit_price)} = {_plain(line.amount)}."
            )
        if self.memo:
            parts.append(f"Memo: {self.memo}")
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (amounts as decimal strings, the date ISO): how the record is stored."""
        return {
            "company_id": self.company_id,
            "kind": self.kind.value,
            "doc_id": self.doc_id,
            "number": self.number,
            "status": self.status,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "date": self.date.isoformat(),
            "total": _plain(self.total),
            "currency": self.currency,
            "lines": [line.to_dict() for line in self.lines],
            "memo": self.memo,
            "invoice_id": self.invoice_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BillingRecord:
        return cls(
            company_id=str(data["company_id"]),
            kind=RecordKind(data["kind"]),
            doc_id=str(data["doc_id"]),
            number=data.get("number"),
            status=str(data["status"]).lower(),
            customer_id=data.get("customer_id"),
            customer_name=data.get("customer_name"),
            date=date.fromisoformat(str(data["date"])),
            total=_money(data["total"], "total"),
            currency=str(data["currency"]),
            lines=tuple(RecordLine.from_dict(line) for line in data.get("lines") or ()),
            memo=data.get("memo"),
            invoice_id=data.get("invoice_id"),
        )

    def content_hash(self) -> str:
        """SHA-256 of the whole record in canonical JSON: equal for an unchanged document."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _folded(text: str | None) -> str:
    return " ".join((text or "").lower().split())


@dataclass(frozen=True)
class RecordFilter:
    """Which records a search or a price question may see; every field set narrows, None is any.

    ``item`` matches a line's item id exactly, or its item name without regard to case and spacing.
    ``currency`` keeps the records in that currency only; amounts bound the record's total, both
    ends included (the API takes them only with a currency, so totals of two currencies are never
    compared); dates likewise.
    """

    customer_id: str | None = None
    kinds: frozenset[RecordKind] | None = None
    statuses: frozenset[str] | None = None
    date_from: date | None = None
    date_to: date | None = None
    item: str | None = None
    currency: str | None = None
    min_total: Decimal | None = None
    max_total: Decimal | None = None
    _item_folded: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "_item_folded", _folded(self.item))

    @classmethod
    def of(
        cls,
        *,
        customer_id: str | None = None,
        kinds: Collection[RecordKind | str] | None = None,
        statuses: Collection[str] | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        item: str | None = None,
        currency: str | None = None,
        min_total: Decimal | None = None,
        max_total: Decimal | None = None,
    ) -> RecordFilter:
        """A filter from plain values (kinds and statuses as strings, any case)."""
        return cls(
            customer_id=customer_id,
            kinds=None if kinds is None else frozenset(RecordKind(k) for k in kinds),
            statuses=None if statuses is None else frozenset(s.lower() for s in statuses),
            date_from=date_from,
            date_to=date_to,
            item=item,
            currency=currency,
            min_total=min_total,
            max_total=max_total,
        )

    def matches(self, record: BillingRecord) -> bool:
        if self.customer_id is not None and record.customer_id != self.customer_id:
            return False
        if self.kinds is not None and record.kind not in self.kinds:
            return False
        if self.statuses is not None and record.status not in self.statuses:
            return False
        if self.date_from is not None and record.date < self.date_from:
            return False
        if self.date_to is not None and record.date > self.date_to:
            return False
        if self.currency is not None and record.currency != self.currency:
            return False
        if self.min_total is not None and record.total < self.min_total:
            return False
        if self.max_total is not None and record.total > self.max_total:
            return False
        if self.item is not None:
            return any(
                line.item_id == self.item or _folded(line.item_name) == self._item_folded
                for line in record.lines
            )
        return True


ANY = RecordFilter()
