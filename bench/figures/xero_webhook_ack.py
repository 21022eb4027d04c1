"""Xero webhook acknowledgement: 1,000 signed deliveries of Xero's thin events (one contact and
one invoice each), ``POST /webhooks/xero``'s handler invoked as API Gateway invokes it against moto
server, as ``webhook_ack.py`` measures Square's.

``xero.webhook_ack.aws_calls``: the most AWS requests any warm invocation made before answering
(goal <= 1: the SQS enqueue; reading each record from Xero, dedupe and the rest happen in the
consumer). ``.p50_ms`` / ``.p99_ms``: the time to answer (Xero waits 5 seconds). The first (cold)
invocation, which reads the webhook key from SSM, is not measured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

from bench.figure import Figure
from bench.figures.webhook_ack import EVENTS, acknowledged, figures

KEY = "bench-xero-webhook-key"
TENANT = "0d6c8f3e-6a1f-4b7e-9a55-3e2b1c0d9f21"


def _delivery(index: int) -> bytes:
    events = [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{category.lower()}-{index:06d}",
            "resourceId": f"{category.lower()}-{index:06d}",
            "eventDateUtc": "2026-12-07T01:15:39.902",
            "eventType": "UPDATE",
            "eventCategory": category,
            "tenantId": TENANT,
            "tenantType": "ORGANISATION",
        }
        for category, path in (("CONTACT", "Contacts"), ("INVOICE", "Invoices"))
    ]
    body = {"events": events, "firstEventSequence": 2 * index + 1, "lastEventSequence": 2 * index + 2}
    return json.dumps({**body, "entropy": uuid.uuid4().hex.upper()}, separators=(",", ":")).encode()


def _signature(body: bytes) -> str:
    """As Xero signs: base64(HMAC-SHA256(the webhook key, raw body))."""
    return base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()


def measure() -> list[Figure]:
    import boto3

    from bench.figures.catalog_sync import _aws
    from tests.apigw import http_event

    with _aws():
        queue = boto3.client("sqs").create_queue(QueueName=f"xero-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        name = f"/booksync/bench/{uuid.uuid4().hex[:8]}/xero-webhook-key"
        boto3.client("ssm").put_parameter(Name=name, Value=KEY, Type="SecureString")
        env = {"STAGE": "prod", "XERO_EVENTS_QUEUE_URL": queue, "XERO_WEBHOOK_KEY_PARAM": name}
        requests = [
            http_event(
                "POST",
                "/webhooks/xero",
                body.decode(),
                route_key="POST /webhooks/xero",
                headers={"x-xero-signature": _signature(body)},
            )
            for body in (_delivery(i) for i in range(EVENTS + 1))
        ]
        times, calls = acknowledged("functions.webhooks.xero", env, requests)
    return figures("xero.webhook_ack", times, calls, "signed deliveries of two events")
