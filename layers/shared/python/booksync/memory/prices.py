"""Price facts: what the company charged for an item, computed from its stored invoice lines.

Not from embeddings: ``GET /memory/prices`` and the memory's answers read the company's records
(``RecordStore.all``) and count. A line is a charge when it is on an invoice (not an estimate,
not a draft or a void) and its item is the one asked for: by id or name (``item``), or by words
(``q``: every word of it in the line's item name or description). Money is ``Decimal`` and never
mixed across currencies: each currency the item was charged in gets its own facts.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from booksync import currency as iso
from booksync.documents import CURRENCY_PATTERN, DocId
from booksync.memory.ports import RecordStore
from booksync.memory.records import BillingRecord, RecordFilter, RecordKind, RecordLine

TREND_MONTHS = 12
TREND_LEAST_CHARGES = 4  # two halves of at least two charges each
FLAT_WITHIN_PERCENT = Decimal(3)
NOT_CHARGED = frozenset({"draft", "void", "voided", "deleted"})
SUBJECT_MAX = 200
ItemText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SUBJECT_MAX)]
CurrencyCode = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]


class PriceQuery(BaseModel):
    """What to price: an item (its id or name) or free text; the query of GET /memory/prices and
    the parameters of the ``billing_prices`` tool."""

    model_config = ConfigDict(extra="forbid")
    item: ItemText | None = Field(
        default=None,
        description='An item\'s id, or its name (letter case and spacing aside), e.g. "Water heater install"',
    )
    q: ItemText | None = Field(
        default=None,
        description="Free text instead of item: the lines whose item name or description holds "
        'every word of it (a plural counts as its singular), e.g. "water heater install"',
    )
    currency: CurrencyCode | None = Field(
        default=None, description='Only charges in this ISO 4217 currency, e.g. "USD"'
    )
    customer_id: DocId | None = Field(default=None, description="Only charges to this customer")

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.item is None) == (self.q is None):
            raise PydanticCustomError(
                "price_subject",
                "name the item (item) or describe it (q), one of the two",
                {"fix": 'Send item="<item id or name>" or q="<words of the item>", not both.'},
            )
        return self


class LastCharge(BaseModel):
    key: str = Field(description="<kind>#<doc_id>: the invoice, as answers cite it")
    doc_id: str
    number: str | None
    date: date
    customer_name: str | None
    quantity: Decimal
    unit_price: Decimal


class MonthMedian(BaseModel):
    month: str = Field(description="YYYY-MM")
    charges: int
    median_unit_price: Decimal


class Trend(BaseModel):
    months: list[MonthMedian] = Field(description="The months of the last 12 with a charge, oldest first")
    direction: Literal["up", "down", "flat", "unknown"]
    change_percent: Decimal | None
    basis: str = Field(description="How the direction was found, in words")


class CurrencyFacts(BaseModel):
    currency: str
    times_charged: int = Field(description="Invoice lines charging for the item")
    documents: int = Field(description="Invoices with such a line")
    median_unit_price: Decimal
    min_unit_price: Decimal
    max_unit_price: Decimal
    typical_markup_percent: Decimal | None = Field(
        description="The median of (unit price - unit cost) / unit cost over the lines whose unit "
        "cost is known (more than 0); null when none is"
    )
    markup_basis: str
    first_charged: date
    last_charged: LastCharge
    trend: Trend


class ItemSeen(BaseModel):
    item_id: str | None
    item_name: str


class PriceFacts(BaseModel):
    """The answer of GET /memory/prices: one entry per currency the item was charged in."""

    subject: str = Field(description="What was priced: the item, or the words asked for")
    items: list[ItemSeen] = Field(description="The items whose lines were counted")
    by_currency: list[CurrencyFacts] = Field(description="Most charged first; empty when none matched")
    message: str = Field(description="The facts in one sentence, or why there are none")


@dataclass(frozen=True)
class Charge:
    record: BillingRecord
    line: RecordLine


def words(text: str) -> list[str]:
    """Lower-case words, a plural folded to its singular ("installs" -> "install")."""
    return [_singular(word) for word in re.findall(r"[a-z0-9]+", text.lower())]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


def line_matches(query: PriceQuery, line: RecordLine) -> bool:
    if query.item is not None:
        return line.item_id == query.item or _folded(line.item_name) == _folded(query.item)
    wanted = set(words(query.q or ""))
    return bool(wanted) and wanted <= set(words(f"{line.item_name} {line.description}"))


def charges(records: Iterable[BillingRecord], query: PriceQuery) -> list[Charge]:
    """The invoice lines the query is about, oldest first."""
    found = [
        Charge(record, line)
        for record in records
        if record.kind is RecordKind.INVOICE and record.status not in NOT_CHARGED
        for line in record.lines
        if line_matches(query, line)
    ]
    return sorted(found, key=lambda c: (c.record.date, c.record.doc_id))


def money_text(amount: Decimal, currency: str) -> str:
    """``$1,450.00`` for USD, ``1,450.00 EUR`` otherwise: the currency always said."""
    places = iso.minor_units(currency)
    text = f"{amount:,.{places}f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


class PriceBook:
    """Price facts of a company's items from its records (``today`` ends the trend's window)."""

    def __init__(self, records: RecordStore, today: Callable[[], date] | None = None) -> None:
        self._records = records
        self._today = today or (lambda: datetime.now(UTC).date())

    def facts(self, company_id: str, query: PriceQuery, within: RecordFilter | None = None) -> PriceFacts:
        """The facts of ``query``'s item, counted only from the invoices ``within`` lets through
        (None: every invoice), as the memory's answers narrow them by the question's filters."""
        narrowed = RecordFilter.of(kinds=[RecordKind.INVOICE], customer_id=query.customer_id, item=query.item)
        records = self._records.all(company_id, narrowed)
        kept = records if within is None else [r for r in records if within.matches(r)]
        return facts_of(charges(kept, query), query, self._today())

    def record(self, company_id: str, key: str) -> BillingRecord | None:
        return self._records.get(company_id, key)


def facts_of(found: Sequence[Charge], query: PriceQuery, today: date) -> PriceFacts:
    if query.currency is not None:
        found = [c for c in found if c.record.currency == query.currency]
    # Called by its item's name (the latest line's) when every line found is of that one item.
    names = {_folded(c.line.item_name) for c in found}
    subject = found[-1].line.item_name if len(names) == 1 else query.item or query.q or ""
    by_currency: dict[str, list[Charge]] = defaultdict(list)
    for charge in found:
        by_currency[charge.record.currency].append(charge)
    groups = sorted(by_currency.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    seen = {(c.line.item_id, c.line.item_name): None for c in found}
    facts = [_currency_facts(currency, group, today) for currency, group in groups]
    return PriceFacts(
        subject=subject,
        items=[ItemSeen(item_id=i, item_name=n) for i, n in seen],
        by_currency=facts,
        message=_sentence(subject, facts, query),
    )


def _quantized(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(iso.unit(currency), rounding=ROUND_HALF_EVEN)


def _median(values: Sequence[Decimal], currency: str) -> Decimal:
    return _quantized(statistics.median(values), currency)


def _currency_facts(currency: str, group: list[Charge], today: date) -> CurrencyFacts:
    prices = [c.line.unit_price for c in group]
    last = group[-1]
    markups = [
        (c.line.unit_price - c.line.unit_cost) / c.line.unit_cost * 100
        for c in group
        if c.line.unit_cost is not None and c.line.unit_cost > 0
    ]
    markup = statistics.median(markups).quantize(Decimal("0.1")) if markups else None
    return CurrencyFacts(
        currency=currency,
        times_charged=len(group),
        documents=len({c.record.doc_id for c in group}),
        median_unit_price=_median(prices, currency),
        min_unit_price=min(prices),
        max_unit_price=max(prices),
        typical_markup_percent=markup,
        markup_basis=(
            f"the median over the {len(markups)} of {len(group)} charges whose unit cost is known"
            if markups
            else f"no unit cost is known on any of the {len(group)} charges"
        ),
        first_charged=group[0].record.date,
        last_charged=LastCharge(
            key=last.record.key,
            doc_id=last.record.doc_id,
            number=last.record.number,
            date=last.record.date,
            customer_name=last.record.customer_name,
            quantity=last.line.quantity,
            unit_price=last.line.unit_price,
        ),
        trend=trend(group, currency, today),
    )


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _window_start(today: date) -> date:
    """The first day of the month ``TREND_MONTHS - 1`` months before today's."""
    months = today.year * 12 + today.month - 1 - (TREND_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def trend(group: Sequence[Charge], currency: str, today: date) -> Trend:
    """Monthly medians over the last 12 months (today's month included), and a direction: the
    median of the newer half of those charges against the older half's, flat within 3 %."""
    start = _window_start(today)
    recent = [c for c in group if start <= c.record.date <= today]
    by_month: dict[str, list[Decimal]] = defaultdict(list)
    for charge in recent:
        by_month[_month(charge.record.date)].append(charge.line.unit_price)
    months = [
        MonthMedian(month=month, charges=len(prices), median_unit_price=_median(prices, currency))
        for month, prices in sorted(by_month.items())
    ]
    since = f"since {start.isoformat()}"
    if len(recent) < TREND_LEAST_CHARGES:
        return Trend(
            months=months,
            direction="unknown",
            change_percent=None,
            basis=f"{len(recent)} charge{'s' * (len(recent) != 1)} {since}: a trend needs at least "
            f"{TREND_LEAST_CHARGES}",
        )
    half = len(recent) // 2
    older, newer = recent[: len(recent) - half], recent[len(recent) - half :]
    before = _median([c.line.unit_price for c in older], currency)
    after = _median([c.line.unit_price for c in newer], currency)
    change = ((after - before) / before * 100).quantize(Decimal("0.1")) if before else None
    direction: Literal["up", "down", "flat"] = (
        "flat" if change is None or abs(change) < FLAT_WITHIN_PERCENT else "up" if change > 0 else "down"
    )
    return Trend(
        months=months,
        direction=direction,
        change_percent=change,
        basis=(
            f"median of the {len(newer)} newest charges {since} ({money_text(after, currency)}, "
            f"{_span(newer)}) against the {len(older)} before them ({money_text(before, currency)}, "
            f"{_span(older)}): {'' if change is None else f'{change:+}%'}"
            f"{', flat within 3%' if direction == 'flat' else ''}"
        ),
    )


def _span(group: Sequence[Charge]) -> str:
    first, last = group[0].record.date, group[-1].record.date
    return first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"


def _sentence(subject: str, facts: Sequence[CurrencyFacts], query: PriceQuery) -> str:
    if not facts:
        narrowed = f" in {query.currency}" if query.currency else ""
        return (
            f"No invoice line in the billing memory charges for {subject!r}{narrowed}."
            if query.item is not None
            else f"No invoice line in the billing memory holds every word of {subject!r}{narrowed}."
        )
    return " ".join(summary(subject, f) for f in facts)


def summary(subject: str, facts: CurrencyFacts) -> str:
    """One currency's facts in a sentence: "You charged for water heater install 14 times since
    March 2026: median $1,450.00 (from $1,200.00 to $1,600.00), last on INV-2043 (2026-11-20) at
    $1,500.00."""
    c = facts.currency
    last = facts.last_charged
    times = f"{facts.times_charged} time{'s' * (facts.times_charged != 1)}"
    spread = (
        f"{money_text(facts.median_unit_price, c)}"
        if facts.min_unit_price == facts.max_unit_price
        else f"median {money_text(facts.median_unit_price, c)} (from {money_text(facts.min_unit_price, c)} "
        f"to {money_text(facts.max_unit_price, c)})"
    )
    markup = (
        f" Typical markup over cost: {facts.typical_markup_percent}%."
        if facts.typical_markup_percent is not None
        else ""
    )
    trend = (
        f" Over the last 12 months the price went {facts.trend.direction} ({facts.trend.change_percent:+}%)."
        if facts.trend.direction in ("up", "down")
        else " Over the last 12 months the price held flat."
        if facts.trend.direction == "flat"
        else ""
    )
    return (
        f"You charged for {subject} {times} since {facts.first_charged.strftime('%B %Y')}: {spread}, "
        f"last on {last.number or last.doc_id} ({last.date.isoformat()}) at "
        f"{money_text(last.unit_price, c)}.{markup}{trend}"
    )
