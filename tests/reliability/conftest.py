"""A connected company on moto server and a provider's sandbox, for the reliability tests.

The books are QuickBooks' unless a test parametrizes ``provider`` (tests/reliability/soak_books.py
has a class for each provider the suite runs against)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from booksync.settings import ApiSettings
from booksync.wiring import api_services

from tests.lambda_env import environment, handlers, idempotency_table
from tests.reliability.soak_books import CLIENT_ID, CLIENT_SECRET, SoakBooks, soak_books

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "COMPANY"]

COMPANY = "acme"


@pytest.fixture
def provider() -> str:
    return "quickbooks"


@pytest.fixture
def books(provider: str) -> Iterator[SoakBooks]:
    # The provider's throttles are not what these tests are about: the faults injected are (a 429 is one).
    with soak_books(provider) as started:
        yield started


@pytest.fixture
def lambda_env(tables: SimpleNamespace, kms_key: str, sqs_queue: str, books: SoakBooks) -> dict[str, str]:
    return {
        **environment(
            tables,
            queue_url=sqs_queue,
            key_id=kms_key,
            qbo_url=books.url,  # QuickBooks' sandbox, or a URL no QuickBooks call is made to
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            idempotency_table=idempotency_table(),
        ),
        **books.environment(),
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def stack(lambda_env: dict[str, str], books: SoakBooks, sqs_queue: str) -> Iterator[SimpleNamespace]:
    """The handlers imported under the template's environment and one company connected through OAuth."""
    with handlers(lambda_env) as fns:
        services = api_services(ApiSettings.from_env(lambda_env))
        account = books.connect(services, COMPANY)
        books.prepare(services, COMPANY, account)
        yield SimpleNamespace(
            fns=fns,
            services=services,
            books=books,
            control=books.control,
            realm=account,
            queue=sqs_queue,
            env=lambda_env,
        )
