"""Run the real handler modules in-process with the environment template.yaml would give them."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3

FUNCTIONS = {
    "api": "functions.api.handler",
    "sync_invoice": "functions.sync_invoice.handler",
    "scheduler": "functions.scheduler.handler",
    "quickbooks_webhook": "functions.webhooks.quickbooks",
    "quickbooks_events": "functions.webhooks.quickbooks_events",
    "square_webhook": "functions.webhooks.square",
    "square_events": "functions.webhooks.square_events",
    "payout_deposit": "functions.payout_deposit.handler",
}


def environment(
    tables: SimpleNamespace,
    *,
    queue_url: str,
    key_id: str,
    qbo_url: str,
    client_id: str,
    client_secret: str,
    idempotency_table: str,
    webhook_queue_url: str | None = None,
    webhook_verifier_token: str | None = None,
    square: dict[str, str] | None = None,
) -> dict[str, str]:
    """``square``: Square settings to add or override (e.g. SQUARE_WEBHOOK_SIGNATURE_KEY)."""
    return {
        "STAGE": "dev",
        "POWERTOOLS_SERVICE_NAME": "booksync-test",
        "CONNECTIONS_TABLE": tables.connections_table,
        "DOCUMENTS_TABLE": tables.documents_table,
        "INTENTS_TABLE": tables.intents_table,
        "SYNC_RUNS_TABLE": tables.sync_runs_table,
        "NOTIFICATIONS_TABLE": tables.notifications_table,
        "OAUTH_STATES_TABLE": tables.oauth_states_table,
        "IDEMPOTENCY_TABLE": idempotency_table,
        "SYNC_INVOICE_QUEUE_URL": queue_url,
        "TOKEN_KEY_ID": key_id,
        "QBO_API_BASE_URL": qbo_url,
        "QBO_AUTH_URL": f"{qbo_url}/connect/oauth2",
        "QBO_TOKEN_URL": f"{qbo_url}/oauth2/v1/tokens/bearer",
        "QBO_REVOKE_URL": f"{qbo_url}/oauth2/v1/tokens/revoke",
        "QBO_CLIENT_ID": client_id,
        "QBO_CLIENT_SECRET": client_secret,
        "PUBLIC_API_BASE_URL": "https://api.example.com",
        "SWEEP_GRACE_SECONDS": "0",
        "WEBHOOK_EVENTS_TABLE": tables.webhook_events_table,
        "QBO_WEBHOOK_QUEUE_URL": webhook_queue_url or queue_url,
        **({"QBO_WEBHOOK_VERIFIER_TOKEN": webhook_verifier_token} if webhook_verifier_token else {}),
        "SQUARE_EVENTS_QUEUE_URL": webhook_queue_url or queue_url,
        "SQUARE_ACTIVITY_TABLE": tables.square_activity_table,
        "PAYOUTS_TABLE": tables.payouts_table,
        "MEMORY_TABLE": tables.memory_table,
        **(square or {}),
    }


def xero_environment(url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The Xero app's settings pointing at a Xero sandbox's ``url``."""
    return {
        "XERO_CLIENT_ID": client_id,
        "XERO_CLIENT_SECRET": client_secret,
        "XERO_AUTH_URL": f"{url}/identity/connect/authorize",
        "XERO_TOKEN_URL": f"{url}/connect/token",
        "XERO_REVOKE_URL": f"{url}/connect/revocation",
        "XERO_CONNECTIONS_URL": f"{url}/connections",
        "XERO_API_BASE_URL": f"{url}/api.xro/2.0",
    }


def freshbooks_environment(url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The FreshBooks app's settings pointing at a FreshBooks sandbox's ``url``."""
    return {
        "FRESHBOOKS_CLIENT_ID": client_id,
        "FRESHBOOKS_CLIENT_SECRET": client_secret,
        "FRESHBOOKS_AUTH_URL": f"{url}/oauth/authorize",
        "FRESHBOOKS_TOKEN_URL": f"{url}/auth/oauth/token",
        "FRESHBOOKS_REVOKE_URL": f"{url}/auth/oauth/revoke",
        "FRESHBOOKS_API_BASE_URL": url,
    }


def wave_environment(url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The Wave app's settings pointing at a Wave sandbox's ``url``."""
    return {
        "WAVE_CLIENT_ID": client_id,
        "WAVE_CLIENT_SECRET": client_secret,
        "WAVE_AUTH_URL": f"{url}/oauth2/authorize/",
        "WAVE_TOKEN_URL": f"{url}/oauth2/token/",
        "WAVE_GRAPHQL_URL": f"{url}/graphql/public",
    }


@contextmanager
def handlers(env: dict[str, str], functions: Mapping[str, str] = FUNCTIONS) -> Iterator[SimpleNamespace]:
    """Import each handler (``functions``: name -> module) afresh under ``env`` (settings are read
    at import, as at a cold start)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # The handlers route booksync's loggers through their Powertools Logger (no propagation to
    # the root logger): put them back afterwards, so later tests' caplog sees those records.
    library = logging.getLogger("booksync")
    library_config = (library.handlers[:], library.propagate, library.level)
    try:
        modules: dict[str, ModuleType] = {}
        for name, module in functions.items():
            sys.modules.pop(module, None)
            modules[name] = importlib.import_module(module)
        yield SimpleNamespace(**modules)
    finally:
        library.handlers[:], library.propagate = library_config[:2]
        library.setLevel(library_config[2])
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def idempotency_table() -> str:
    name = f"idempotency-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    return name


class Context:
    """The parts of the Lambda context object the handlers and Powertools read."""

    function_name = "booksync-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:booksync-test"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/booksync-test"
    log_stream_name = "test"

    def __init__(self, seconds: float = 60) -> None:
        import time

        self.aws_request_id = uuid.uuid4().hex
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


def receive_sqs_event(queue_url: str, *, max_messages: int = 10) -> dict[str, Any]:
    """Receive from the queue and shape the records as Lambda's SQS event source does."""
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    answer = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=1,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return {"Records": [sqs_record(dict(m), arn) for m in answer.get("Messages", [])]}


def sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get(
            "Attributes",
            {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "0",
                "SenderId": "AIDA",
                "ApproximateFirstReceiveTimestamp": "0",
            },
        ),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "us-east-1",
    }


def connect_company(
    services: Any, control: Any, company_id: str, *, realm: str | None = None, user_id: str = "u1"
) -> str:
    """A company connects QuickBooks through the sandbox's real consent redirect; returns the realm."""
    from urllib.parse import parse_qs, urlsplit

    url = services.integrations.start_connect(company_id=company_id, user_id=user_id, provider="quickbooks")
    query = parse_qs(urlsplit(control.approve_consent(url, realm=realm)).query)
    connected = str(query["realmId"][0])
    consent = services.integrations.accept_callback(
        provider="quickbooks", state=query["state"][0], code=query["code"][0], account_id=connected
    )
    services.integrations.confirm_connect(
        company_id=company_id, user_id=user_id, provider="quickbooks", consent=consent
    )
    return connected


def sync_pending(stack: SimpleNamespace) -> None:
    """SyncInvoiceFunction on every job ``stack.queue`` holds, one record an invocation."""
    for record in receive_sqs_event(stack.queue)["Records"]:
        assert stack.fns.sync_invoice.handler({"Records": [record]}, Context()) == {"batchItemFailures": []}


def seed_and_sync(stack: SimpleNamespace, company: str) -> None:
    """A customer, two items and an invoice for them (tests/builders.py), synced to the books."""
    from tests import builders

    docs = stack.services.documents
    docs.put_customer(company, builders.customer())
    docs.put_item(company, builders.item("i-1"))
    docs.put_item(company, builders.item("i-2", name="Trip charge", price="80.00"))
    docs.put_invoice(company, builders.invoice())
    sync_pending(stack)
