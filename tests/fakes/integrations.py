"""Integrations as the API tests build it: KMS-sealed tokens, the fake OAuth server, fixed redirect URIs."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from booksync.api.app import ApiServices
from booksync.integrations import Connected, Integrations
from booksync.providers.port import OAuthClient
from booksync.security.vault import KmsTokenVault
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.runs import RunRepository
from booksync.sync.jobs import JobQueue
from booksync.sync.records import DocumentService

from tests.fakes.oauth import FakeOAuth


def fake_integrations(
    connections: ConnectionRepository,
    documents: DocumentRepository,
    kms_key: str,
    *,
    oauth: OAuthClient | None = None,
    **hooks: Any,
) -> Integrations:
    """``oauth``: the client for every provider (default: a fresh FakeOAuth per call);
    ``hooks``: Integrations' optional arguments (account checks, on_connected ...)."""
    return Integrations(
        connections=connections,
        documents=documents,
        cipher=KmsTokenVault(kms_key),
        oauth_for=lambda _p: oauth or FakeOAuth(),
        redirect_uri_for=lambda p: f"https://api.example.com/oauth/{p}/callback",
        **hooks,
    )


def complete_connect(
    service: Integrations,
    *,
    provider: str,
    state: str,
    code: str,
    account_id: str | None,
    company_id: str,
    user_id: str,
) -> Connected:
    """The provider's redirect to the callback, then the starter's app confirming the consent."""
    consent = service.accept_callback(provider=provider, state=state, code=code, account_id=account_id)
    return service.confirm_connect(company_id=company_id, user_id=user_id, provider=provider, consent=consent)


def state_of(url: str) -> str:
    """The one-time state a consent URL carries."""
    return parse_qs(urlparse(url).query)["state"][0]


def connect_realm(
    service: Integrations, state: str, *, realm: str, company_id: str, user_id: str
) -> Connected:
    """A QuickBooks consent for ``realm`` (its code ``c-1``) confirmed by ``user_id`` of ``company_id``."""
    return complete_connect(
        service,
        provider="quickbooks",
        state=state,
        code="c-1",
        account_id=realm,
        company_id=company_id,
        user_id=user_id,
    )


def api_services(kms_key: str, oauth: OAuthClient, queue: JobQueue) -> ApiServices:
    """The API's documents, integrations and runs over the (moto) tables, as the API tests call them."""
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    return ApiServices(
        documents=DocumentService(documents=docs, connections=conns, runs=runs, queue=queue),
        integrations=fake_integrations(conns, docs, kms_key, oauth=oauth),
        runs=runs,
    )
