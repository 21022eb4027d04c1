"""What the memory is asked (booksync/memory/queries.py), refused in words: each error names its
field, says what it expects and how to fix it (api/field_errors.py)."""

from __future__ import annotations

from typing import Any

import pytest
from booksync.api.field_errors import teach
from booksync.memory.queries import SearchRequest
from booksync.memory.records import RecordKind
from pydantic import ValidationError


def taught(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    with pytest.raises(ValidationError) as caught:
        SearchRequest.model_validate(body)
    errors = [
        teach({**dict(e), "loc": ("body", *e["loc"])}, SearchRequest, body) for e in caught.value.errors()
    ]
    return [(e.field, e.message, e.fix) for e in errors]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"query": "heater", "top_k": 21},
            ("top_k", "must be at most 20 (got 21)", "Send top_k as a number at most 20."),
        ),
        (
            {"query": "heater", "top_k": 0},
            ("top_k", "must be at least 1 (got 0)", "Send top_k as a number at least 1."),
        ),
        (
            {"query": "heater", "filters": {"date_from": "2026-05-01", "date_to": "2026-01-31"}},
            (
                "filters",
                "date_from (2026-05-01) is after date_to (2026-01-31)",
                "Send date_from on or before date_to, or leave one of them out.",
            ),
        ),
        (
            {"query": "heater", "filters": {"min_total": "900.00", "max_total": "100.00"}},
            (
                "filters",
                "min_total (900.00) is more than max_total (100.00)",
                "Send min_total at most max_total, or leave one of them out.",
            ),
        ),
        (
            {"query": "heater", "filters": {"max_total": "100.00"}},
            (
                "filters",
                "max_total given without currency: totals of two currencies are not compared",
                'Send currency (e.g. "USD") with max_total: only totals in that currency are compared.',
            ),
        ),
        (
            {"query": "heater", "filters": {"min_total": "1.00", "max_total": "100.00"}},
            (
                "filters",
                "min_total and max_total given without currency: totals of two currencies are not compared",
                'Send currency (e.g. "USD") with min_total and max_total: only totals in that currency '
                "are compared.",
            ),
        ),
        (
            {"query": "heater", "filters": {"currency": "usd", "min_total": "1.00"}},
            (
                "filters.currency",
                'must be a currency code: 3 capital letters (ISO 4217), e.g. "USD" (got "usd")',
                'Send filters.currency as a currency code: 3 capital letters (ISO 4217), e.g. "USD".',
            ),
        ),
        (
            {"query": "heater", "filters": {"kinds": ["quote"]}},
            (
                "filters.kinds[0]",
                'must be one of invoice, estimate, payment (got "quote")',
                "Send filters.kinds[0] as one of invoice, estimate, payment (exactly, case included).",
            ),
        ),
        (
            {"query": "heater", "filters": {"customer": "c-1"}},
            (
                "filters.customer",
                "is not a field; did you mean customer_id?",
                "Rename customer to customer_id.",
            ),
        ),
        (
            {"top_k": 3},
            (
                "query",
                "is required: text of at most 1000 characters",
                "Add query (text of at most 1000 characters).",
            ),
        ),
    ],
)
def test_a_bad_search_is_refused_naming_the_field_and_the_fix(
    body: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert taught(body) == [expected]


def test_the_filters_become_the_record_filter() -> None:
    request = SearchRequest.model_validate(
        {
            "query": "heater",
            "filters": {
                "customer_id": "c-1",
                "kinds": ["invoice"],
                "statuses": ["PAID"],
                "date_from": "2026-01-01",
                "item": "Water heater install",
                "currency": "EUR",
                "min_total": "100.00",
            },
        }
    )
    narrowed = request.filters.record_filter()
    assert (narrowed.customer_id, narrowed.kinds, narrowed.statuses) == (
        "c-1",
        frozenset({RecordKind.INVOICE}),
        frozenset({"paid"}),
    )
    assert str(narrowed.date_from) == "2026-01-01" and narrowed.item == "Water heater install"
    assert str(narrowed.min_total) == "100.00" and narrowed.max_total is None
    assert narrowed.currency == "EUR"
    assert (
        SearchRequest(query="x").filters.record_filter() == SearchRequest(query="y").filters.record_filter()
    )
