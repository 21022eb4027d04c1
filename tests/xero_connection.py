"""A company connected to an organisation of the Xero sandbox, as booksync stores a connection
(the Xero catalog tests and ``make bench``'s Xero figure share it)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.store.connections import ConnectionRepository, TokenTimes

from local.sandboxes.xero.testing import XeroControl

PROVIDER = "xero"
CLIENT_ID, CLIENT_SECRET = "xero-bulk-app", "xero-bulk-secret"
REDIRECT = "https://app.test/oauth/xero/callback"


@dataclass(frozen=True)
class Connected:
    tenant: str
    token: str


def connect_xero(control: XeroControl, company: str, key_id: str) -> Connected:
    """The consent round trip with the sandbox's one organisation, and the connection stored as
    booksync stores one (its tokens sealed with ``key_id``), that organisation chosen."""
    tokens = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT)
    tenant = tokens.tenant_ids[0]
    connections = ConnectionRepository()
    connection_id = connections.new_connection_id()
    connections.store_connection(
        company_id=company,
        provider=PROVIDER,
        connection_id=connection_id,
        account_id=tenant,
        sealed=KmsTokenVault(key_id).seal(
            PlainTokens(tokens.access_token, tokens.refresh_token),
            TokenContext(company, PROVIDER, connection_id),
        ),
        times=TokenTimes(access_expires_at=time.time() + 10**6, refresh_expires_at=None),
        has_refresh_token=True,
        connected_by="test-admin",
        now=time.time(),
        refresh_every=86_400,
    )
    return Connected(tenant, tokens.access_token)
