"""POST /webhooks/quickbooks and its consumer: the real handlers, real event shapes, moto server
(SQS, SSM, DynamoDB) and the QuickBooks sandbox, which signs its deliveries as Intuit does."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.httpsession
import pytest
from booksync.documents import DocumentKind, Refund
from booksync.settings import ApiSettings
from booksync.store.models import SyncRunModel, WebhookEventModel
from booksync.wiring import api_services

from local.sandboxes.quickbooks import webhooks as intuit
from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests import builders
from tests.apigw import endpoint
from tests.lambda_env import (
    Context,
    connect_company,
    environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
    seed_and_sync,
    sync_pending,
)

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "ABtestclient0001", "s3cr3t-for-tests"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"
VERIFIER = "verifier-token-3b8e1f"


@pytest.fixture
def sandbox() -> Iterator[QuickBooksSandbox]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    with QuickBooksSandbox(config=config) as sb:
        yield sb


def new_queue() -> str:
    return str(boto3.client("sqs").create_queue(QueueName=f"qbo-events-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def base_env(
    tables: SimpleNamespace, kms_key: str, sync_queue: str, sandbox: QuickBooksSandbox
) -> dict[str, str]:
    env = environment(
        tables,
        queue_url=sync_queue,
        key_id=kms_key,
        qbo_url=sandbox.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        idempotency_table=idempotency_table(),
        webhook_queue_url=new_queue(),
    )
    # As in AWS: the verifier token lives in an SSM SecureString named by the environment.
    name = f"/booksync/test/{uuid.uuid4().hex[:8]}/webhook-verifier-token"
    boto3.client("ssm").put_parameter(Name=name, Value=VERIFIER, Type="SecureString")
    env["QBO_WEBHOOK_VERIFIER_PARAM"] = name
    return env


@pytest.fixture
def stack(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, sandbox: QuickBooksSandbox
) -> Iterator[SimpleNamespace]:
    env = base_env(tables, kms_key, sqs_queue, sandbox)
    with handlers(env) as fns:
        services = api_services(ApiSettings.from_env(env))
        control = SandboxControl(sandbox.url)
        realm = connect_company(services, control, COMPANY)
        yield SimpleNamespace(
            fns=fns,
            services=services,
            control=control,
            realm=realm,
            queue=sqs_queue,
            events_queue=env["QBO_WEBHOOK_QUEUE_URL"],
            sandbox=sandbox,
        )


def http_event(body: bytes, signature: str | None, *, base64_body: bool = False) -> dict[str, Any]:
    """API Gateway (HTTP API, payload 2.0) as it hands Intuit's POST to the function."""
    headers = {"content-type": "application/json; charset=utf-8", "user-agent": "Intuit-Webhooks/1.0"}
    if signature is not None:
        headers["intuit-signature"] = signature
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/quickbooks",
        "rawPath": "/webhooks/quickbooks",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "http": {"method": "POST", "path": "/webhooks/quickbooks", "protocol": "HTTP/1.1",
                     "sourceIp": "198.51.100.7", "userAgent": "Intuit-Webhooks/1.0"},
            "requestId": uuid.uuid4().hex,
            "routeKey": "POST /webhooks/quickbooks",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }  # fmt: skip


def deliver(stack: SimpleNamespace, changes: list[intuit.Change], fmt: str = "cloudevents") -> dict[str, Any]:
    body = intuit.render(changes, fmt)
    answer: dict[str, Any] = stack.fns.quickbooks_webhook.handler(
        http_event(body, intuit.sign(body, VERIFIER)), Context(5)
    )
    return answer


def consume(stack: SimpleNamespace) -> dict[str, Any]:
    event = receive_sqs_event(stack.events_queue)
    assert event["Records"], "the webhook queued its delivery"
    result: dict[str, Any] = stack.fns.quickbooks_events.handler(event, Context(30))
    return result


def link(stack: SimpleNamespace, kind: DocumentKind, doc_id: str) -> Any:
    row = stack.services.documents._docs.get(COMPANY, kind, doc_id)
    return row, row.link("quickbooks")


# ---------------------------------------------------------------- the receiver


class AwsCalls:
    """Counts every HTTP request botocore sends (moto server answers them all)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.urls: list[str] = []
        real = botocore.httpsession.URLLib3Session.send

        def send(session: Any, request: Any) -> Any:
            self.urls.append(f"{request.headers.get('X-Amz-Target', b'')!r} {request.url}")
            return real(session, request)

        monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", send)


def test_a_warm_delivery_makes_exactly_one_aws_call_and_answers_200_empty(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = intuit.Change(realm=stack.realm, entity="Customer", id="1", operation="Update")
    assert deliver(stack, [change])["statusCode"] == 200  # cold: reads the token from SSM once
    calls = AwsCalls(monkeypatch)
    answer = deliver(stack, [change])
    assert answer["statusCode"] == 200
    assert answer["body"] == ""
    assert len(calls.urls) == 1, calls.urls
    assert "SendMessage" in calls.urls[0] or "sqs" in calls.urls[0].lower()


def test_a_base64_body_is_verified_over_its_raw_bytes(stack: SimpleNamespace) -> None:
    body = intuit.render(
        [intuit.Change(realm=stack.realm, entity="Item", id="3", operation="Update")], "legacy"
    )
    event = http_event(body, intuit.sign(body, VERIFIER), base64_body=True)
    assert stack.fns.quickbooks_webhook.handler(event, Context(5))["statusCode"] == 200
    queued = json.loads(receive_sqs_event(stack.events_queue)["Records"][0]["body"])
    assert queued["body"].encode() == body


def test_a_wrong_signature_is_401_and_nothing_is_queued(stack: SimpleNamespace) -> None:
    body = intuit.render(
        [intuit.Change(realm=stack.realm, entity="Item", id="3", operation="Delete")], "legacy"
    )
    answer = stack.fns.quickbooks_webhook.handler(
        http_event(body, intuit.sign(body, "not-the-token")), Context(5)
    )
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["title"]
    assert receive_sqs_event(stack.events_queue)["Records"] == []


def test_production_without_the_verifier_parameter_answers_503(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, sandbox: QuickBooksSandbox
) -> None:
    env = base_env(tables, kms_key, sqs_queue, sandbox)
    env["STAGE"] = "prod"
    env["QBO_WEBHOOK_VERIFIER_PARAM"] = "/booksync/test/missing-verifier-token"
    with handlers(env) as fns:
        body = b"[]"
        answer = fns.quickbooks_webhook.handler(http_event(body, intuit.sign(body, VERIFIER)), Context(5))
    assert answer["statusCode"] == 503
    problem = json.loads(answer["body"])
    assert "QBO_WEBHOOK_VERIFIER_PARAM" in problem["detail"] + problem["fix"]
    assert receive_sqs_event(env["QBO_WEBHOOK_QUEUE_URL"])["Records"] == []


def test_the_sandbox_delivers_signed_webhooks_to_a_url(stack: SimpleNamespace) -> None:
    """The sandbox posts to an HTTP endpoint that hands the request to the handler, as API
    Gateway does; the handler verifies Intuit's signature and queues the delivery."""

    def answer(body: bytes, headers: Any) -> dict[str, Any]:
        event = http_event(body, headers.get("intuit-signature"))
        result: dict[str, Any] = stack.fns.quickbooks_webhook.handler(event, Context(5))
        return result

    with endpoint("/webhooks/quickbooks", answer) as url:
        change = {"realm": stack.realm, "entity": "Invoice", "id": "77", "operation": "Void"}
        assert stack.control.send_webhook(url, VERIFIER, [change], fmt="legacy")["status"] == 200
        assert stack.control.send_webhook(url, "someone-else", [change])["status"] == 401
    assert consume(stack) == {"batchItemFailures": []}


# ---------------------------------------------------------------- the consumer


def test_delete_in_quickbooks_then_the_next_sync_recreates_the_invoice(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    _, before = link(stack, DocumentKind.INVOICE, "inv-1")
    old_id = before.remote_id
    stack.control.delete_entity(stack.realm, "Invoice", old_id)

    change = intuit.Change(realm=stack.realm, entity="Invoice", id=old_id, operation="Delete")
    assert deliver(stack, [change], "legacy")["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    row, after = link(stack, DocumentKind.INVOICE, "inv-1")
    assert after.remote_id is None
    assert after.remote_change == "Delete"
    assert row.pending_bucket, "waiting for the next sync"

    # The five-minute sweep queues it; the sync creates it again.
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] >= 1
    sync_pending(stack)
    _, again = link(stack, DocumentKind.INVOICE, "inv-1")
    assert again.remote_id and again.remote_id != old_id
    ledger = stack.control.ledger(stack.realm)
    assert [i["Id"] for i in ledger["entities"]["Invoice"]] == [again.remote_id]
    assert old_id in ledger["deleted"]["Invoice"]
    runs = [r for r in SyncRunModel.query(COMPANY) if r.kind == "webhook"]
    assert [r.errors[0].code for r in runs] == ["deleted_in_quickbooks"]


def test_a_payment_deleted_in_quickbooks_is_recorded_again_by_the_next_sync(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    stack.services.documents.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    sync_pending(stack)
    _, before = link(stack, DocumentKind.PAYMENT, "p-1")
    stack.control.delete_entity(stack.realm, "Payment", before.remote_id)
    change = intuit.Change(realm=stack.realm, entity="Payment", id=before.remote_id, operation="Delete")
    assert deliver(stack, [change])["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] >= 1
    sync_pending(stack)
    _, again = link(stack, DocumentKind.PAYMENT, "p-1")
    assert again.remote_id and again.remote_id != before.remote_id
    assert [p["Id"] for p in stack.control.ledger(stack.realm)["entities"]["Payment"]] == [again.remote_id]


def test_a_refund_receipt_deleted_in_quickbooks_is_recorded_again_by_the_next_sync(
    stack: SimpleNamespace,
) -> None:
    seed_and_sync(stack, COMPANY)
    stack.services.documents.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    refund = Refund(id="r-1", payment_id="p-1", amount=Decimal("30.00"), date=date(2026, 11, 5))
    stack.services.documents.put_refund(COMPANY, refund)
    sync_pending(stack)
    _, before = link(stack, DocumentKind.REFUND, "r-1")
    assert before.remote_id
    stack.control.delete_entity(stack.realm, "RefundReceipt", before.remote_id)
    change = intuit.Change(realm=stack.realm, entity="RefundReceipt", id=before.remote_id, operation="Delete")
    assert deliver(stack, [change])["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] >= 1
    sync_pending(stack)
    _, again = link(stack, DocumentKind.REFUND, "r-1")
    assert again.remote_id and again.remote_id != before.remote_id
    receipts = stack.control.ledger(stack.realm)["entities"]["RefundReceipt"]
    assert [r["Id"] for r in receipts] == [again.remote_id]
    assert len(stack.control.ledger(stack.realm)["entities"]["Payment"]) == 1


def test_the_same_event_delivered_twice_is_acted_on_once(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    _, before = link(stack, DocumentKind.INVOICE, "inv-1")
    body = intuit.render(
        [intuit.Change(realm=stack.realm, entity="Invoice", id=before.remote_id, operation="Delete")],
        "cloudevents",
    )
    event = http_event(body, intuit.sign(body, VERIFIER))
    for _ in range(2):  # Intuit retried: the same bytes twice
        assert stack.fns.quickbooks_webhook.handler(event, Context(5))["statusCode"] == 200
    records = receive_sqs_event(stack.events_queue)["Records"]
    assert len(records) == 2
    for record in records:
        assert stack.fns.quickbooks_events.handler({"Records": [record]}, Context(30)) == {
            "batchItemFailures": []
        }
    (stored,) = list(WebhookEventModel.scan())
    assert (stored.state, stored.outcome) == ("done", "recreate")
    assert len([r for r in SyncRunModel.query(COMPANY) if r.kind == "webhook"]) == 1
    _, after = link(stack, DocumentKind.INVOICE, "inv-1")
    assert after.generation == before.generation + 1, "one delete acted on once"


def test_merge_relinks_to_the_surviving_customer(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    _, before = link(stack, DocumentKind.CUSTOMER, "c-1")
    change = intuit.Change(
        realm=stack.realm, entity="Customer", id="9999", operation="Merge", deleted_id=before.remote_id
    )
    assert deliver(stack, [change])["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    _, after = link(stack, DocumentKind.CUSTOMER, "c-1")
    assert after.remote_id == "9999"
    assert after.remote_change == "Merge"


def test_a_change_made_in_quickbooks_is_recorded_as_drift_not_pulled_back(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    row, before = link(stack, DocumentKind.ITEM, "i-1")
    # QuickBooks echoes booksync's own write: not drift.
    echo = intuit.Change(realm=stack.realm, entity="Item", id=before.remote_id, operation="Update")
    assert deliver(stack, [echo])["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    assert link(stack, DocumentKind.ITEM, "i-1")[1].remote_change is None
    # A person edits it in QuickBooks a minute later.
    later = datetime.now(UTC) + timedelta(minutes=1)
    late = intuit.Change(realm=stack.realm, entity="Item", id=before.remote_id, operation="Update", at=later)
    assert deliver(stack, [late])["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    row_after, after = link(stack, DocumentKind.ITEM, "i-1")
    assert after.remote_change == "Update"
    assert after.remote_id == before.remote_id
    assert row_after.content_hash == row.content_hash, "nothing copied back"


def test_unknown_realms_and_objects_are_recorded_and_acknowledged(stack: SimpleNamespace) -> None:
    changes = [
        intuit.Change(realm="0000000000", entity="Invoice", id="1", operation="Delete"),
        intuit.Change(realm=stack.realm, entity="Invoice", id="424242", operation="Delete"),
        intuit.Change(realm=stack.realm, entity="Vendor", id="5", operation="Update"),
    ]
    assert deliver(stack, changes, "legacy")["statusCode"] == 200
    assert consume(stack) == {"batchItemFailures": []}
    outcomes = sorted(str(r.outcome) for r in WebhookEventModel.scan())
    assert outcomes == ["ignored", "not_linked", "unknown_realm"]
