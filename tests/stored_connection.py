"""A company's connection row as booksync stores one after a consent, its tokens sealed (the
token-lease tests of each provider share it)."""

from __future__ import annotations

import time

from booksync.providers.port import TokenSet
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.store.connections import ConnectionRepository, TokenTimes


def store_tokens(
    key_id: str,
    provider: str,
    account: str,
    ids: dict[str, str],
    tokens: TokenSet,
    *,
    company: str = "acme",
    access_expires_at: float | None = None,
) -> TokenContext:
    """The row, its tokens sealed with ``key_id``; ``access_expires_at`` (epoch seconds) replaces
    the tokens' own expiry (a test's token due for a refresh). Answers the tokens' context."""
    repo = ConnectionRepository()
    connection_id = repo.new_connection_id()
    context = TokenContext(company, provider, connection_id)
    expires = tokens.access_expires_at.timestamp() if access_expires_at is None else access_expires_at
    repo.store_connection(
        company_id=company,
        provider=provider,
        connection_id=connection_id,
        account_id=account,
        account_ids=ids,
        sealed=KmsTokenVault(key_id).seal(PlainTokens(tokens.access_token, tokens.refresh_token), context),
        times=TokenTimes(access_expires_at=expires, refresh_expires_at=None),
        has_refresh_token=True,
        connected_by="admin",
        now=time.time(),
        refresh_every=86_400,
    )
    return context
