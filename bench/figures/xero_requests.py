"""Xero requests per invoice, counted from the Xero sandbox's request log.

The same invoice as QuickBooks' ``requests_per_invoice`` (catalog_sync.py): the real invoice
engine (wiring.sync_worker) syncs an invoice with a new customer, two new items and a payment
(``first``, goal <= 4), the same again (``unchanged``, goal 0) and after its memo changed
(``edited``, goal <= 1), for a company connected to one Xero organisation through booksync's own
consent. Only the Accounting API's requests count (``/api.xro/2.0/``; not tokens or
``/connections``).
"""

from __future__ import annotations

from bench.figure import Figure, Goal
from bench.figures.catalog_sync import sandbox_requests_per_invoice


def measure() -> list[Figure]:
    return sandbox_requests_per_invoice(
        "xero", goals={"first": Goal("<=", 4), "unchanged": Goal("<=", 0), "edited": Goal("<=", 1)}
    )
