"""Fixtures for the provider adapter tests: a fake Intuit behind httpx.MockTransport."""

from __future__ import annotations

import pytest
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.quickbooks.adapter import QuickBooksProvider
from booksync.providers.quickbooks.client import QuickBooksClient

from tests.unit.providers.qbo_fake import API, REALM, FakeIntuit, FakeTokens


@pytest.fixture
def intuit() -> FakeIntuit:
    return FakeIntuit()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(intuit: FakeIntuit, sleeps: list[float]) -> HttpClient:
    # rand() = 1.0: the jittered backoff takes its ceiling, so waits are predictable.
    return HttpClient(
        provider="quickbooks",
        label="QuickBooks",
        settings=HttpSettings(),
        transport=intuit.transport(),
        trace_header="intuit_tid",
        sleep=sleeps.append,
        rand=lambda: 1.0,
    )


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens("access-1", "access-2")


@pytest.fixture
def client(http: HttpClient, tokens: FakeTokens) -> QuickBooksClient:
    return QuickBooksClient(realm_id=REALM, tokens=tokens, http=http, api_base_url=API)


@pytest.fixture
def provider(client: QuickBooksClient) -> QuickBooksProvider:
    return QuickBooksProvider(client)
