"""Wave requests per invoice, counted from the Wave sandbox's request log.

The same invoice as QuickBooks' ``requests_per_invoice`` (catalog_sync.py): the real invoice
engine (wiring.sync_worker) syncs an invoice with a new customer, two new items and a payment
(``first``, goal <= 6, issue 17), the same again (``unchanged``, goal 0) and after its memo
changed (``edited``, goal <= 1), for a company connected to one Wave business through booksync's
own consent. Only GraphQL requests count (``/graphql/public``; not tokens). Wave has no
idempotency key and filters customers and products by nothing booksync keys on: a new customer
and each new product are looked up (a page of the business's customers, of its products) before
they are created.
"""

from __future__ import annotations

from bench.figure import Figure, Goal
from bench.figures.catalog_sync import sandbox_requests_per_invoice


def measure() -> list[Figure]:
    return sandbox_requests_per_invoice(
        "wave", goals={"first": Goal("<=", 6), "unchanged": Goal("<=", 0), "edited": Goal("<=", 1)}
    )
