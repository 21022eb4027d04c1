"""A QuickBooks realmId comes on the browser's redirect, where it can be edited: booksync claims
it only once a call bound to it, with the new tokens, shows they are that company's (Integrations
over moto's tables and KMS, the real OAuth client against the QuickBooks sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from booksync.errors import InvalidRequest
from booksync.integrations import Connected, Integrations
from booksync.providers.quickbooks.oauth import QuickBooksOAuth
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig
from tests.fakes.integrations import complete_connect, fake_integrations

CLIENT_ID, CLIENT_SECRET = "booksync-realm", "realm-secret-0123456789"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"  # fake_integrations' redirect URI


@pytest.fixture
def qbo(tables: SimpleNamespace, kms_key: str) -> Iterator[SimpleNamespace]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    sandbox = QuickBooksSandbox(host="127.0.0.1", port=0, config=config).start()
    try:
        with SandboxControl(sandbox.url) as control:
            oauth = QuickBooksOAuth(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                auth_url=f"{sandbox.url}/connect/oauth2",
                token_url=f"{sandbox.url}/oauth2/v1/tokens/bearer",
                revoke_url=f"{sandbox.url}/v2/oauth2/tokens/revoke",
                api_base_url=sandbox.url,
            )
            service = fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=oauth)
            yield SimpleNamespace(control=control, service=service)
    finally:
        sandbox.stop()


def connect(
    qbo: SimpleNamespace, company: str, realm: str, *, callback_realm: str | None = None
) -> Connected:
    """``company``'s admin approves ``realm`` on Intuit's consent page; the browser's callback says
    ``callback_realm`` (the realm approved, unless the address was edited)."""
    service: Integrations = qbo.service
    url = service.start_connect(company_id=company, user_id=f"{company}-admin", provider="quickbooks")
    query = parse_qs(urlsplit(qbo.control.approve_consent(url, realm=realm)).query)
    assert query["realmId"] == [realm]
    return complete_connect(
        service,
        provider="quickbooks",
        state=query["state"][0],
        code=query["code"][0],
        account_id=callback_realm or realm,
        company_id=company,
        user_id=f"{company}-admin",
    )


def test_a_callback_edited_to_another_realm_claims_nothing(qbo: SimpleNamespace) -> None:
    victim, own = qbo.control.create_realm(), qbo.control.create_realm()
    connections = ConnectionRepository()
    with pytest.raises(
        InvalidRequest, match=f"not given for the account the callback names \\({victim}\\)"
    ) as refused:
        connect(qbo, "squatter", own, callback_realm=victim)
    assert refused.value.message.startswith("QuickBooks says")
    assert "nothing was connected" in refused.value.message
    assert "Start the connection again" in (refused.value.fix or "")
    assert connections.account_owner("quickbooks", victim) is None
    assert connections.get("squatter", "quickbooks") is None
    # The realm's real owner connects it; the squatter's own realm connects as approved.
    assert connect(qbo, "owner", victim).account_id == victim
    assert connections.account_owner("quickbooks", victim) == "owner"
    assert connect(qbo, "squatter", own).account_id == own
