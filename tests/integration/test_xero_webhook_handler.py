"""POST /webhooks/xero and its consumer: the real handlers (functions/webhooks/xero.py and
xero_events.py) against moto server (SQS, SSM, DynamoDB, KMS) and the Xero sandbox, which runs
Intent to Receive and delivers its thin events signed as Xero does, to an endpoint that hands
each POST to the handler as API Gateway would. Changes are made in Xero by another app's calls."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.settings import ApiSettings
from booksync.store.models import DocumentModel, WebhookEventModel
from booksync.wiring import api_services

from local.sandboxes.kit.oauth import ClientApp
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import SCOPES, XeroClient, XeroControl
from local.sandboxes.xero.webhooks import sign
from tests import builders
from tests.apigw import endpoint, http_event
from tests.aws_calls import counting
from tests.lambda_env import (
    Context,
    environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
    seed_and_sync,
    xero_environment,
)

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "booksync-xero-webhooks", "xero-webhooks-secret-3c1"
REDIRECT = "https://api.example.com/oauth/xero/callback"
KEY = "xero-webhook-key-7Hq2vX9sLw0p"
# The app of someone working in Xero beside booksync (its own grant to the same organisation).
OTHER_ID, OTHER_SECRET, OTHER_REDIRECT = (
    "bookkeeper-app",
    "bookkeeper-secret-9d2",
    "https://other.example.com/cb",
)
FUNCTIONS = {
    "xero_webhook": "functions.webhooks.xero",
    "xero_events": "functions.webhooks.xero_events",
    "sync_invoice": "functions.sync_invoice.handler",
}


@pytest.fixture
def sandbox() -> Iterator[XeroSandbox]:
    config = XeroConfig(
        clients={
            CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT]),
            OTHER_ID: ClientApp(secret=OTHER_SECRET, redirect_uris=[OTHER_REDIRECT]),
        }
    )
    server = XeroSandbox(config=config, organisations=("Webhook Plumbing Ltd",)).start()
    try:
        yield server
    finally:
        server.stop()


def key_parameter(value: str | None) -> str:
    """As in AWS: the webhook key lives in an SSM SecureString named by the environment."""
    name = f"/booksync/test/{uuid.uuid4().hex[:8]}/xero-webhook-key"
    if value is not None:
        boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")
    return name


@pytest.fixture
def stack(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, sandbox: XeroSandbox
) -> Iterator[SimpleNamespace]:
    events_queue = boto3.client("sqs").create_queue(QueueName=f"xero-events-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    env = environment(
        tables,
        queue_url=sqs_queue,
        key_id=kms_key,
        qbo_url="http://127.0.0.1:9",  # no QuickBooks here
        client_id="unused-quickbooks-app",
        client_secret="unused-quickbooks-secret",
        idempotency_table=idempotency_table(),
    )
    env |= (
        xero_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET)
        | {"XERO_SCOPES": SCOPES}
        | {
            "XERO_EVENTS_QUEUE_URL": events_queue,
            "XERO_WEBHOOK_KEY_PARAM": key_parameter(KEY),
        }
    )
    with (
        handlers(env, FUNCTIONS) as fns,
        XeroControl(sandbox.url) as control,
        endpoint("/webhooks/xero", lambda body, headers: answered(fns, body, headers)) as url,
    ):
        services = api_services(ApiSettings.from_env(env))
        tenant = connect(services, control)
        control.call("POST", "/webhooks", {"url": url, "key": KEY})
        yield SimpleNamespace(
            fns=fns, env=env, services=services, control=control, tenant=tenant, url=sandbox.url, queue=sqs_queue,
            events_queue=events_queue,
        )  # fmt: skip


def connect(services: Any, control: XeroControl) -> str:
    """The company connects Xero through the sandbox's consent page; returns its tenant."""
    url = services.integrations.start_connect(company_id=COMPANY, user_id="u1", provider="xero")
    params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    answer = control.consent(params.pop("client_id"), params.pop("redirect_uri"), **params)
    consent = services.integrations.accept_callback(
        provider="xero", state=answer["state"], code=answer["code"], account_id=None
    )
    connected = services.integrations.confirm_connect(
        company_id=COMPANY, user_id="u1", provider="xero", consent=consent
    )
    return str(connected.account_id)


def answered(fns: SimpleNamespace, body: bytes, headers: Any) -> dict[str, Any]:
    answer: dict[str, Any] = fns.xero_webhook.handler(
        delivery(body, headers.get("x-xero-signature")), Context(5)
    )
    return answer


def delivery(body: bytes, signature: str | None) -> dict[str, Any]:
    headers = {"user-agent": "Xero-Webhooks"} | (
        {"x-xero-signature": signature} if signature is not None else {}
    )
    return http_event(
        "POST", "/webhooks/xero", body.decode(), route_key="POST /webhooks/xero", headers=headers
    )


def deliver(stack: SimpleNamespace) -> list[dict[str, Any]]:
    """The sandbox posts every event not delivered yet, in one signed payload."""
    done: list[dict[str, Any]] = stack.control.call("POST", "/webhooks/deliver", {})["deliveries"]
    return done


def consume(stack: SimpleNamespace) -> list[str]:
    """XeroEventsFunction on what the queue holds; the outcomes its events were recorded with."""
    event = receive_sqs_event(stack.events_queue)
    assert event["Records"], "the webhook queued its delivery"
    assert stack.fns.xero_events.handler(event, Context(30)) == {"batchItemFailures": []}
    return sorted(str(row.outcome) for row in WebhookEventModel.scan())


def link(kind: DocumentKind, doc_id: str) -> Any:
    return DocumentModel.get(COMPANY, f"{kind.value}#{doc_id}").link("xero")


def as_other_app(stack: SimpleNamespace) -> XeroClient:
    """Someone working in Xero: another app's calls to the same organisation."""
    tokens = stack.control.connect(OTHER_ID, OTHER_SECRET, OTHER_REDIRECT)
    return XeroClient(stack.url, tokens.access_token, stack.tenant)


# ---------------------------------------------------------------- the receiver


def test_intent_to_receive_passes_200_and_401_with_empty_bodies(stack: SimpleNamespace) -> None:
    check = stack.control.call("POST", "/webhooks/intent", {"rounds": 3})
    assert check["passed"] is True
    answers = [(d["signed_correctly"], d["status"], d["body"]) for d in check["deliveries"]]
    assert answers == [(True, 200, ""), (False, 401, "")] * 3


def test_a_warm_delivery_makes_one_aws_call_and_answers_200_with_an_empty_body_in_time(
    stack: SimpleNamespace,
) -> None:
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"A1"}'
    with counting() as aws:  # the clients are made by the cold invocation: inside, so they are counted
        cold = stack.fns.xero_webhook.handler(delivery(body, sign(KEY, body)), Context(5))
        assert cold["statusCode"] == 200
        aws.reset()  # cold: the key from SSM, then the enqueue (not counted)
        started = time.perf_counter()
        answer = stack.fns.xero_webhook.handler(delivery(body, sign(KEY, body)), Context(5))
        took = time.perf_counter() - started
        assert aws.calls == ["sqs.SendMessage"]
    assert (answer["statusCode"], answer["body"]) == (200, "")
    assert took < 5.0  # Xero's limit; the one call to moto on loopback takes milliseconds


def test_a_wrong_signature_is_401_with_an_empty_body_and_nothing_is_queued(stack: SimpleNamespace) -> None:
    stack.services.documents.put_customer(COMPANY, builders.customer())  # an event to deliver
    as_other_app(stack).request("PUT", "/Contacts", json={"Name": "Walk-in customer"})
    (refused,) = stack.control.call("POST", "/webhooks/deliver", {"wrong_signature": True})["deliveries"]
    assert (refused["status"], refused["body"]) == (401, "")
    assert receive_sqs_event(stack.events_queue)["Records"] == []


def test_production_without_the_key_answers_503_with_an_empty_body(stack: SimpleNamespace) -> None:
    env = stack.env | {"STAGE": "prod", "XERO_WEBHOOK_KEY_PARAM": key_parameter(None)}  # never created
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"B2"}'
    with handlers(env, {"xero_webhook": FUNCTIONS["xero_webhook"]}) as fns:
        answer = fns.xero_webhook.handler(delivery(body, sign(KEY, body)), Context(5))
    assert (answer["statusCode"], answer["body"]) == (503, "")
    assert receive_sqs_event(stack.events_queue)["Records"] == []


# ---------------------------------------------------------------- the consumer


def test_booksyncs_own_writes_are_recognised_and_nothing_is_recorded(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    assert {d["status"] for d in deliver(stack)} == {200}
    assert set(consume(stack)) == {"own_write"}
    assert link(DocumentKind.INVOICE, "inv-1").remote_change is None


def test_an_invoice_voided_in_xero_is_recorded_as_drift_and_never_voided_back(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    deliver(stack), consume(stack)  # booksync's own creates
    remote = link(DocumentKind.INVOICE, "inv-1").remote_id
    voided = as_other_app(stack).request("POST", f"/Invoices/{remote}", json={"Status": "VOIDED"})
    assert voided.status_code == 200, voided.text
    assert [d["status"] for d in deliver(stack)] == [200]
    assert "drift" in consume(stack)
    after = link(DocumentKind.INVOICE, "inv-1")
    assert (after.remote_id, after.remote_change) == (remote, "Void")
    (invoice,) = [i for i in stack.control.ledger(stack.tenant)["invoices"] if i["InvoiceID"] == remote]
    assert invoice["Status"] == "VOIDED"  # booksync copies nothing back


def test_a_contact_edited_in_xero_is_recorded_as_drift(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    deliver(stack), consume(stack)
    row = DocumentModel.get(COMPANY, "customer#c-1")
    remote = row.link("xero").remote_id
    # booksync's push was a minute before the edit (an event within seconds of it is its own).
    row.update(actions=[DocumentModel.link_attribute("xero").synced_at.set(time.time() - 60)])
    edited = as_other_app(stack).request(
        "POST", f"/Contacts/{remote}", json={"Name": "Ada L. (edited in Xero)"}
    )
    assert edited.status_code == 200, edited.text
    assert [d["status"] for d in deliver(stack)] == [200]
    assert "drift" in consume(stack)
    assert link(DocumentKind.CUSTOMER, "c-1").remote_change == "Update"


def test_a_record_that_cannot_be_read_for_good_is_recorded_not_fetched(stack: SimpleNamespace) -> None:
    seed_and_sync(stack, COMPANY)
    deliver(stack), consume(stack)
    remote = link(DocumentKind.INVOICE, "inv-1").remote_id
    as_other_app(stack).request("POST", f"/Invoices/{remote}", json={"Reference": "changed in Xero"})
    assert [d["status"] for d in deliver(stack)] == [200]
    stack.control.call("POST", f"/organisations/{stack.tenant}/disconnect", {})  # the grant is gone
    assert "not_fetched" in consume(stack)
    (row,) = [r for r in WebhookEventModel.scan() if r.outcome == "not_fetched"]
    assert "could not be read for this event" in str(row.detail)
    assert link(DocumentKind.INVOICE, "inv-1").remote_change is None  # no guess
