"""PayoutDepositFunction's real handler, invoked with SQS batches as Lambda invokes it, against
moto server: a malformed message is reported as a partial failure (it returns, then waits in the
DLQ) without stopping the others, and payout.failed is recorded and notified with no deposit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.store.notifications import NotificationRepository
from booksync.store.payouts import PayoutRepository
from booksync.store.runs import RunRepository

from tests.fakes.square_payouts import payout_object
from tests.lambda_env import Context, environment, handlers, idempotency_table

COMPANY = "acme"
ARN = "arn:aws:sqs:us-east-1:123456789012:booksync-test-PayoutDepositQueue"


@pytest.fixture
def fns(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    env = environment(
        tables,
        queue_url=sqs_queue,
        key_id=kms_key,
        qbo_url="http://127.0.0.1:9",  # never called: nothing here reaches QuickBooks
        client_id="ABtestclient0001",
        client_secret="s3cr3t-for-tests",
        idempotency_table=idempotency_table(),
    )
    with handlers(env) as loaded:
        yield loaded


def record(n: int, body: str) -> dict[str, Any]:
    return {
        "messageId": f"m-{n}",
        "receiptHandle": f"rh-{n}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN,
        "awsRegion": "us-east-1",
    }


def payout_message(event_type: str, payout: dict[str, Any]) -> str:
    return json.dumps(
        {
            "company_id": COMPANY,
            "merchant_id": "M1",
            "payout_id": payout["id"],
            "event_type": event_type,
            "event_id": f"ev-{payout['id']}",
            "payout": payout,
        }
    )


def test_a_bad_message_fails_alone_and_payout_failed_is_recorded_and_notified(fns: SimpleNamespace) -> None:
    event = {
        "Records": [
            record(1, '{"company_id": "acme", "payout_id": "po_x"}'),
            record(2, payout_message("payout.failed", payout_object("po_9", 12500, status="FAILED"))),
        ]
    }
    answer = fns.payout_deposit.handler(event, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    row = PayoutRepository().get(COMPANY, "po_9")
    assert row is not None and row.status == "failed" and row.deposit_id is None
    assert row.amount == "125.00" and row.end_to_end_id == "L2100000005"
    [run] = RunRepository().recent(COMPANY)
    assert (run.kind, run.subject, run.status) == ("deposit", "po_9", "failed")
    kinds = [n.kind for n in NotificationRepository().for_company(COMPANY)]
    assert kinds == ["square:payout:po_9:failed"], "no books connected: kept under the payout's source"
    assert PayoutRepository().get(COMPANY, "po_x") is None, "the refused message recorded nothing"
