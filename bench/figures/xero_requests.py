"""Xero requests per invoice, counted from the Xero sandbox's request log.

The same invoice as QuickBooks' ``requests_per_invoice`` (catalog_sync.py): the real invoice
engine (wiring.sync_worker) syncs an invoice with a new customer, two new items and a payment
(``first``, goal <= 4), the same again (``unchanged``, goal 0) and after its memo changed
(``edited``, goal <= 1), for a company connected to one Xero organisation through booksync's own
consent. Only the Accounting API's requests count (``/api.xro/2.0/``; not tokens or
``/connections``).
"""

from __future__ import annotations

import os
import re

from bench.figure import Figure, Goal
from bench.figures.catalog_sync import COMPANY, _aws, _environment, requests_per_invoice

PROVIDER = "xero"


def measure() -> list[Figure]:
    from booksync.settings import ApiSettings
    from booksync.wiring import api_services

    from tests.reliability.soak_books import soak_books

    saved = dict(os.environ)
    try:
        with _aws(), soak_books(PROVIDER) as books:
            env = {**_environment(books.url), **books.environment()}
            os.environ.update(env)
            services = api_services(ApiSettings.from_env(env))
            tenant = books.connect(services, COMPANY)
            books.prepare(services, COMPANY, tenant)
            return requests_per_invoice(
                env,
                services,
                PROVIDER,
                lambda: [e for e in books.requests(tenant) if re.search(books.api_path, e["path"])],
                books.control.clear_requests,
                goals={"first": Goal("<=", 4), "unchanged": Goal("<=", 0), "edited": Goal("<=", 1)},
                prefix="xero.",
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
