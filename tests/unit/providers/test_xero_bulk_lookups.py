"""The catalog's lookups afresh (``providers/xero/bulk.py``): the documents in doubt are named in
``where`` filters that each fit in a URL Xero accepts, together naming every one of them."""

from __future__ import annotations

from booksync.providers.xero.bulk import WHERE_MAX, _filters, _where

from tests import builders


def test_the_documents_in_doubt_are_named_in_filters_that_each_fit_in_a_url() -> None:
    customers = [
        builders.customer(f"c-{i:03d}", display_name=f"Customer number {i:03d} Ltd") for i in range(50)
    ]
    clauses = [clause for c in customers if (clause := _where(c)) is not None]

    filters = _filters(clauses)

    assert len(filters) > 1 and all(len(f) <= WHERE_MAX for f in filters)
    named = " OR ".join(filters)
    assert named == " OR ".join(clauses)  # every document, in order, none twice
    assert _filters([]) == []
