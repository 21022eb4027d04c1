"""SQS event sources on the fixture stack: the event, partial batch failures, redrive, draining.

Both queues have a 2 s visibility timeout (their functions' Timeout) and redrive to their dead-letter
queue after 2 receives, so a failed message is back within 2-3 s and parked after its second failure. JobsQueue's
function reports batch item failures with batches of up to 5; StrictQueue's takes one message per
batch, so a whole-batch failure there involves no other message.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from local.runtime.functions import InvocationResult
from local.runtime.pollers import failed_message_ids
from local.stack import DrainTimeout, LocalStack

pytestmark = pytest.mark.xdist_group("stack")


def _send(stack: LocalStack, queue: str, fail: str, **attributes: str) -> str:
    job_id = f"{fail}-{uuid.uuid4().hex[:8]}"
    stack.boto3_client("sqs").send_message(
        QueueUrl=stack.queue_url(queue),
        MessageBody=json.dumps({"id": job_id, "fail": fail}),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )
    return job_id


def _attempts(stack: LocalStack, job_id: str) -> list[dict[str, Any]]:
    """The records the worker saw for a job, in receive order."""
    items = stack.boto3_client("dynamodb").query(
        TableName=stack.physical_name("AttemptsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": job_id}},
    )["Items"]
    return [json.loads(item["record"]["S"]) for item in sorted(items, key=lambda item: item["sk"]["S"])]


def _handled_at(stack: LocalStack, job_id: str) -> list[float]:
    items = stack.boto3_client("dynamodb").query(
        TableName=stack.physical_name("AttemptsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": job_id}},
    )["Items"]
    return [float(item["handled_at"]["S"]) for item in sorted(items, key=lambda item: item["sk"]["S"])]


def _receive_counts(stack: LocalStack, job_id: str) -> list[str]:
    return [record["attributes"]["ApproximateReceiveCount"] for record in _attempts(stack, job_id)]


def _take_dead_letters(stack: LocalStack, queue: str) -> set[str]:
    sqs = stack.boto3_client("sqs")
    url = stack.queue_url(queue)
    jobs: set[str] = set()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            jobs.add(json.loads(message["Body"])["id"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return jobs


def test_record_shape(stack: LocalStack) -> None:
    job = _send(stack, "JobsQueue", "never", origin="test")
    stack.drain(timeout=20)
    (record,) = _attempts(stack, job)
    SqsRecordModel.model_validate(record)
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.get_att("JobsQueue", "Arn")
    assert record["awsRegion"] == "us-east-1"
    assert json.loads(record["body"])["id"] == job
    assert set(record["attributes"]) >= {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert len(record["md5OfBody"]) == 32


def test_failures_come_back_then_go_to_the_dead_letter_queue(stack: LocalStack) -> None:
    ok = [_send(stack, "JobsQueue", "never") for _ in range(3)]
    once = _send(stack, "JobsQueue", "once")
    always = _send(stack, "JobsQueue", "always")
    delayed = _send(stack, "JobsQueue", "delay")
    invalid = _send(stack, "StrictQueue", "invalid")
    raising = _send(stack, "StrictQueue", "raise")

    # While failed messages wait out their visibility timeout, the stack is not drained.
    with pytest.raises(DrainTimeout) as timed_out:
        stack.drain(timeout=0.2)
    assert timed_out.value.pending
    refused = httpx.post(f"{stack.control_url}/queues/drain", params={"timeout": "0.2"}, timeout=10)
    assert (refused.status_code, refused.json()["drained"]) == (408, False)
    drained = httpx.post(f"{stack.control_url}/queues/drain", params={"timeout": "30"}, timeout=40)
    assert (drained.status_code, drained.json()) == (200, {"drained": True})

    for job in ok:
        # Handled on the first receive. On a loaded machine a batch can outlast the 2 s visibility
        # timeout and come back once more: SQS is at-least-once, so that is not a failure.
        assert _receive_counts(stack, job)[0] == "1"
    # Listed in batchItemFailures once: back with a higher receive count, then deleted.
    assert _receive_counts(stack, once) == ["1", "2"]
    # Hidden for 4 s by the handler itself (the queue's visibility timeout is 2 s).
    assert _receive_counts(stack, delayed) == ["1", "2"]
    first, second = _handled_at(stack, delayed)
    assert second - first > 3.5
    # Listed at every receive: parked after maxReceiveCount (2) receives.
    assert _receive_counts(stack, always) == ["1", "2"]
    # A bogus itemIdentifier fails the whole batch (else this message would be gone after one try);
    # so does an exception.
    assert _receive_counts(stack, invalid) == ["1", "2"]
    assert _receive_counts(stack, raising) == ["1", "2"]

    status = httpx.get(f"{stack.control_url}/queues", timeout=10).json()
    assert {k: status["JobsQueue"][k] for k in ("visible", "inFlight", "delayed")} == {
        "visible": 0,
        "inFlight": 0,
        "delayed": 0,
    }
    assert status["JobsQueue"]["deadLetterQueue"]["visible"] == 1
    assert status["StrictQueue"]["deadLetterQueue"]["visible"] == 2
    assert status["JobsQueue"]["eventSource"]["failed"] >= 3  # once, always, always
    assert _take_dead_letters(stack, "JobsDeadLetterQueue") == {always}
    assert _take_dead_letters(stack, "StrictDeadLetterQueue") == {invalid, raising}
    errors = [i.error for i in stack.invocations("StrictWorkerFunction") if i.error is not None]
    assert [e["errorType"] for e in errors] == ["RuntimeError", "RuntimeError"]


def test_batches_hold_up_to_batch_size(stack: LocalStack) -> None:
    sqs = stack.boto3_client("sqs")
    jobs = [f"batch-{uuid.uuid4().hex[:8]}" for _ in range(10)]
    sqs.send_message_batch(
        QueueUrl=stack.queue_url("JobsQueue"),
        Entries=[{"Id": str(i), "MessageBody": json.dumps({"id": job})} for i, job in enumerate(jobs)],
    )
    stack.drain(timeout=20)
    # Every job is handled; under load a 2 s visibility timeout can lapse mid-batch, and SQS is
    # at least once, so a redelivery is not a failure here (this test is about batch sizes).
    assert all(_attempts(stack, job) for job in jobs)
    batch_sizes = [
        int(item["batch_size"]["N"])
        for item in stack.boto3_client("dynamodb").scan(TableName=stack.physical_name("AttemptsTable"))[
            "Items"
        ]
        if item["pk"]["S"] in jobs
    ]
    assert max(batch_sizes) <= 5  # BatchSize


def _result(ok: bool, payload: Any = None) -> InvocationResult:
    from datetime import UTC, datetime

    error = None if ok else {"errorType": "Boom", "errorMessage": "boom"}
    return InvocationResult(
        "r", "F", "t", "success" if ok else "error", payload, error, False, datetime.now(UTC), 1, None
    )


@pytest.mark.parametrize(
    ("ok", "payload", "report", "failed"),
    [
        (True, None, True, set()),
        (True, {}, True, set()),
        (True, {"batchItemFailures": None}, True, set()),
        (True, {"batchItemFailures": []}, True, set()),
        (True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"b"}),
        (True, {"batchItemFailures": [{"itemIdentifier": "zz"}]}, True, {"a", "b"}),
        (True, {"batchItemFailures": [{"itemIdentifier": ""}]}, True, {"a", "b"}),
        (True, {"batchItemFailures": [{"itemIdentifier": None}]}, True, {"a", "b"}),
        (True, {"batchItemFailures": [{"wrongKey": "a"}]}, True, {"a", "b"}),
        (True, "not an object", True, {"a", "b"}),
        (True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, False, set()),  # ignored without the setting
        (False, None, True, {"a", "b"}),
        (False, None, False, {"a", "b"}),
    ],
)
def test_batch_response_rules(ok: bool, payload: Any, report: bool, failed: set[str]) -> None:
    assert failed_message_ids(_result(ok, payload), ["a", "b"], report) == failed
