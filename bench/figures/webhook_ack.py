"""Square webhook acknowledgement: 1,000 signed events, the handler invoked as API Gateway
invokes it (payload 2.0 events, as tests/apigw.py builds them) against moto server.

``webhook_ack.p50_ms`` / ``p99_ms``: the handler's time to answer a warm invocation (signature
check, one SQS SendMessage to moto server on loopback, the answer). ``webhook_ack.aws_calls``:
the most AWS requests any warm invocation made before answering, counted with a botocore
``before-send`` hook (goal 1: the enqueue; dedupe and everything else happen in the consumer).
The first (cold) invocation, which reads the signature key from SSM, is not measured.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

from bench.figure import BenchError, Figure, Goal

EVENTS = 1000
KEY = "bench-square-signature-key"
URL = "https://api.example.com/webhooks/square"


def _event(index: int) -> bytes:
    payment = {
        "id": f"pay-{index:06d}",
        "status": "COMPLETED",
        "amount_money": {"amount": 10000 + index, "currency": "USD"},
        "reference_id": f"inv-{index % 50}",
        "location_id": "L1",
        "created_at": "2026-11-22T23:41:08.212Z",
    }
    envelope = {
        "merchant_id": "MBENCH",
        "type": "payment.updated",
        "event_id": str(uuid.uuid4()),
        "created_at": "2026-11-22T23:41:09.552Z",
        "data": {"type": "payment", "id": payment["id"], "object": {"payment": payment}},
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure() -> list[Figure]:
    import boto3
    from booksync.webhooks.signature import sign_square

    from bench.figures.catalog_sync import _aws
    from tests.apigw import http_event
    from tests.aws_calls import counting
    from tests.lambda_env import Context

    with _aws():
        queue = boto3.client("sqs").create_queue(QueueName=f"square-events-{uuid.uuid4().hex[:8]}")[
            "QueueUrl"
        ]
        name = f"/booksync/bench/{uuid.uuid4().hex[:8]}/square-webhook-signature-key"
        boto3.client("ssm").put_parameter(Name=name, Value=KEY, Type="SecureString")
        os.environ.update(
            STAGE="prod",
            SQUARE_EVENTS_QUEUE_URL=queue,
            SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM=name,
            SQUARE_WEBHOOK_NOTIFICATION_URL=URL,
            POWERTOOLS_SERVICE_NAME="bench",
            POWERTOOLS_LOG_LEVEL="WARNING",
        )
        bodies = [_event(i) for i in range(EVENTS + 1)]
        requests = [
            http_event(
                "POST",
                "/webhooks/square",
                body.decode(),
                route_key="POST /webhooks/square",
                headers={"x-square-hmacsha256-signature": sign_square(body, KEY, URL)},
            )
            for body in bodies
        ]
        with counting() as aws:
            sys.modules.pop("functions.webhooks.square", None)
            handler: Any = importlib.import_module("functions.webhooks.square").handler
            cold = handler(requests[0], Context(5))  # reads the key from SSM: not measured
            if cold["statusCode"] != 200:
                raise BenchError(f"the cold invocation answered {cold['statusCode']}: {cold['body']}")
            aws.reset()
            times: list[float] = []
            calls: list[int] = []
            for request in requests[1:]:
                started = time.perf_counter()
                answer = handler(request, Context(5))
                times.append((time.perf_counter() - started) * 1000)
                calls.append(aws.reset())
                if answer["statusCode"] != 200:
                    raise BenchError(f"a signed event answered {answer['statusCode']}: {answer['body']}")
    note = f"{EVENTS} signed events, warm, moto server on loopback; mean {statistics.fmean(times):.2f} ms"
    return [
        Figure("webhook_ack.p50_ms", round(_percentile(times, 0.50), 2), "ms", note=note),
        Figure("webhook_ack.p99_ms", round(_percentile(times, 0.99), 2), "ms", goal=Goal("<", 10_000)),
        Figure(
            "webhook_ack.aws_calls",
            max(calls),
            "requests",
            goal=Goal("<=", 1),
            note=f"most AWS requests before one answer; total {sum(calls)} over {EVENTS}",
        ),
    ]
