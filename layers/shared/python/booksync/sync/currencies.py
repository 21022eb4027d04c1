"""What a company's books can hold (home currency, multicurrency), cached on its connection row.

Read from the provider at the first sync, again when a day old, and when ``fresh`` (before a
document is held for them: the user may just have turned multicurrency on).
"""

from __future__ import annotations

from booksync.providers.port import AccountingProvider, CompanyCurrencies
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel

MAX_AGE_S = 24 * 3600


def company_currencies(
    connections: ConnectionRepository,
    connection: ConnectionModel,
    provider: AccountingProvider,
    now: float,
    *,
    fresh: bool = False,
) -> CompanyCurrencies:
    read_at = connection.currencies_read_at
    if not fresh and connection.home_currency and read_at is not None and now - read_at < MAX_AGE_S:
        return CompanyCurrencies(connection.home_currency, bool(connection.multicurrency))
    found = provider.company_currencies()
    connections.record_currencies(connection, found.home, found.multicurrency, now)
    connection.home_currency, connection.multicurrency = found.home, found.multicurrency
    connection.currencies_read_at = int(now)
    return found
