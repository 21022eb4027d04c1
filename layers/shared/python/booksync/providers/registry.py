"""Which adapter serves which provider, built from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from booksync.errors import NotFoundError
from booksync.providers.port import AccountingProvider, OAuthClient, TokenSource
from booksync.settings import QuickBooksSettings, SquareSettings
from booksync.store.models import ConnectionModel, update_connection_settings

if TYPE_CHECKING:
    from booksync.sync.rate_limits import RequestGate

INCOME_ACCOUNT_PREFERENCE = ("Services", "Sales", "Sales of Product Income")


def oauth_client(
    provider: str, quickbooks: QuickBooksSettings, square: SquareSettings | None = None
) -> OAuthClient:
    if provider == "square" and square is not None:
        from booksync.providers.square.oauth import SquareOAuth

        application_id, application_secret = square.credentials()
        return SquareOAuth(
            application_id=application_id,
            application_secret=application_secret,
            base_url=square.api_base_url,
            square_version=square.square_version,
            uses_pkce=square.uses_pkce,
        )
    if provider != "quickbooks":
        raise NotFoundError(f"No OAuth client for {provider!r} yet.", fix="Use quickbooks or square.")
    from booksync.providers.quickbooks.oauth import QuickBooksOAuth

    client_id, client_secret = quickbooks.credentials()
    return QuickBooksOAuth(
        client_id=client_id,
        client_secret=client_secret,
        auth_url=quickbooks.auth_url,
        token_url=quickbooks.token_url,
        revoke_url=quickbooks.revoke_url,
        api_base_url=quickbooks.api_base_url,
    )


def accounting_provider(
    connection: ConnectionModel,
    quickbooks: QuickBooksSettings,
    tokens: TokenSource,
    gate: RequestGate | None = None,
) -> AccountingProvider:
    if connection.provider != "quickbooks":
        raise NotFoundError(f"No adapter for {connection.provider!r} yet.", fix="Use quickbooks.")
    from booksync.providers.quickbooks.adapter import QuickBooksProvider
    from booksync.providers.quickbooks.client import QuickBooksClient

    client = QuickBooksClient(
        api_base_url=quickbooks.api_base_url,
        realm_id=str(connection.account_id),
        tokens=tokens,
        minor_version=quickbooks.minor_version,
        gate=gate,
    )
    return QuickBooksProvider(client)


def pick_default_income_account(connection: ConnectionModel, provider: AccountingProvider) -> str | None:
    """The connection's default income account; else the provider's usual one, remembered."""
    chosen = connection.settings.default_income_account_id if connection.settings else None
    if chosen:
        return str(chosen)
    income = [a for a in provider.list_accounts() if a.classification == "Revenue" and a.active]
    by_name = {a.name: a for a in income}
    pick = next(
        (by_name[n] for n in INCOME_ACCOUNT_PREFERENCE if n in by_name), income[0] if income else None
    )
    if pick is None:
        return None
    update_connection_settings(connection, {"default_income_account_id": pick.id})
    return pick.id
