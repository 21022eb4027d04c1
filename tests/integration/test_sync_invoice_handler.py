"""The real handlers, invoked with real event shapes, against moto server and the QuickBooks sandbox."""

from __future__ import annotations

import functools
import io
import json
import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind
from booksync.settings import ApiSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel, DocumentModel
from booksync.sync.jobs import SqsJobQueue
from booksync.wiring import api_services

from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests import builders
from tests.lambda_env import (
    Context,
    connect_company,
    environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
)
from tests.threads import run_threads

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "ABtestclient0001", "s3cr3t-for-tests"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[QuickBooksSandbox]:
    overrides = getattr(request, "param", {})
    config = SandboxConfig(
        clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])}, **overrides
    )
    with QuickBooksSandbox(config=config) as sb:
        yield sb


@pytest.fixture
def stack(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, sandbox: QuickBooksSandbox
) -> Iterator[SimpleNamespace]:
    env = environment(
        tables,
        queue_url=sqs_queue,
        key_id=kms_key,
        qbo_url=sandbox.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        idempotency_table=idempotency_table(),
    )
    with handlers(env) as fns:
        services = api_services(ApiSettings.from_env(env))
        control = SandboxControl(sandbox.url)
        realm = connect_company(services, control, COMPANY)
        yield SimpleNamespace(fns=fns, services=services, control=control, realm=realm, queue=sqs_queue)


def seed_invoice(stack: SimpleNamespace, payments: tuple[str, ...] = ("100.00", "280.00")) -> None:
    docs = stack.services.documents
    docs.put_customer(COMPANY, builders.customer())
    # Its own job (auto_sync_customers) is taken off the queue unprocessed, so the invoice's job is
    # the one these tests deliver; the customer stays pending until the invoice's job pushes it.
    assert len(receive_sqs_event(stack.queue)["Records"]) == 1, "the customer's job"
    docs.put_item(COMPANY, builders.item("i-1"))
    docs.put_item(COMPANY, builders.item("i-2", name="Trip\tcharge", price="80.00"))
    docs.put_invoice(COMPANY, builders.invoice())
    for n, amount in enumerate(payments, 1):
        docs.put_payment(COMPANY, builders.payment(f"p-{n}", amount))


def ledger_counts(stack: SimpleNamespace) -> dict[str, int]:
    entities = stack.control.ledger(stack.realm)["entities"]
    return {name: len(entities[name]) for name in ("Customer", "Item", "Invoice", "Payment")}


def one_event(stack: SimpleNamespace) -> dict:
    event = receive_sqs_event(stack.queue)
    assert event["Records"], "a sync job was queued"
    return event


def another_job(record: dict) -> dict:
    """The same invoice's job under another job id and message (a sweep's or a Resync's duplicate):
    Powertools' idempotency, keyed by job id, does not know it, so the engine must."""
    body = {**json.loads(record["body"]), "job_id": uuid.uuid4().hex}
    return {**record, "messageId": str(uuid.uuid4()), "body": json.dumps(body)}


def test_the_same_job_three_times_gives_one_invoice_and_one_payment_each(stack: SimpleNamespace) -> None:
    seed_invoice(stack)
    first = one_event(stack)["Records"][0]
    for record in (first, first, another_job(first), another_job(first)):
        result = stack.fns.sync_invoice.handler({"Records": [record]}, Context())
        assert result == {"batchItemFailures": []}
    assert ledger_counts(stack) == {"Customer": 1, "Item": 2, "Invoice": 1, "Payment": 2}
    invoice = stack.control.ledger(stack.realm)["entities"]["Invoice"][0]
    assert Decimal(str(invoice["Balance"])) == Decimal("0")


def test_an_unchanged_invoice_costs_no_quickbooks_request(stack: SimpleNamespace) -> None:
    seed_invoice(stack)
    first = one_event(stack)["Records"][0]
    assert stack.fns.sync_invoice.handler({"Records": [first]}, Context()) == {"batchItemFailures": []}
    stack.control.clear_requests()
    assert stack.fns.sync_invoice.handler({"Records": [another_job(first)]}, Context()) == {
        "batchItemFailures": []
    }
    assert stack.control.requests(stack.realm) == [], "not a read, not a query, not a token call"
    assert stack.control.requests() == []


# QuickBooks' requestid is not trusted to dedupe (Intuit does not promise it): the sandbox ignores it.
@pytest.mark.parametrize("sandbox", [{"honor_request_id": False}], indirect=True)
def test_concurrent_jobs_for_one_invoice_write_once(stack: SimpleNamespace) -> None:
    seed_invoice(stack)
    record = one_event(stack)["Records"][0]
    jobs = [another_job(record) for _ in range(3)]  # Powertools dedupes none of them: the intents must
    results: dict[str, dict] = {}

    def deliver(job: dict) -> None:
        results[job["messageId"]] = stack.fns.sync_invoice.handler({"Records": [job]}, Context())

    run_threads(*(functools.partial(deliver, job) for job in jobs))
    assert len(results) == 3
    # Deliveries that found the work in progress fail their item and come back later.
    for job in jobs:
        if results[job["messageId"]]["batchItemFailures"]:
            assert stack.fns.sync_invoice.handler({"Records": [job]}, Context()) == {"batchItemFailures": []}
    assert ledger_counts(stack) == {"Customer": 1, "Item": 2, "Invoice": 1, "Payment": 2}


@pytest.mark.parametrize(
    "sandbox",
    [{"honor_request_id": True}, {"honor_request_id": False}],
    indirect=True,
    ids=["requestid", "lookup"],
)
@pytest.mark.parametrize("entity", ["Invoice", "Payment", "Customer"])
def test_committed_but_answer_lost_is_found_not_duplicated(stack: SimpleNamespace, entity: str) -> None:
    seed_invoice(stack, payments=("50.00",))
    stack.control.add_fault("commit_then_reset", entity=entity, operation="create", times=1)
    record = one_event(stack)["Records"][0]
    first = stack.fns.sync_invoice.handler({"Records": [record]}, Context())
    assert first == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    second = stack.fns.sync_invoice.handler({"Records": [record]}, Context())
    assert second == {"batchItemFailures": []}
    assert ledger_counts(stack)[entity] == 1


def test_a_malformed_message_fails_its_item_only(stack: SimpleNamespace) -> None:
    seed_invoice(stack)
    good = one_event(stack)["Records"][0]
    bad = {**good, "messageId": "bad-1", "body": json.dumps({"company_id": COMPANY})}
    result = stack.fns.sync_invoice.handler({"Records": [bad, good]}, Context())
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert ledger_counts(stack)["Invoice"] == 1


def test_expired_token_is_refreshed_once_and_the_edit_is_a_sparse_update(stack: SimpleNamespace) -> None:
    seed_invoice(stack, payments=())
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    before = stack.control.token_calls(stack.realm)
    stack.control.expire_tokens(stack.realm)
    stack.services.documents.put_invoice(COMPANY, builders.invoice(memo="Gate code 1234"))
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    after = stack.control.token_calls(stack.realm)
    assert after.get("refresh_token", 0) - before.get("refresh_token", 0) == 1
    invoice = stack.control.ledger(stack.realm)["entities"]["Invoice"][0]
    assert invoice["SyncToken"] == "1"
    assert invoice["CustomerMemo"]["value"] == "Gate code 1234"


def test_revoked_grant_parks_the_job_and_shows_needs_reconnection(stack: SimpleNamespace) -> None:
    seed_invoice(stack, payments=())
    stack.control.revoke_grant(stack.realm)
    stack.control.expire_tokens(stack.realm)
    result = stack.fns.sync_invoice.handler(one_event(stack), Context())
    assert result == {"batchItemFailures": []}, "parked work is acknowledged, not burned through retries"
    status = stack.services.integrations.describe(COMPANY, "quickbooks")
    assert status["status_label"] == "Needs Reconnection"
    state = stack.services.integrations.document_state(COMPANY, DocumentKind.INVOICE, "inv-1", "quickbooks")
    assert state["badge"] == "Blocked" and state["pending"] is True


def test_a_401_with_a_fresh_token_is_connection_down_with_one_notification(stack: SimpleNamespace) -> None:
    from booksync.store.notifications import NotificationRepository

    seed_invoice(stack, payments=())
    stack.services.documents.put_invoice(COMPANY, builders.invoice("inv-2"))
    before = stack.control.token_calls(stack.realm).get("refresh_token", 0)
    # Intuit refuses every API call with 401, a freshly refreshed token included.
    stack.control.add_fault("http_401", path=r"^/v3/company/")
    event = receive_sqs_event(stack.queue)
    assert len(event["Records"]) == 2
    assert stack.fns.sync_invoice.handler(event, Context()) == {"batchItemFailures": []}, (
        "parked, not retried"
    )
    assert stack.control.token_calls(stack.realm).get("refresh_token", 0) == before + 1, "one refresh"
    status = stack.services.integrations.describe(COMPANY, "quickbooks")
    assert status["status_label"] == "Connection Down"
    notes = NotificationRepository().for_company(COMPANY)
    assert [(n.kind, int(n.occurrences)) for n in notes] == [("quickbooks:connection_down", 2)]
    for invoice_id in ("inv-1", "inv-2"):
        state = stack.services.integrations.document_state(
            COMPANY, DocumentKind.INVOICE, invoice_id, "quickbooks"
        )
        assert state["badge"] == "Blocked" and state["pending"] is True
    assert ledger_counts(stack).get("Invoice", 0) == 0


def test_sweep_requeues_pending_work(stack: SimpleNamespace) -> None:
    seed_invoice(stack, payments=())
    receive_sqs_event(stack.queue)  # the auto-sync message is lost (never processed)
    result = stack.fns.scheduler.handler({"task": "sweep"}, Context())
    assert result["queued"] == 2, "the invoice's job, and its customer's (lost in seed_invoice)"
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    assert ledger_counts(stack)["Invoice"] == 1
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] == 0


def test_one_notification_per_failure_type_and_reconnect_resolves_it(stack: SimpleNamespace) -> None:
    from booksync.store.notifications import NotificationRepository

    seed_invoice(stack, payments=())
    stack.services.documents.put_invoice(COMPANY, builders.invoice("inv-2"))
    stack.control.revoke_grant(stack.realm)
    stack.control.expire_tokens(stack.realm)
    event = receive_sqs_event(stack.queue)
    assert len(event["Records"]) == 2
    assert stack.fns.sync_invoice.handler(event, Context()) == {"batchItemFailures": []}
    notes = NotificationRepository().for_company(COMPANY)
    # Two failed jobs, one notification that counts them.
    assert [(n.kind, int(n.occurrences)) for n in notes] == [("quickbooks:needs_reconnection", 2)]
    assert "Reconnect" in (notes[0].fix or "")
    # Reconnecting resolves it, and the parked work is queued at once (not at the next sweep).
    connect_company(stack.services, stack.control, COMPANY, realm=stack.realm)
    assert NotificationRepository().for_company(COMPANY)[0].resolved_at is not None
    resumed = receive_sqs_event(stack.queue)
    # The customer's own job too (taken off the queue unprocessed in seed_invoice: still pending).
    assert sorted(json.loads(r["body"])["invoice_id"] for r in resumed["Records"]) == [
        "c-1",
        "inv-1",
        "inv-2",
    ]
    stack.fns.sync_invoice.handler(resumed, Context())
    assert ledger_counts(stack)["Invoice"] == 2
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] == 0


# Intuit's refresh tokens end after 5 years whatever is done: here the end is 5 days away.
@pytest.mark.parametrize("sandbox", [{"refresh_token_lifetime_s": 5 * 86_400}], indirect=True)
def test_keepalive_refreshes_due_tokens_once_and_warns_before_expiry(stack: SimpleNamespace) -> None:
    from booksync.store.models import ConnectionModel
    from booksync.store.notifications import NotificationRepository

    assert stack.fns.scheduler.handler({"task": "keepalive"}, Context())["refreshed"] == 0, "nothing due yet"
    row = ConnectionModel.get(COMPANY, "quickbooks")
    row.update(actions=[ConnectionModel.refresh_due_at.set(1)])  # a day has passed
    before = stack.control.token_calls(stack.realm).get("refresh_token", 0)
    result = stack.fns.scheduler.handler({"task": "keepalive"}, Context())
    assert result["refreshed"] == 1
    assert result["warned"] == 1
    assert stack.control.token_calls(stack.realm).get("refresh_token", 0) - before == 1
    assert stack.fns.scheduler.handler({"task": "keepalive"}, Context())["refreshed"] == 0, (
        "next due in a day"
    )
    kinds = [n.kind for n in NotificationRepository().for_company(COMPANY)]
    assert kinds == ["quickbooks:refresh_expiring"]
    # Tokens still work for a sync after the keep-alive rotated them.
    seed_invoice(stack, payments=())
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    assert ledger_counts(stack)["Invoice"] == 1


def test_unknown_scheduler_task_is_a_clear_error(stack: SimpleNamespace) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="sweep"):
        stack.fns.scheduler.handler({"task": "vacuum"}, Context())


def test_a_deleted_invoice_is_deleted_in_quickbooks_once(stack: SimpleNamespace) -> None:
    seed_invoice(stack, payments=())
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    assert ledger_counts(stack)["Invoice"] == 1
    accepted = stack.services.documents.delete_invoice(COMPANY, "inv-1")
    assert accepted.pending
    stack.control.add_fault("commit_then_reset", entity="Invoice", operation="delete", times=1)
    record = one_event(stack)["Records"][0]
    assert stack.fns.sync_invoice.handler({"Records": [record]}, Context())["batchItemFailures"]
    assert stack.fns.sync_invoice.handler({"Records": [record]}, Context()) == {"batchItemFailures": []}
    assert ledger_counts(stack)["Invoice"] == 0
    state = stack.services.integrations.document_state(COMPANY, DocumentKind.INVOICE, "inv-1", "quickbooks")
    assert state["badge"] == "Deleted"
    assert state["pending"] is False
    with pytest.raises(Exception, match="deleted"):
        stack.services.documents.put_invoice(COMPANY, builders.invoice())


def test_an_invoice_with_payments_cannot_be_deleted(stack: SimpleNamespace) -> None:
    from booksync.errors import InvalidRequest

    seed_invoice(stack, payments=("10.00",))
    with pytest.raises(InvalidRequest, match="payments"):
        stack.services.documents.delete_invoice(COMPANY, "inv-1")


def test_disconnect_revokes_and_forgets_tokens_and_reconnect_resumes_parked_work(
    stack: SimpleNamespace,
) -> None:
    import boto3
    from booksync.store.models import ConnectionModel

    seed_invoice(stack, payments=())
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    result = stack.services.integrations.disconnect(company_id=COMPANY, provider="quickbooks")
    assert result["revoked"] is True
    assert result["status_label"] == "Not Connected"
    raw = boto3.client("dynamodb").scan(TableName=ConnectionModel.Meta.table_name)["Items"][0]
    assert "token_ciphertext" not in raw
    assert "settings" in raw, "settings survive for a reconnect"
    # The grant was revoked at Intuit too.
    revokes = [r for r in stack.control.requests() if r["path"].endswith("/tokens/revoke")]
    assert [r["status"] for r in revokes] == [200]
    # Work recorded while disconnected waits; nothing is deleted in the books.
    stack.services.documents.put_invoice(COMPANY, builders.invoice("inv-2"))
    assert receive_sqs_event(stack.queue)["Records"] == []
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["parked"] == 1
    assert ledger_counts(stack)["Invoice"] == 1
    connect_company(stack.services, stack.control, COMPANY, realm=stack.realm, user_id="u2")
    stack.fns.sync_invoice.handler(one_event(stack), Context())  # queued by the reconnect itself
    assert ledger_counts(stack) == {"Customer": 1, "Item": 2, "Invoice": 2, "Payment": 0}


def test_a_failed_sync_logs_its_document_company_provider_and_reason(stack: SimpleNamespace) -> None:
    """The function's log line says which invoice of which company failed where, and why."""
    seed_invoice(stack, payments=())
    stack.control.revoke_grant(stack.realm)
    stack.control.expire_tokens(stack.realm)
    # booksync's records go to the function's Powertools handler (its stream is the log stream).
    powertools = stack.fns.sync_invoice.logger.registered_handler
    assert powertools in logging.getLogger("booksync").handlers
    assert isinstance(powertools, logging.StreamHandler)
    stream = io.StringIO()
    previous = powertools.setStream(stream)
    try:
        stack.fns.sync_invoice.handler(one_event(stack), Context())
    finally:
        powertools.setStream(previous)
    out = stream.getvalue()
    failed = [line for line in map(json.loads, out.splitlines()) if line["message"] == "sync failed"]
    assert len(failed) == 1, out
    line = failed[0]
    assert line["level"] == "WARNING"
    assert (line["company_id"], line["provider"], line["invoice_id"]) == (COMPANY, "quickbooks", "inv-1")
    assert line["document"] == "invoice inv-1"
    assert line["error_kind"] == "needs_reconnection"
    assert "invalid_grant" in line["reason"] and line["fix"].startswith("Reconnect")
    assert line["function_request_id"], "the Lambda context is on the line"
    # Never a secret: not the app's client secret, not a bearer token.
    assert CLIENT_SECRET not in out and "Bearer" not in out


# -- a customer on its own: auto_sync_customers (issue 12 item 6) -------------------------------------
def customer_row(stack: SimpleNamespace) -> DocumentModel:
    row = DocumentRepository().get(COMPANY, DocumentKind.CUSTOMER, "c-1")
    assert row is not None
    return row


def sweep(stack: SimpleNamespace) -> int:
    return int(stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"])


def test_a_customer_put_queues_one_job_and_the_customer_lands_once(stack: SimpleNamespace) -> None:
    accepted = stack.services.documents.put_customer(COMPANY, builders.customer())
    assert accepted.pending and accepted.queued_run_id
    records = receive_sqs_event(stack.queue)["Records"]
    assert [json.loads(r["body"])["kind"] for r in records] == ["customer"], "one job, the customer's"
    assert stack.fns.sync_invoice.handler({"Records": records}, Context()) == {"batchItemFailures": []}
    assert ledger_counts(stack) == {"Customer": 1, "Item": 0, "Invoice": 0, "Payment": 0}
    remote = stack.control.ledger(stack.realm)["entities"]["Customer"][0]
    row = customer_row(stack)
    link = row.link("quickbooks")
    assert link is not None and (link.remote_id, link.outcome) == (str(remote["Id"]), "synced")
    assert not row.pending_bucket
    # Unchanged: the same PUT queues nothing, and a duplicate job costs no QuickBooks request.
    assert stack.services.documents.put_customer(COMPANY, builders.customer()).queued_run_id is None
    stack.control.clear_requests()
    assert stack.fns.sync_invoice.handler({"Records": [another_job(records[0])]}, Context()) == {
        "batchItemFailures": []
    }
    assert stack.control.requests(stack.realm) == []
    # Changed after its sync: queued again, updated in place.
    assert stack.services.documents.put_customer(COMPANY, builders.customer(phone="555-0100")).queued_run_id
    stack.fns.sync_invoice.handler(one_event(stack), Context())
    customers = stack.control.ledger(stack.realm)["entities"]["Customer"]
    assert [c["PrimaryPhone"]["FreeFormNumber"] for c in customers] == ["555-0100"]


def test_with_auto_sync_customers_off_a_customer_put_queues_nothing(stack: SimpleNamespace) -> None:
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None
    connection.update(actions=[ConnectionModel.settings.auto_sync_customers.set(False)])
    accepted = stack.services.documents.put_customer(COMPANY, builders.customer())
    assert (accepted.pending, accepted.queued_run_id) == (False, None)
    assert receive_sqs_event(stack.queue)["Records"] == []
    assert sweep(stack) == 0
    assert ledger_counts(stack)["Customer"] == 0


def unreachable(self: SqsJobQueue, jobs: object) -> None:
    """SqsJobQueue.enqueue when SQS cannot be reached (the PUT still stores; the sweep sends)."""
    raise RuntimeError("SQS is unreachable")


def test_a_customer_whose_job_could_not_be_sent_is_delivered_by_the_sweep(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(SqsJobQueue, "enqueue", unreachable)
        accepted = stack.services.documents.put_customer(COMPANY, builders.customer())
    assert accepted.pending and accepted.queued_run_id is None
    assert receive_sqs_event(stack.queue)["Records"] == []
    assert sweep(stack) == 1
    assert stack.fns.sync_invoice.handler(one_event(stack), Context()) == {"batchItemFailures": []}
    assert ledger_counts(stack)["Customer"] == 1
    assert sweep(stack) == 0, "nothing left pending"


def test_an_invoice_whose_job_could_not_be_sent_is_delivered_by_the_sweep(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = stack.services.documents
    docs.put_customer(COMPANY, builders.customer())
    assert stack.fns.sync_invoice.handler(one_event(stack), Context()) == {"batchItemFailures": []}
    docs.put_item(COMPANY, builders.item("i-1"))
    docs.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    with monkeypatch.context() as patched:
        patched.setattr(SqsJobQueue, "enqueue", unreachable)
        accepted = docs.put_invoice(COMPANY, builders.invoice())
    assert accepted.pending and accepted.queued_run_id is None
    assert receive_sqs_event(stack.queue)["Records"] == []
    assert sweep(stack) == 1
    assert stack.fns.sync_invoice.handler(one_event(stack), Context()) == {"batchItemFailures": []}
    assert ledger_counts(stack) == {"Customer": 1, "Item": 2, "Invoice": 1, "Payment": 0}
    assert sweep(stack) == 0, "nothing left pending"


def test_a_payment_of_exactly_the_open_balance_leaves_the_quickbooks_invoice_at_zero(
    stack: SimpleNamespace,
) -> None:
    seed_invoice(stack, payments=("300.00",))  # total 380.00
    assert stack.fns.sync_invoice.handler(one_event(stack), Context()) == {"batchItemFailures": []}
    invoice = stack.control.ledger(stack.realm)["entities"]["Invoice"][0]
    assert Decimal(str(invoice["Balance"])) == Decimal("80.00")
    accepted = stack.services.documents.put_payment(COMPANY, builders.payment("p-2", "80.00"))
    assert accepted.pending and accepted.queued_run_id
    assert stack.fns.sync_invoice.handler(one_event(stack), Context()) == {"batchItemFailures": []}
    ledger = stack.control.ledger(stack.realm)["entities"]
    assert sorted(Decimal(str(p["TotalAmt"])) for p in ledger["Payment"]) == [
        Decimal("80.00"),
        Decimal("300.00"),
    ]
    assert [Decimal(str(i["Balance"])) for i in ledger["Invoice"]] == [Decimal("0")]


@pytest.mark.parametrize("sandbox", [{"honor_request_id": False}], indirect=True)
def test_duplicate_customer_jobs_beside_its_invoice_job_give_one_remote_customer(
    stack: SimpleNamespace,
) -> None:
    stack.services.documents.put_customer(COMPANY, builders.customer())
    customer_job = one_event(stack)["Records"][0]
    stack.services.documents.put_item(COMPANY, builders.item("i-1"))
    stack.services.documents.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    stack.services.documents.put_invoice(COMPANY, builders.invoice())
    invoice_job = one_event(stack)["Records"][0]
    jobs = [customer_job, *(another_job(customer_job) for _ in range(3)), invoice_job]
    results: dict[str, dict] = {}

    def deliver(job: dict) -> None:
        results[job["messageId"]] = stack.fns.sync_invoice.handler({"Records": [job]}, Context())

    run_threads(*(functools.partial(deliver, job) for job in jobs))
    for job in jobs:
        if results[job["messageId"]]["batchItemFailures"]:  # found the write in progress: comes back
            assert stack.fns.sync_invoice.handler({"Records": [job]}, Context()) == {"batchItemFailures": []}
    assert stack.fns.sync_invoice.handler({"Records": [customer_job]}, Context()) == {"batchItemFailures": []}
    assert ledger_counts(stack) == {"Customer": 1, "Item": 2, "Invoice": 1, "Payment": 0}
    remote = stack.control.ledger(stack.realm)["entities"]["Customer"][0]
    link = customer_row(stack).link("quickbooks")
    assert link is not None and (link.remote_id, link.outcome) == (str(remote["Id"]), "synced")
