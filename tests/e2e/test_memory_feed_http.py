"""The billing memory's feed on the local stack, template.yaml as deployed with
RagBillingEmbedEnabled=true: HTTP PUTs -> EmbedBillingQueue -> EmbedBillingFunction (its role
enforced) -> MemoryTable. Nothing runs in the API's request but the queue write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.stack import LocalStack, StackOptions
from tests.e2e.conftest import ROOT

COMPANY = "memory-feed-e2e"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(
        template=str(ROOT / "template.yaml"), ports="auto", parameters={"RagBillingEmbedEnabled": "true"}
    )
    with LocalStack(options) as running:
        yield running


def records(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """The company's memory rows (records and vectors), by sort key."""
    table = stack.physical_name("MemoryTable")
    answer = stack.boto3_client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="company_id = :c",
        ExpressionAttributeValues={":c": {"S": COMPANY}},
    )
    return {item["record_key"]["S"]: item for item in answer["Items"]}


def put(api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = api.put(path, json=body)
    assert answer.status_code in (200, 201), answer.text


def test_a_sent_invoice_an_estimate_and_a_payment_are_embedded_by_the_function(
    stack: LocalStack, api: httpx.Client
) -> None:
    put(api, "/customers/c-1", {"display_name": "Maple Street Dental"})
    put(api, "/items/wh", {"name": "Water heater install", "unit_price": "1450.00", "unit_cost": "900.00"})
    invoice = {
        "customer_id": "c-1",
        "number": "INV-2043",
        "status": "DRAFT",
        "issue_date": "2026-03-04",
        "lines": [{"item_id": "wh", "unit_price": "1450.00"}],
    }
    put(api, "/invoices/inv-1", invoice)
    stack.drain()
    assert records(stack) == {}, "a draft is not embedded"
    put(api, "/invoices/inv-1", {**invoice, "status": "SENT"})
    estimate = {**invoice, "number": "E-7", "status": "SENT"}
    estimate["lines"] = [{"item_id": "wh", "unit_price": "1500.00", "unit_cost": "950.00"}]
    put(api, "/estimates/est-1", estimate)
    put(api, "/payments/p-1", {"invoice_id": "inv-1", "amount": "1450.00", "date": "2026-03-20"})
    stack.drain()
    rows = records(stack)
    assert {"invoice#inv-1", "estimate#est-1", "payment#p-1"} <= set(rows)
    assert {"vec#invoice#inv-1", "vec#estimate#est-1", "vec#payment#p-1"} <= set(rows)
    ran = stack.invocations("EmbedBillingFunction")
    assert ran and all(r.ok and r.payload == {"batchItemFailures": []} for r in ran), [r.error for r in ran]


def test_the_scheduler_sweep_finds_no_lost_embed_message_once_all_are_embedded(stack: LocalStack) -> None:
    """Run after the documents above were embedded: their marks are gone, the sweep (its role
    enforced: Query on embed-index, a send on EmbedBillingQueue) queues nothing again."""
    result = stack.fire_schedule("SchedulerFunction", "Sweep")
    assert result.ok, result.error
    assert result.payload["embeds_requeued"] == 0
