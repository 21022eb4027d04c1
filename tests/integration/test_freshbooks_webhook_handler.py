"""FreshBooks' webhooks end to end: the real handlers (functions/webhooks/freshbooks.py and
freshbooks_events.py, sync_invoice) against moto server (SQS, DynamoDB, KMS) and the FreshBooks
sandbox, which keeps the callbacks booksync registers, posts their verification and signs its
deliveries as FreshBooks does, to an endpoint that hands each POST (with its URL's query) to the
handler as API Gateway would. Changes are made in FreshBooks by its user (the control API)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.providers.freshbooks.webhooks import EVENTS, held_verifiers, sign_delivery
from booksync.settings import ApiSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.models import DocumentModel, WebhookEventModel
from booksync.webhooks.secrets import StoredWebhookSecrets
from booksync.wiring import _vault, api_services

from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl
from tests import builders
from tests.apigw import admin, endpoint, http_event
from tests.aws_calls import counting
from tests.integration.test_api import Lambda
from tests.integration.test_freshbooks_connect_sandbox import consent
from tests.lambda_env import (
    Context,
    environment,
    freshbooks_environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
    seed_and_sync,
    sync_pending,
)

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "booksync-freshbooks-webhooks", "freshbooks-webhooks-secret-4e1"
FUNCTIONS = {
    "freshbooks_webhook": "functions.webhooks.freshbooks",
    "freshbooks_events": "functions.webhooks.freshbooks_events",
    "sync_invoice": "functions.sync_invoice.handler",
}
HEADER = "x-freshbooks-hmac-sha256"


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    events_queue = boto3.client("sqs").create_queue(QueueName=f"fb-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    held = SimpleNamespace(fns=None)

    def answer(body: bytes, headers: Any, query: dict[str, str]) -> dict[str, Any]:
        return answered(held.fns, body, headers.get(HEADER), query)

    with (
        FreshBooksSandbox(config=FreshBooksConfig(delivery="manual")) as sandbox,
        FreshBooksControl(sandbox.url) as control,
        endpoint("/webhooks/freshbooks", answer, query=True) as url,
    ):
        base = url.removesuffix("/webhooks/freshbooks")
        control.register_client(CLIENT_ID, CLIENT_SECRET, [f"{base}/oauth/freshbooks/callback"])
        env = environment(
            tables,
            queue_url=sqs_queue,
            key_id=kms_key,
            qbo_url="http://127.0.0.1:9",  # no QuickBooks here
            client_id="unused-quickbooks-app",
            client_secret="unused-quickbooks-secret",
            idempotency_table=idempotency_table(),
        )
        env |= freshbooks_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET)
        env |= {"PUBLIC_API_BASE_URL": base, "WEBHOOK_QUEUE_URL": events_queue}
        with handlers(env, FUNCTIONS) as fns:
            held.fns = fns
            services = api_services(ApiSettings.from_env(env))
            running = SimpleNamespace(
                fns=fns, env=env, services=services, call=Lambda(services), control=control, url=url,
                queue=sqs_queue, events_queue=events_queue, kms_key=kms_key, sandbox=sandbox,
                account=str(control.businesses()[0]["account_id"]),
            )  # fmt: skip
            consent(running)
            yield running


def answered(fns: Any, body: bytes, signature: str | None, query: dict[str, str]) -> dict[str, Any]:
    answer: dict[str, Any] = fns.freshbooks_webhook.handler(delivery(body, signature, query), Context(5))
    return answer


def delivery(body: bytes, signature: str | None, query: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/x-www-form-urlencoded", "user-agent": "FreshBooks-Webhooks"}
    headers |= {HEADER: signature} if signature is not None else {}
    path = "/webhooks/freshbooks" + (f"?{urlencode(query)}" if query else "")
    return http_event("POST", path, body.decode(), route_key="POST /webhooks/freshbooks", headers=headers)


def callbacks(stack: SimpleNamespace) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.control.call("GET", "/callbacks")["callbacks"]
    return found


def deliver(stack: SimpleNamespace, **options: Any) -> list[dict[str, Any]]:
    """The sandbox posts what waits (``times``: each that many times; ``wrong_signature``)."""
    done: list[dict[str, Any]] = stack.control.call("POST", "/callbacks/deliver", options)["deliveries"]
    return done


def consume(stack: SimpleNamespace) -> list[str]:
    """FreshBooksEventsFunction on what the queue holds: the outcomes recorded meanwhile."""
    before = {str(row.event_key) for row in WebhookEventModel.scan()}
    records = receive_sqs_event(stack.events_queue)["Records"]
    assert records, "the webhook queued its deliveries"
    assert stack.fns.freshbooks_events.handler({"Records": records}, Context(30)) == {"batchItemFailures": []}
    return sorted(str(row.outcome) for row in WebhookEventModel.scan() if str(row.event_key) not in before)


def handshake(stack: SimpleNamespace) -> list[str]:
    statuses = [attempt.get("status") for d in deliver(stack) for attempt in d["attempts"]]
    assert statuses and set(statuses) == {200}, statuses
    return consume(stack)


def verifiers(stack: SimpleNamespace) -> dict[str, str]:
    lookup = StoredWebhookSecrets("freshbooks", ConnectionRepository(), _vault(stack.kms_key))
    return held_verifiers(lookup.current(stack.account)[0])


def link(kind: DocumentKind, doc_id: str) -> Any:
    return DocumentModel.get(COMPANY, f"{kind.value}#{doc_id}").link("freshbooks")


def signed(stack: SimpleNamespace, name: str, object_id: str) -> tuple[bytes, str]:
    """A delivery as FreshBooks signs it, with the verifier of the callback that hears ``name``."""
    (callback,) = [c for c in callbacks(stack) if c["event"] == name]
    fields = {"name": name, "object_id": object_id, "account_id": stack.account, "business_id": "1"}
    return urlencode(fields).encode(), sign_delivery(fields, callback["verifier"])


# ---------------------------------------------------------------- registration and handshake


def test_connect_registers_each_callback_once_and_the_handshake_activates_them(
    stack: SimpleNamespace,
) -> None:
    ours = f"{stack.url}?account_id={stack.account}"
    registered = callbacks(stack)
    assert sorted(c["event"] for c in registered) == sorted(EVENTS)
    assert {c["uri"] for c in registered} == {ours} and not any(c["verified"] for c in registered)
    assert handshake(stack) == ["verified"] * len(EVENTS)
    assert all(c["verified"] for c in callbacks(stack))
    assert verifiers(stack) == {str(c["callbackid"]): c["verifier"] for c in callbacks(stack)}


def test_reconnecting_registers_nothing_twice_and_resends_the_verifications_it_lost(
    stack: SimpleNamespace,
) -> None:
    handshake(stack)
    before = sorted(c["callbackid"] for c in callbacks(stack))
    consent(stack, route="reconnect")  # a new connection: the verifiers sealed for the old are lost
    assert sorted(c["callbackid"] for c in callbacks(stack)) == before
    assert handshake(stack) == ["verified"] * len(EVENTS)  # each resent, sent back, kept again
    assert sorted(int(k) for k in verifiers(stack)) == before


def test_disconnecting_deletes_booksyncs_callbacks(stack: SimpleNamespace) -> None:
    handshake(stack)
    status, _, _ = stack.call("POST", "/integrations/freshbooks/disconnect", claims=admin())
    assert status == 200 and callbacks(stack) == []


def test_a_disconnect_whose_callbacks_need_a_fresh_token_still_revokes_the_grant(
    stack: SimpleNamespace,
) -> None:
    """Deleting the callbacks refreshes an expired token, which spends the refresh token
    (FreshBooks' are single use): the revocation after it must use the new one."""
    handshake(stack)
    stack.control.expire_tokens()
    status, done, _ = stack.call("POST", "/integrations/freshbooks/disconnect", claims=admin())
    assert status == 200 and done["revoked"] is True, done
    assert callbacks(stack) == []
    grants = [g for g in stack.sandbox.identity.grants.values() if g.client_id == CLIENT_ID]
    assert grants and all(g.revoked for g in grants)  # revoked with the refresh token it holds now


# ---------------------------------------------------------------- the receiver


def test_a_warm_delivery_makes_one_aws_call_and_answers_200(stack: SimpleNamespace) -> None:
    # The verifier kept as the handshake keeps it, without invoking the function before: its
    # clients are made by the cold invocation below, inside the count.
    lookup = StoredWebhookSecrets("freshbooks", ConnectionRepository(), _vault(stack.kms_key))
    assert lookup.keep(stack.account, json.dumps({"2001": "verifier-of-2001"}))
    fields = {"name": "invoice.update", "object_id": "999", "account_id": stack.account, "business_id": "1"}
    body, signature = urlencode(fields).encode(), sign_delivery(fields, "verifier-of-2001")
    with counting() as aws:
        cold = stack.fns.freshbooks_webhook.handler(delivery(body, signature), Context(5))
        assert cold["statusCode"] == 200
        aws.reset()  # cold: the account's verifiers read (a query, a decrypt), then the enqueue
        started = time.perf_counter()
        answer = stack.fns.freshbooks_webhook.handler(delivery(body, signature), Context(5))
        took = time.perf_counter() - started
        assert aws.calls == ["sqs.SendMessage"]
    assert answer["statusCode"] == 200 and took < 5.0


def test_a_forged_or_unsigned_delivery_is_refused_and_nothing_queued(stack: SimpleNamespace) -> None:
    handshake(stack)
    body, _ = signed(stack, "invoice.update", "999")
    for signature in (None, sign_delivery({"name": "invoice.update"}, "not-the-verifier")):
        answer = stack.fns.freshbooks_webhook.handler(delivery(body, signature), Context(5))
        assert answer["statusCode"] == 401
        problem = json.loads(answer["body"])
        assert (
            problem["detail"] == "The X-FreshBooks-Hmac-SHA256 header is missing or does not match the body."
        )
    assert receive_sqs_event(stack.events_queue)["Records"] == []


def test_a_verification_booksync_awaits_none_of_is_dropped_without_a_request_to_freshbooks(
    stack: SimpleNamespace,
) -> None:
    """A verification delivery is unsigned: anyone can post one. One for a callback verified
    already, or for an id booksync never registered, is answered and dropped: no PUT on the
    company's tokens (FreshBooks' rate limit is the business's)."""
    handshake(stack)
    held = verifiers(stack)
    stack.control.clear_requests()
    for ident in (str(callbacks(stack)[0]["callbackid"]), "987654"):
        fields = {"name": "callback.verify", "object_id": ident, "verifier": "forged", "user_id": "1"}
        answer = answered(stack.fns, urlencode(fields).encode(), None, {"account_id": stack.account})
        assert answer["statusCode"] == 200
    assert consume(stack) == ["not_awaited", "not_awaited"]
    assert [r["path"] for r in stack.control.requests() if "/callbacks" in r["path"]] == []
    assert verifiers(stack) == held


# ---------------------------------------------------------------- changes made in FreshBooks


def synced(stack: SimpleNamespace) -> dict[DocumentKind, str]:
    """A customer, an item, an invoice and its payment, synced to FreshBooks; booksync's own
    writes' deliveries consumed (none of them is drift). Their FreshBooks ids."""
    handshake(stack)
    seed_and_sync(stack, COMPANY)
    stack.services.documents.put_payment(COMPANY, builders.payment(amount="50.00"))
    sync_pending(stack)
    ids = {
        kind: str(link(kind, doc_id).remote_id)
        for kind, doc_id in (
            (DocumentKind.CUSTOMER, "c-1"),
            (DocumentKind.ITEM, "i-1"),
            (DocumentKind.INVOICE, "inv-1"),
            (DocumentKind.PAYMENT, "p-1"),
        )
    }
    if deliver(stack):  # booksync's own writes, announced
        assert "drift" not in consume(stack)
    return ids


def test_edits_and_deletes_of_each_kind_made_in_freshbooks_are_drift_or_recreated(
    stack: SimpleNamespace,
) -> None:
    ids = synced(stack)
    account = stack.account
    stack.control.user_update(account, "clients", int(ids[DocumentKind.CUSTOMER]), {"fname": "Someone"})
    stack.control.user_update(account, "invoices", int(ids[DocumentKind.INVOICE]), {"notes": "edited there"})
    stack.control.user_delete(account, "items", int(ids[DocumentKind.ITEM]))
    stack.control.user_delete(account, "payments", int(ids[DocumentKind.PAYMENT]))
    deliver(stack)
    outcomes = consume(stack)
    assert outcomes.count("drift") == 2 and outcomes.count("recreate") == 2, outcomes
    assert link(DocumentKind.CUSTOMER, "c-1").remote_change == "Update"
    assert link(DocumentKind.INVOICE, "inv-1").remote_change == "Update"
    for kind, doc_id in ((DocumentKind.ITEM, "i-1"), (DocumentKind.PAYMENT, "p-1")):
        gone = link(kind, doc_id)
        assert gone is None or not gone.remote_id, kind  # the next sync creates it again


def test_a_delivery_the_queue_repeats_is_acted_on_once(stack: SimpleNamespace) -> None:
    ids = synced(stack)
    stack.control.user_delete(stack.account, "items", int(ids[DocumentKind.ITEM]))
    deliver(stack, times=2)  # FreshBooks posts it twice: two deliveries, each queued once
    records = receive_sqs_event(stack.events_queue)["Records"]
    assert len(records) == 2
    events = stack.fns.freshbooks_events
    assert events.handler({"Records": records}, Context(30)) == {"batchItemFailures": []}
    assert events.events().handle_message(records[0]["body"]) == {"duplicate": 1}  # SQS again
    rows = [row for row in WebhookEventModel.scan() if str(row.entity) == "item"]
    # The first clears the link (the next sync creates the item again); the second finds none.
    assert sorted(str(row.outcome) for row in rows) == ["not_linked", "recreate"]
    assert not link(DocumentKind.ITEM, "i-1").remote_id
