"""FreshBooks webhook acknowledgement: 1,000 signed callback deliveries (``invoice.update`` of
as many invoices), ``POST /webhooks/freshbooks``'s handler invoked as API Gateway invokes it
against moto server, as ``webhook_ack.py`` measures Square's.

FreshBooks signs each callback with its own verifier, kept sealed on the connection row of the
account a delivery names: the cold invocation reads them (a query, a claim read, a KMS decrypt),
then they are cached. ``freshbooks.webhook_ack.aws_calls``: the most AWS requests any warm
invocation made before answering (goal <= 1: the SQS enqueue; reading the record from FreshBooks,
dedupe and the rest happen in the consumer). ``.p50_ms`` / ``.p99_ms``: the time to answer.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from urllib.parse import urlencode

from bench.figure import Figure
from bench.figures.webhook_ack import EVENTS, acknowledged, figures

ACCOUNT = "bEnch1"
VERIFIER = "bench-freshbooks-callback-verifier"


def _connected(key_id: str) -> None:
    """A company connected to ``ACCOUNT``, its invoice callback's verifier kept as the handshake keeps it."""
    from booksync.providers.freshbooks import PROVIDER
    from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
    from booksync.store.connections import ConnectionRepository, TokenTimes
    from booksync.webhooks.secrets import StoredWebhookSecrets

    connections, vault = ConnectionRepository(), KmsTokenVault(key_id)
    context = TokenContext(company_id="bench", provider=PROVIDER, connection_id="bench-1")
    connections.store_connection(
        company_id="bench",
        provider=PROVIDER,
        connection_id="bench-1",
        account_id=ACCOUNT,
        sealed=vault.seal(PlainTokens(access_token="at", refresh_token="rt"), context),
        times=TokenTimes(access_expires_at=4_000_000_000.0, refresh_expires_at=None),
        has_refresh_token=True,
        connected_by="bench",
        now=1.0,
        refresh_every=86_400.0,
    )
    connections.claim_account(PROVIDER, ACCOUNT, "bench", now=1.0)
    StoredWebhookSecrets(PROVIDER, connections, vault).keep(ACCOUNT, json.dumps({"2001": VERIFIER}))


def measure() -> list[Figure]:
    import boto3
    from booksync.providers.freshbooks.webhooks import SIGNATURE_HEADER, sign_delivery
    from booksync.store.models import ConnectionModel, bind_tables

    from bench.figures.catalog_sync import _aws
    from tests.apigw import http_event

    with _aws():
        table = f"connections-{uuid.uuid4().hex[:8]}"
        bind_tables(SimpleNamespace(connections_table=table))
        ConnectionModel.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
        _connected(key_id)
        queue = boto3.client("sqs").create_queue(QueueName=f"freshbooks-events-{uuid.uuid4().hex[:8]}")
        env = {
            "STAGE": "prod",
            "WEBHOOK_QUEUE_URL": queue["QueueUrl"],
            "CONNECTIONS_TABLE": table,
            "TOKEN_KEY_ID": key_id,
        }
        requests = []
        for index in range(EVENTS + 1):
            fields = {"name": "invoice.update", "object_id": str(100_000 + index), "account_id": ACCOUNT}
            fields |= {"business_id": "6543", "identity_id": "1234", "user_id": "1"}
            requests.append(
                http_event(
                    "POST",
                    "/webhooks/freshbooks",
                    urlencode(fields),
                    route_key="POST /webhooks/freshbooks",
                    headers={
                        "content-type": "application/x-www-form-urlencoded",
                        SIGNATURE_HEADER.lower(): sign_delivery(fields, VERIFIER),
                    },
                )
            )
        times, calls = acknowledged("functions.webhooks.freshbooks", env, requests)
    return figures("freshbooks.webhook_ack", times, calls, "signed callback deliveries")
