"""Price facts from stored invoice lines (booksync/memory/prices.py): counts, median, spread,
markup, last charge, a 12-month trend with its basis, and never a figure across two currencies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from booksync.memory.prices import PriceBook, PriceQuery
from booksync.memory.records import BillingRecord, RecordKind, RecordLine
from pydantic import ValidationError

from tests.fakes.memory_search import stored

TODAY = date(2026, 12, 7)
HEATER = ("item-wh", "Water heater install")


def record(
    doc_id: str,
    day: str,
    *lines: tuple[tuple[str, str], str, str | None],
    kind: RecordKind = RecordKind.INVOICE,
    status: str = "sent",
    currency: str = "USD",
    company: str = "acme",
    customer: str = "Harper Plumbing",
) -> BillingRecord:
    built = tuple(
        RecordLine(
            item_id=item[0],
            item_name=item[1],
            description="",
            quantity=Decimal(1),
            unit_price=Decimal(price),
            unit_cost=None if cost is None else Decimal(cost),
            amount=Decimal(price),
        )
        for item, price, cost in lines
    )
    return BillingRecord(
        company_id=company,
        kind=kind,
        doc_id=doc_id,
        number=f"INV-{doc_id}",
        status=status,
        customer_id="c-1",
        customer_name=customer,
        date=date.fromisoformat(day),
        total=sum((line.amount for line in built), Decimal(0)),
        currency=currency,
        lines=built,
    )


def book(*records: BillingRecord) -> PriceBook:
    return PriceBook(stored(records), today=lambda: TODAY)


HISTORY = (
    record("2001", "2026-03-10", (HEATER, "1400.00", "1000.00")),
    record("2002", "2026-05-02", (HEATER, "1450.00", None), (("item-trip", "Trip charge"), "75.00", None)),
    record("2003", "2026-07-19", (HEATER, "1450.00", "1000.00")),
    record("2004", "2026-09-01", (HEATER, "1500.00", None)),
    record("2005", "2026-11-20", (HEATER, "1600.00", "1100.00")),
    # Not charges: a quote, a draft, a void; and another company's invoice.
    record("e-1", "2026-11-21", (HEATER, "9999.00", None), kind=RecordKind.ESTIMATE),
    record("2006", "2026-11-22", (HEATER, "1.00", None), status="draft"),
    record("2007", "2026-11-23", (HEATER, "2.00", None), status="void"),
    record("9001", "2026-11-24", (HEATER, "5.00", None), company="rival"),
)


def test_the_facts_of_an_item_come_from_its_invoice_lines() -> None:
    facts = book(*HISTORY).facts("acme", PriceQuery(item="item-wh"))
    [usd] = facts.by_currency
    assert (usd.currency, usd.times_charged, usd.documents) == ("USD", 5, 5)
    assert (usd.median_unit_price, usd.min_unit_price, usd.max_unit_price) == (
        Decimal("1450.00"),
        Decimal("1400.00"),
        Decimal("1600.00"),
    )
    # (1400-1000)/1000 = 40 %, (1450-1000)/1000 = 45 %, (1600-1100)/1100 = 45.45 %: median 45.0
    assert usd.typical_markup_percent == Decimal("45.0")
    assert "3 of 5 charges whose unit cost is known" in usd.markup_basis
    assert (usd.last_charged.number, usd.last_charged.unit_price) == ("INV-2005", Decimal("1600.00"))
    assert usd.first_charged == date(2026, 3, 10)
    assert [(i.item_id, i.item_name) for i in facts.items] == [HEATER]
    assert facts.message.startswith(
        "You charged for Water heater install 5 times since March 2026: median $1,450.00 "
        "(from $1,400.00 to $1,600.00), last on INV-2005 (2026-11-20) at $1,600.00."
    )
    assert "Typical markup over cost: 45.0%." in facts.message


@pytest.mark.parametrize(
    "query",
    [
        PriceQuery(item="water  HEATER install"),  # the name, case and spacing aside
        PriceQuery(q="water heater installs"),  # words; a plural is its singular
        PriceQuery(q="Heater"),
    ],
)
def test_an_item_is_found_by_name_or_by_words(query: PriceQuery) -> None:
    [usd] = book(*HISTORY).facts("acme", query).by_currency
    assert usd.times_charged == 5


def test_words_must_all_be_there_and_nothing_found_is_said() -> None:
    facts = book(*HISTORY).facts("acme", PriceQuery(q="water softener install"))
    assert facts.by_currency == []
    assert "No invoice line in the billing memory holds every word of 'water softener install'" in (
        facts.message
    )


def test_two_currencies_are_never_mixed_in_one_figure() -> None:
    euros = (
        record("3001", "2026-10-01", (HEATER, "900.00", None), currency="EUR"),
        record("3002", "2026-10-02", (HEATER, "1000.00", None), currency="EUR"),
    )
    facts = book(*HISTORY, *euros).facts("acme", PriceQuery(item="item-wh"))
    assert [(f.currency, f.times_charged, f.median_unit_price) for f in facts.by_currency] == [
        ("USD", 5, Decimal("1450.00")),
        ("EUR", 2, Decimal("950.00")),
    ]
    assert "950.00 EUR" in facts.message and "$1,450.00" in facts.message
    only = book(*HISTORY, *euros).facts("acme", PriceQuery(item="item-wh", currency="EUR"))
    assert [f.currency for f in only.by_currency] == ["EUR"]


def test_the_trend_is_monthly_medians_and_a_direction_with_its_basis() -> None:
    old = record("1999", "2025-11-30", (HEATER, "100.00", None))  # outside the 12 months
    [usd] = book(old, *HISTORY).facts("acme", PriceQuery(item="item-wh")).by_currency
    trend = usd.trend
    assert [(m.month, m.charges, m.median_unit_price) for m in trend.months] == [
        ("2026-03", 1, Decimal("1400.00")),
        ("2026-05", 1, Decimal("1450.00")),
        ("2026-07", 1, Decimal("1450.00")),
        ("2026-09", 1, Decimal("1500.00")),
        ("2026-11", 1, Decimal("1600.00")),
    ]
    # The 2 newest (1500, 1600: median 1550) against the 3 before (median 1450): +6.9 %
    assert (trend.direction, trend.change_percent) == ("up", Decimal("6.9"))
    assert "2 newest charges since 2026-01-01 ($1,550.00, 2026-09-01 to 2026-11-20)" in trend.basis
    assert "the 3 before them ($1,450.00" in trend.basis
    assert usd.times_charged == 6 and usd.min_unit_price == Decimal("100.00")  # all time


def test_a_steady_price_is_flat_and_too_few_charges_make_no_trend() -> None:
    steady = [record(f"s{n}", f"2026-0{n}-01", (HEATER, "1450.00", None)) for n in range(1, 6)]
    assert book(*steady).facts("acme", PriceQuery(item="item-wh")).by_currency[0].trend.direction == "flat"
    few = book(*HISTORY[:3]).facts("acme", PriceQuery(item="item-wh")).by_currency[0].trend
    assert few.direction == "unknown" and few.change_percent is None
    assert few.basis == "3 charges since 2026-01-01: a trend needs at least 4"


@pytest.mark.parametrize("given", [{}, {"item": "item-wh", "q": "heater"}])
def test_the_query_names_the_item_or_describes_it_not_both(given: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        PriceQuery.model_validate(given)
    [error] = caught.value.errors()
    assert error["ctx"]["fix"] == 'Send item="<item id or name>" or q="<words of the item>", not both.'
