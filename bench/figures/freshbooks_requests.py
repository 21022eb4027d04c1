"""FreshBooks requests per invoice, counted from the FreshBooks sandbox's request log.

The same invoice as QuickBooks' ``requests_per_invoice`` (catalog_sync.py): the real invoice
engine (wiring.sync_worker) syncs an invoice with a new customer, two new items and a payment
(``first``, goal <= 5, issue 16), the same again (``unchanged``, goal 0) and after its memo changed
(``edited``, goal <= 1), for a company connected to one FreshBooks business through booksync's own
consent. Only the accounting API's requests count (``/accounting/account/``; not tokens or
``/users/me``). FreshBooks has no idempotency key: a new client and each new item are looked up
(the client by e-mail, then by name) before they are created, and an invoice is created as a
draft and then marked sent.
"""

from __future__ import annotations

from bench.figure import Figure, Goal
from bench.figures.catalog_sync import sandbox_requests_per_invoice


def measure() -> list[Figure]:
    return sandbox_requests_per_invoice(
        "freshbooks", goals={"first": Goal("<=", 5), "unchanged": Goal("<=", 0), "edited": Goal("<=", 1)}
    )
