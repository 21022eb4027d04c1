"""POST /webhooks/square and SquareEventsFunction: the real handlers, API Gateway events, moto
server (SQS, SSM, DynamoDB, KMS), the Square sandbox (OAuth, locations, payments, refunds,
payouts, signed deliveries) and the QuickBooks sandbox (the accounting connection)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import httpx
import pytest
from booksync.documents import DocumentKind
from booksync.settings import ApiSettings
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel, NotificationModel, SyncRunModel, WebhookEventModel
from booksync.store.square_activity import SquareActivityRepository
from booksync.webhooks.signature import sign_square
from booksync.wiring import api_services

from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.square.config import ClientApp as SquareApp
from local.sandboxes.square.config import SquareConfig
from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import SquareControl
from tests import builders
from tests.apigw import admin, http_event
from tests.fakes.integrations import complete_connect
from tests.lambda_env import (
    Context,
    connect_company,
    environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
)

COMPANY = "acme"
QBO_ID, QBO_SECRET = "ABtestclient0001", "s3cr3t-for-tests"
QBO_REDIRECT = "https://api.example.com/oauth/quickbooks/callback"
SQ_ID, SQ_SECRET = "sandbox-sq0idb-booksync", "sandbox-sq0csb-secret-for-tests"
SQ_REDIRECT = "https://api.example.com/oauth/square/callback"
NOTIFY_URL = "https://api.example.com/webhooks/square"
SIGNATURE_KEY = "sq-signature-key-5d1e"


@pytest.fixture
def quickbooks() -> Iterator[QuickBooksSandbox]:
    config = SandboxConfig(clients={QBO_ID: ClientApp(secret=QBO_SECRET, redirect_uris=[QBO_REDIRECT])})
    with QuickBooksSandbox(config=config) as sb:
        yield sb


@pytest.fixture
def square() -> Iterator[SquareSandbox]:
    sandbox = SquareSandbox(
        config=SquareConfig(clients={SQ_ID: SquareApp(secret=SQ_SECRET, redirect_uris=[SQ_REDIRECT])})
    )
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def new_queue(prefix: str) -> str:
    return str(boto3.client("sqs").create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def square_env(
    tables: SimpleNamespace, kms_key: str, sync_queue: str, qbo_url: str, square_url: str, **extra: str
) -> dict[str, str]:
    env = environment(
        tables,
        queue_url=sync_queue,
        key_id=kms_key,
        qbo_url=qbo_url,
        client_id=QBO_ID,
        client_secret=QBO_SECRET,
        idempotency_table=idempotency_table(),
        webhook_queue_url=new_queue("square-events"),
    )
    # As in AWS: the signature key lives in an SSM SecureString named by the environment.
    name = f"/booksync/test/{uuid.uuid4().hex[:8]}/square-webhook-signature-key"
    boto3.client("ssm").put_parameter(Name=name, Value=SIGNATURE_KEY, Type="SecureString")
    env |= {
        "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM": name,
        "SQUARE_WEBHOOK_NOTIFICATION_URL": NOTIFY_URL,
        "SQUARE_APPLICATION_ID": SQ_ID,
        "SQUARE_APPLICATION_SECRET": SQ_SECRET,
        "SQUARE_API_BASE_URL": square_url,
        "PAYOUT_DEPOSIT_QUEUE_URL": new_queue("payout-deposits"),
        "SYNC_CATALOG_QUEUE_URL": new_queue("catalog"),
    }
    return env | extra


@pytest.fixture
def stack(
    tables: SimpleNamespace,
    kms_key: str,
    sqs_queue: str,
    quickbooks: QuickBooksSandbox,
    square: SquareSandbox,
) -> Iterator[SimpleNamespace]:
    env = square_env(tables, kms_key, sqs_queue, quickbooks.url, square.url)
    with handlers(env) as fns, SquareControl(square.url) as control:
        services = api_services(ApiSettings.from_env(env))
        connect_company(services, SandboxControl(quickbooks.url), COMPANY)
        merchant = control.add_merchant("Harper Plumbing", ["Main"])
        control.subscribe(NOTIFY_URL, SIGNATURE_KEY)
        connect_square(services, merchant["id"])
        services.documents.put_customer(COMPANY, builders.customer())
        services.documents.put_item(COMPANY, builders.item())
        services.documents.put_item(COMPANY, builders.item("i-2", "Parts", "80.00"))
        services.documents.put_invoice(COMPANY, builders.invoice("inv-1"))
        drain(sqs_queue)
        yield SimpleNamespace(
            fns=fns,
            env=env,
            services=services,
            control=control,
            merchant=merchant,
            sync_queue=sqs_queue,
            events_queue=env["SQUARE_EVENTS_QUEUE_URL"],
            payout_queue=env["PAYOUT_DEPOSIT_QUEUE_URL"],
        )


def connect_square(services: Any, merchant_id: str) -> None:
    """The browser's round trip: booksync's consent URL, the sandbox's redirect, the callback."""
    url = services.integrations.start_connect(company_id=COMPANY, user_id="u-admin", provider="square")
    consent = httpx.get(url + f"&merchant_id={merchant_id}", follow_redirects=False)
    assert consent.status_code == 302, consent.text
    query = dict(httpx.URL(consent.headers["location"]).params)
    complete_connect(
        services.integrations,
        provider="square",
        state=query["state"],
        code=query["code"],
        account_id=None,
        company_id=COMPANY,
        user_id="u-admin",
    )


def drain(queue_url: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while batch := receive_sqs_event(queue_url)["Records"]:
        records += batch
        sqs = boto3.client("sqs")
        for record in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])
    return records


def webhook_event(body: str, headers: dict[str, str]) -> dict[str, Any]:
    return http_event("POST", "/webhooks/square", body, route_key="POST /webhooks/square", headers=headers)


def post(stack: SimpleNamespace, request: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's signed request, handed to the function as API Gateway would."""
    answer: dict[str, Any] = stack.fns.square_webhook.handler(
        webhook_event(request["body"], request["headers"]), Context(5)
    )
    return answer


def consume(stack: SimpleNamespace) -> list[str]:
    """Run the consumer on what the webhook queued; answers the outcomes from the event rows."""
    event = receive_sqs_event(stack.events_queue)
    assert event["Records"], "the webhook queued its delivery"
    result = stack.fns.square_events.handler(event, Context(30))
    assert result == {"batchItemFailures": []}
    return [json.loads(r["body"])["body"] for r in event["Records"]]


def pay(stack: SimpleNamespace, amount: int, **extra: Any) -> dict[str, Any]:
    """A card payment in the sandbox whose signed webhook requests are posted by the test."""
    answer: dict[str, Any] = stack.control.pay(stack.merchant["id"], amount, deliver=False, **extra)
    return answer


def deliver_all(stack: SimpleNamespace, answer: dict[str, Any]) -> None:
    for request in answer["requests"]:
        assert post(stack, request)["statusCode"] == 200
    consume(stack)


# ---------------------------------------------------------------- the connection


def test_square_connects_with_locations_and_is_not_the_accounting_connection(stack: SimpleNamespace) -> None:
    row = ConnectionModel.get(COMPANY, "square")
    assert row.account_id == stack.merchant["id"]
    assert row.token_ciphertext and b"EAAA" not in bytes(row.token_ciphertext)  # KMS-sealed
    assert [loc["id"] for loc in row.locations] == [loc["id"] for loc in stack.merchant["locations"]]
    assert row.locations[0]["timezone"] == "America/Los_Angeles"
    assert stack.services.documents._connections.accounting_connection(COMPANY).provider == "quickbooks"
    described = stack.services.integrations.describe(COMPANY, "square")
    assert described["status"] == "connected" and described["locations"]
    assert "drift" not in described


def test_disconnect_revokes_the_grant_at_square(stack: SimpleNamespace) -> None:
    answer = stack.services.integrations.disconnect(company_id=COMPANY, provider="square")
    assert answer["revoked"] is True and answer["status"] == "disconnected"
    log = stack.control.call("GET", "/requests")["requests"]
    assert any(r["path"] == "/oauth2/revoke" and r["status"] == 200 for r in log)


# ---------------------------------------------------------------- the webhook's answers


def test_bad_signature_is_401_and_nothing_is_queued(stack: SimpleNamespace) -> None:
    request = pay(stack, 10000, reference_id="inv-1")["requests"][0]
    for signature in ("", "AAAA", sign_square(request["body"].encode(), "wrong-key", NOTIFY_URL)):
        headers = {**request["headers"], "x-square-hmacsha256-signature": signature}
        assert post(stack, {**request, "headers": headers})["statusCode"] == 401
    tampered = request["body"].replace("10000", "1")
    assert post(stack, {**request, "body": tampered})["statusCode"] == 401
    assert receive_sqs_event(stack.events_queue)["Records"] == []
    assert DocumentRepository().get(COMPANY, DocumentKind.PAYMENT, "square-x") is None


def test_prod_without_a_signature_key_answers_503(
    tables: SimpleNamespace,
    kms_key: str,
    sqs_queue: str,
    quickbooks: QuickBooksSandbox,
    square: SquareSandbox,
) -> None:
    env = square_env(tables, kms_key, sqs_queue, quickbooks.url, square.url, STAGE="prod")
    env["SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM"] = f"/booksync/test/{uuid.uuid4().hex}/missing"
    with handlers(env) as fns:
        body = json.dumps({"merchant_id": "M", "type": "payment.created", "event_id": "e1", "data": {}})
        answer = fns.square_webhook.handler(
            webhook_event(
                body, {"x-square-hmacsha256-signature": sign_square(body.encode(), SIGNATURE_KEY, NOTIFY_URL)}
            ),
            Context(5),
        )
    assert answer["statusCode"] == 503
    assert "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM" in json.loads(answer["body"])["fix"]
    assert receive_sqs_event(env["SQUARE_EVENTS_QUEUE_URL"])["Records"] == []


def test_dev_without_a_key_accepts_unsigned_deliveries(
    tables: SimpleNamespace,
    kms_key: str,
    sqs_queue: str,
    quickbooks: QuickBooksSandbox,
    square: SquareSandbox,
) -> None:
    env = square_env(tables, kms_key, sqs_queue, quickbooks.url, square.url)
    del env["SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM"]
    with handlers(env) as fns:
        body = json.dumps({"merchant_id": "M", "type": "payment.created", "event_id": "e1", "data": {}})
        answer = fns.square_webhook.handler(webhook_event(body, {}), Context(5))
    assert answer["statusCode"] == 200
    (record,) = receive_sqs_event(env["SQUARE_EVENTS_QUEUE_URL"])["Records"]
    assert json.loads(record["body"])["signed"] is False


def test_a_signed_body_that_is_not_an_event_is_400_and_kept(stack: SimpleNamespace) -> None:
    body = '{"hello":"square"}'
    headers = {"x-square-hmacsha256-signature": sign_square(body.encode(), SIGNATURE_KEY, NOTIFY_URL)}
    answer = stack.fns.square_webhook.handler(webhook_event(body, headers), Context(5))
    assert answer["statusCode"] == 400
    assert "event_id" in json.loads(answer["body"])["detail"]
    consume(stack)
    kept = [row for row in WebhookEventModel.scan() if row.event_key.startswith("square#malformed:")]
    assert len(kept) == 1 and '{"hello":"square"}' in str(kept[0].detail)


# ---------------------------------------------------------------- payments


def test_payment_recorded_once_when_the_same_event_arrives_three_times(stack: SimpleNamespace) -> None:
    answer = pay(stack, 38000, reference_id="inv-1")
    square_id = answer["payment"]["id"]
    (request,) = answer["requests"]
    for _ in range(3):
        assert post(stack, request)["statusCode"] == 200
    event = receive_sqs_event(stack.events_queue)
    assert len(event["Records"]) == 3
    assert stack.fns.square_events.handler(event, Context(30)) == {"batchItemFailures": []}
    # A payment.updated of the same, unchanged payment (another event id) is a no-op too.
    redelivered = stack.control.redeliver(answer["events"][0]["event_id"], send=False)["requests"][0]
    body = (
        redelivered["body"]
        .replace('"payment.created"', '"payment.updated"')
        .replace(answer["events"][0]["event_id"], "another-event-id")
    )
    headers = {
        **redelivered["headers"],
        "x-square-hmacsha256-signature": sign_square(body.encode(), SIGNATURE_KEY, NOTIFY_URL),
    }
    assert post(stack, {"body": body, "headers": headers})["statusCode"] == 200
    consume(stack)

    docs = DocumentRepository()
    payment = docs.get(COMPANY, DocumentKind.PAYMENT, f"square-{square_id}")
    assert payment is not None
    assert payment.body["amount"] == "380.00" and payment.body["invoice_id"] == "inv-1"
    assert payment.body["method"] == "credit_card" and len(payment.body["reference"]) <= 21
    invoice = docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert invoice is not None and invoice.payment_ids == {f"square-{square_id}"}
    outcomes = sorted(str(r.outcome) for r in WebhookEventModel.scan() if r.event_key.startswith("square#"))
    assert outcomes == ["recorded", "unchanged"]
    # It syncs as any payment: auto-sync queued the invoice for QuickBooks.
    jobs = [json.loads(r["body"]) for r in drain(stack.sync_queue)]
    assert [(j["invoice_id"], j["provider"]) for j in jobs] == [("inv-1", "quickbooks")]


def test_partial_payment_with_tip_keeps_square_figures_for_the_deposit(stack: SimpleNamespace) -> None:
    answer = pay(stack, 20000, tip=1500, reference_id="inv-1")
    deliver_all(stack, answer)
    square_id = answer["payment"]["id"]
    payment = DocumentRepository().get(COMPANY, DocumentKind.PAYMENT, f"square-{square_id}")
    assert payment is not None and payment.body["amount"] == "200.00"  # the tip is not the invoice's
    row = SquareActivityRepository().get(COMPANY, "payment", square_id)
    assert row is not None and row.status == "recorded"
    assert (row.amount, row.tip, row.total) == ("200.00", "15.00", "215.00")
    # 2.6% of the total + 15c, as the sandbox charges.
    assert Decimal(str(row.processing_fee)) == (
        Decimal("215.00") * Decimal("0.026") + Decimal("0.15")
    ).quantize(Decimal("0.01"))
    assert row.location_id == stack.merchant["main_location_id"] and row.card_brand
    assert row.document_id == f"square-{square_id}"
    # A second partial payment of the same invoice is its own payment.
    deliver_all(stack, pay(stack, 18000, reference_id="inv-1"))
    invoice = DocumentRepository().get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert invoice is not None and len(invoice.payment_ids or ()) == 2


def test_unknown_invoice_is_kept_reported_and_matched_later(stack: SimpleNamespace) -> None:
    answer = pay(stack, 5000, reference_id="inv-404")
    deliver_all(stack, answer)
    square_id = answer["payment"]["id"]
    assert DocumentRepository().get(COMPANY, DocumentKind.PAYMENT, f"square-{square_id}") is None
    row = SquareActivityRepository().get(COMPANY, "payment", square_id)
    assert row is not None and row.status == "unmatched" and "inv-404" in str(row.error)
    runs = [r for r in SyncRunModel.query(COMPANY) if r.provider == "square"]
    assert len(runs) == 1 and runs[0].status == "failed"
    assert runs[0].errors[0].code == "square_payment_unmatched" and runs[0].errors[0].fix
    assert NotificationModel.get(COMPANY, "square:unmatched_payment").resolved_at is None

    api = stack.fns.api.handler
    listed = api(http_event("GET", "/square/payments/unmatched", claims=admin()), Context())
    assert [p["square_id"] for p in json.loads(listed["body"])] == [square_id]
    member = {**admin(), "role": "member"}
    match = f"/square/payments/{square_id}/match"
    assert (
        api(http_event("POST", match, {"invoice_id": "inv-1"}, claims=member), Context())["statusCode"] == 403
    )
    missing = api(http_event("POST", match, {"invoice_id": "nope"}, claims=admin()), Context())
    assert missing["statusCode"] == 404 and json.loads(missing["body"])["fix"]
    done = api(http_event("POST", match, {"invoice_id": "inv-1"}, claims=admin()), Context())
    assert done["statusCode"] == 200, done["body"]
    assert json.loads(done["body"])["status"] == "recorded"
    assert DocumentRepository().get(COMPANY, DocumentKind.PAYMENT, f"square-{square_id}") is not None
    assert NotificationModel.get(COMPANY, "square:unmatched_payment").resolved_at is not None


def test_a_changed_amount_is_reported_not_counted_twice(stack: SimpleNamespace) -> None:
    answer = pay(stack, 10000, reference_id="inv-1")
    deliver_all(stack, answer)
    (request,) = stack.control.redeliver(answer["events"][0]["event_id"], send=False)["requests"]
    body = (
        request["body"]
        .replace('"amount":10000', '"amount":12000')
        .replace(answer["events"][0]["event_id"], "evt-changed")
    )
    headers = {
        **request["headers"],
        "x-square-hmacsha256-signature": sign_square(body.encode(), SIGNATURE_KEY, NOTIFY_URL),
    }
    assert post(stack, {"body": body, "headers": headers})["statusCode"] == 200
    consume(stack)
    payment = DocumentRepository().get(COMPANY, DocumentKind.PAYMENT, f"square-{answer['payment']['id']}")
    assert payment is not None and payment.body["amount"] == "100.00"
    runs = [r for r in SyncRunModel.query(COMPANY) if r.provider == "square"]
    assert [r.errors[0].code for r in runs] == ["square_amount_changed"]


def test_refund_is_recorded_as_a_refund_of_the_square_payment(stack: SimpleNamespace) -> None:
    answer = pay(stack, 30000, reference_id="inv-1")
    deliver_all(stack, answer)
    refund = stack.control.refund(answer["payment"]["id"], amount=5000, reason="Part returned", deliver=False)
    for request in refund["requests"]:
        assert post(stack, request)["statusCode"] == 200
    consume(stack)
    doc = DocumentRepository().get(COMPANY, DocumentKind.REFUND, f"square-{refund['refund']['id']}")
    assert doc is not None
    assert doc.body["payment_id"] == f"square-{answer['payment']['id']}"
    assert doc.body["amount"] == "50.00" and doc.body["reason"] == "Part returned"


# ---------------------------------------------------------------- payouts and strangers


def test_payout_events_are_handed_to_the_payout_deposit_queue(stack: SimpleNamespace) -> None:
    deliver_all(stack, pay(stack, 10000, reference_id="inv-1"))
    payout = stack.control.payout(stack.merchant["id"], deliver=False)
    deliver_all(stack, payout)
    (record,) = drain(stack.payout_queue)
    message = json.loads(record["body"])
    event = payout["events"][0]
    assert message == {
        "company_id": COMPANY,
        "merchant_id": stack.merchant["id"],
        "payout_id": payout["payout"]["id"],
        "event_type": "payout.sent",
        "event_id": event["event_id"],
        "payout": event["data"]["object"]["payout"],
    }


def test_events_for_an_unknown_merchant_are_acknowledged(stack: SimpleNamespace) -> None:
    stranger = stack.control.add_merchant("Someone Else")
    deliver_all(stack, stack.control.pay(stranger["id"], 1000, reference_id="inv-1", deliver=False))
    (row,) = [r for r in WebhookEventModel.scan() if r.event_key.startswith("square#")]
    assert row.outcome == "unknown_merchant" and stranger["id"] in str(row.detail)


def test_a_warm_delivery_makes_exactly_one_aws_request_before_its_answer(stack: SimpleNamespace) -> None:
    from tests.aws_calls import counting

    requests = [pay(stack, 1000 + i, reference_id="inv-1")["requests"][0] for i in range(2)]
    with counting() as aws:
        assert post(stack, requests[0])["statusCode"] == 200  # cold: reads the key from SSM
        cold = list(aws.calls)
        aws.reset()
        assert post(stack, requests[1])["statusCode"] == 200
        warm = list(aws.calls)
    assert cold == ["ssm.GetParameter", "sqs.SendMessage"], cold
    assert warm == ["sqs.SendMessage"], warm


def test_nothing_syncs_to_square_as_if_it_were_the_books(stack: SimpleNamespace) -> None:
    api = stack.fns.api.handler
    for path, body in (
        ("/invoices/inv-1/sync?provider=square", None),
        ("/integrations/square/sync", {"kinds": ["items"]}),
    ):
        answer = api(http_event("POST", path, body, claims=admin()), Context())
        assert 400 <= answer["statusCode"] < 500, answer
        problem = json.loads(answer["body"])
        assert "not an accounting system" in problem["detail"] and problem["fix"]
    assert drain(stack.sync_queue) == []


def test_fuzzed_requests_through_the_handler_never_5xx_and_change_nothing(stack: SimpleNamespace) -> None:
    import base64

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    genuine = pay(stack, 4200, reference_id="inv-1")["requests"][0]
    signatures = st.one_of(
        st.text(max_size=60),
        st.just(genuine["headers"]["x-square-hmacsha256-signature"]),  # a real signature, other body
        st.builds(lambda b: sign_square(b, "not-the-key", NOTIFY_URL), st.binary(max_size=40)),
    )
    header_names = st.sampled_from(
        ["x-square-hmacsha256-signature", "X-Square-HmacSha256-Signature", "content-type"]
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=st.one_of(st.binary(max_size=300), st.just(genuine["body"].encode() + b" ")),
        as_base64=st.booleans(),
        headers=st.one_of(st.none(), st.dictionaries(header_names, signatures, max_size=3)),
    )
    def one(body: bytes, as_base64: bool, headers: dict[str, str] | None) -> None:
        event = webhook_event("", {})
        event["headers"] = headers
        event["body"] = (
            base64.b64encode(body).decode() if as_base64 else body.decode("utf-8", errors="replace")
        )
        event["isBase64Encoded"] = as_base64
        answer = stack.fns.square_webhook.handler(event, Context(5))
        assert answer["statusCode"] == 401, answer

    one()
    assert receive_sqs_event(stack.events_queue)["Records"] == []
    assert [r for r in WebhookEventModel.scan() if r.event_key.startswith("square#")] == []


def test_a_payment_in_another_currency_than_its_invoice_is_held_not_recorded(stack: SimpleNamespace) -> None:
    """380 in yen is not $380.00 (nor $3.80): Square's JPY money on a USD invoice is held with a
    reason and reported once, and the invoice keeps no payment (issue 10, item 4)."""
    stack.control.set_config(currency="JPY")
    answer = pay(stack, 380, reference_id="inv-1")
    deliver_all(stack, answer)
    square_id = answer["payment"]["id"]
    assert DocumentRepository().get(COMPANY, DocumentKind.PAYMENT, f"square-{square_id}") is None
    invoice = DocumentRepository().get(COMPANY, DocumentKind.INVOICE, "inv-1")
    assert invoice is not None and not invoice.payment_ids
    row = SquareActivityRepository().get(COMPANY, "payment", square_id)
    assert row is not None and row.status == "rejected"
    assert (row.amount, row.currency) == ("380", "JPY"), "JPY has no minor unit: 380 is 380 yen"
    assert "in JPY but invoice 'inv-1' is in USD" in str(row.error)
    runs = [r for r in SyncRunModel.query(COMPANY) if r.provider == "square"]
    assert [e.code for r in runs for e in r.errors] == ["square_currency_mismatch"]
    note = NotificationModel.get(COMPANY, "square:unmatched_payment")
    assert note.resolved_at is None and "JPY" in str(note.message)
    # Square redelivers: still held, reported once.
    redelivered = stack.control.redeliver(answer["events"][0]["event_id"], send=False)
    deliver_all(stack, redelivered)
    runs = [r for r in SyncRunModel.query(COMPANY) if r.provider == "square"]
    assert len(runs) == 1
    assert not drain(stack.sync_queue), "nothing to sync"
