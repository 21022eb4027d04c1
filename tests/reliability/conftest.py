"""A connected company on moto server and the QuickBooks sandbox, for the reliability tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from booksync.settings import ApiSettings
from booksync.wiring import api_services

from local.sandboxes.quickbooks.config import ClientApp, Limits, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests.lambda_env import connect_company, environment, handlers, idempotency_table

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "ABreliability001", "s3cr3t-for-reliability"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"


@pytest.fixture
def sandbox() -> Iterator[QuickBooksSandbox]:
    # Intuit's throttles are not what these tests are about: the faults injected are (a 429 is one).
    config = SandboxConfig(
        clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])},
        limits=Limits(requests_per_minute=1_000_000, max_concurrent=1_000, batch_per_minute=1_000),
    )
    with QuickBooksSandbox(config=config) as sb:
        yield sb


@pytest.fixture
def lambda_env(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, sandbox: QuickBooksSandbox
) -> dict[str, str]:
    return {
        **environment(
            tables,
            queue_url=sqs_queue,
            key_id=kms_key,
            qbo_url=sandbox.url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            idempotency_table=idempotency_table(),
        ),
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def stack(
    lambda_env: dict[str, str], sandbox: QuickBooksSandbox, sqs_queue: str
) -> Iterator[SimpleNamespace]:
    """The handlers imported under the template's environment and one company connected through OAuth."""
    with handlers(lambda_env) as fns:
        services = api_services(ApiSettings.from_env(lambda_env))
        with SandboxControl(sandbox.url) as control:
            realm = connect_company(services, control, COMPANY)
            yield SimpleNamespace(
                fns=fns, services=services, control=control, realm=realm, queue=sqs_queue, env=lambda_env
            )
