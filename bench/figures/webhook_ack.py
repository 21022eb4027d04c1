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


def acknowledged(
    module: str, env: dict[str, str], requests: list[dict[str, Any]]
) -> tuple[list[float], list[int]]:
    """The webhook function ``module`` invoked as API Gateway invokes it, under ``env``, for each
    of ``requests`` (inside ``_aws()``): the first (cold, reads its key from SSM) not measured,
    then each warm one's time to answer (ms) and the AWS requests it made before answering.
    Every answer must be a 200."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    from tests.aws_calls import counting
    from tests.lambda_env import Context

    saved = dict(os.environ)
    os.environ.update(env, POWERTOOLS_SERVICE_NAME="bench", POWERTOOLS_LOG_LEVEL="WARNING")
    # Powertools keeps one SSM client a process: the one of an earlier figure's moto is gone.
    DEFAULT_PROVIDERS.clear()
    try:
        with counting() as aws:
            sys.modules.pop(module, None)
            handler: Any = importlib.import_module(module).handler
            cold = handler(requests[0], Context(5))
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
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return times, calls


def figures(prefix: str, times: list[float], calls: list[int], what: str) -> list[Figure]:
    """``<prefix>.p50_ms``, ``.p99_ms`` and ``.aws_calls`` (goal <= 1) of ``acknowledged``."""
    note = f"{len(times)} {what}, warm, moto server on loopback; mean {statistics.fmean(times):.2f} ms"
    return [
        Figure(f"{prefix}.p50_ms", round(_percentile(times, 0.50), 2), "ms", note=note),
        Figure(f"{prefix}.p99_ms", round(_percentile(times, 0.99), 2), "ms", goal=Goal("<", 10_000)),
        Figure(
            f"{prefix}.aws_calls",
            max(calls),
            "requests",
            goal=Goal("<=", 1),
            note=f"most AWS requests before one answer; total {sum(calls)} over {len(calls)}",
        ),
    ]


def measure() -> list[Figure]:
    import boto3
    from booksync.webhooks.signature import sign_square

    from bench.figures.catalog_sync import _aws
    from tests.apigw import http_event

    with _aws():
        queue = boto3.client("sqs").create_queue(QueueName=f"square-events-{uuid.uuid4().hex[:8]}")[
            "QueueUrl"
        ]
        name = f"/booksync/bench/{uuid.uuid4().hex[:8]}/square-webhook-signature-key"
        boto3.client("ssm").put_parameter(Name=name, Value=KEY, Type="SecureString")
        env = {
            "STAGE": "prod",
            "SQUARE_EVENTS_QUEUE_URL": queue,
            "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM": name,
            "SQUARE_WEBHOOK_NOTIFICATION_URL": URL,
        }
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
        times, calls = acknowledged("functions.webhooks.square", env, requests)
    return figures("webhook_ack", times, calls, "signed events")
