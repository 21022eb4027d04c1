"""The template's permissions at work: paths through the local runtime that need a permission
no other end-to-end test exercises, each checked by the runtime against the function's role as
template.yaml declares it (an AWS call the role does not allow fails as it would in AWS).

- a 429 from QuickBooks delays the sync job's message by its Retry-After
  (SyncInvoiceFunction: sqs:ChangeMessageVisibility on its queue);
- a signed QuickBooks webhook: the receiver reads its SecureString verifier token (ssm:GetParameter;
  SSM decrypts it with alias/aws/ssm, whose key policy allows it) and queues the delivery; the consumer claims and handles the event;
- the scheduler's keep-alive refreshes a due grant (the refresh-index, the lease, TokenKey under its
  key policy and TokenKeyUsePolicy).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from local import app_return
from local.sandboxes.quickbooks.control import SandboxControl
from local.stack import LocalStack
from tests.e2e.conftest import quickbooks_ledger

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]

COMPANY = "iam-http"
REALM = "9341453050079002"
VERIFIER = "booksync-local-webhook-verifier"  # local/stack.yaml's webhook verifier token


def ledger(stack: LocalStack, entity: str) -> list[dict[str, Any]]:
    return quickbooks_ledger(stack, REALM, entity)


def _connected(stack: LocalStack, api: httpx.Client) -> None:
    """A customer and an item of this module's own, and the company connected (whatever ran before)."""
    assert api.put(
        "/customers/c-rl", json={"display_name": "Grace Hopper", "email": "gh@example.com"}
    ).is_success
    assert api.put("/items/i-rl", json={"name": "Leaf guard", "unit_price": "9.00"}).is_success
    if api.get("/integrations/quickbooks").json().get("status") != "connected":
        started = api.post("/integrations/quickbooks/connect")
        assert started.status_code == 200, started.text
        with SandboxControl(stack.sandboxes["quickbooks"].url) as control:
            location = control.approve_consent(started.json()["authorization_url"], realm=REALM)
        callback = httpx.get(location, timeout=30)
        assert callback.status_code in (200, 302), callback.text
        assert app_return.confirm(api, "quickbooks", callback).status_code == 200
    stack.drain(timeout=60)


def _sent_invoice(api: httpx.Client, number: str) -> None:
    body = {
        "customer_id": "c-rl",
        "number": number,
        "status": "SENT",
        "issue_date": "2026-11-20",
        "lines": [{"item_id": "i-rl", "quantity": "1", "unit_price": "9.00"}],
    }
    assert api.put(f"/invoices/{number.lower()}", json=body).is_success


def test_a_rate_limited_invoice_waits_its_retry_after_in_the_queue(
    stack: LocalStack, api: httpx.Client
) -> None:
    """A 429 delays the job's message by its Retry-After (sqs:ChangeMessageVisibility, which the
    local runtime checks against SyncInvoiceFunction's role as AWS would), then the invoice syncs."""
    _connected(stack, api)
    # A Retry-After beyond the HTTP client's 10 s inline budget: the job goes back to the queue at once.
    retry_after = 12
    with SandboxControl(stack.sandboxes["quickbooks"].url) as control:
        control.add_fault("http_429", entity="Invoice", operation="create", times=1, retry_after=retry_after)
    before = len(stack.invocations("SyncInvoiceFunction"))
    _sent_invoice(api, "RL-1")
    # Refused the visibility change, the message would come back only after the queue's 360 s.
    stack.drain(timeout=90)
    runs = stack.invocations("SyncInvoiceFunction")[before:]
    refused = next(i for i, run in enumerate(runs) if run.ok and run.payload["batchItemFailures"])
    retried = runs[refused + 1]
    refused_at = runs[refused].started_at + timedelta(milliseconds=runs[refused].duration_ms)
    # Not sooner than Retry-After (a lower bound: a busy machine only makes the gap longer).
    assert (retried.started_at - refused_at).total_seconds() >= retry_after
    assert "RL-1" in [i["DocNumber"] for i in ledger(stack, "Invoice")]
    assert api.get("/invoices/rl-1/sync-status").json()["badge"] == "Synced"


def test_a_quickbooks_webhook_goes_through_both_functions(stack: LocalStack, api: httpx.Client) -> None:
    """Intuit's signed notification of an edit in QuickBooks: the receiver verifies it with the
    verifier token (SSM SecureString, decrypted as its role) and queues it; the consumer dedupes
    it and looks the invoice up, each within the role template.yaml gives it."""
    _connected(stack, api)
    _sent_invoice(api, "WH-1")
    stack.drain(timeout=60)
    remote = next(i for i in ledger(stack, "Invoice") if i["DocNumber"] == "WH-1")
    change = {"realm": REALM, "entity": "Invoice", "id": str(remote["Id"]), "operation": "Update"}
    with SandboxControl(stack.sandboxes["quickbooks"].url) as control:
        answer = control.send_webhook(f"{stack.api_url}/webhooks/quickbooks", VERIFIER, [change])
    assert answer["status"] == 200, answer
    stack.drain(timeout=60)
    for function in ("QuickBooksWebhookFunction", "QuickBooksEventsFunction"):
        runs = stack.invocations(function)
        assert runs and all(run.error is None for run in runs), (function, [run.error for run in runs])
    events = stack.boto3_client("dynamodb").scan(TableName=stack.physical_name("WebhookEventsTable"))
    assert events["Items"], "the consumer recorded the event"


def test_the_keep_alive_refreshes_a_due_grant_within_the_schedulers_role(
    stack: LocalStack, api: httpx.Client
) -> None:
    """The six-hourly keep-alive (SchedulerFunction) finds a connection whose refresh is due on the
    refresh-index, refreshes its token under the lease (the client secret from SSM, the token
    decrypted and re-encrypted with TokenKey) and writes it back: every call within its role."""
    _connected(stack, api)
    table = stack.physical_name("ConnectionsTable")
    dynamodb = stack.boto3_client("dynamodb")
    key = {"company_id": {"S": COMPANY}, "provider": {"S": "quickbooks"}}
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET refresh_due_at = :due",
        ExpressionAttributeValues={":due": {"N": "1"}},
    )
    result = stack.fire_schedule("SchedulerFunction", "KeepAlive")
    assert result.error is None, result.error
    assert result.payload["refreshed"] == 1, result.payload
    row = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert float(row["refresh_due_at"]["N"]) > 1
