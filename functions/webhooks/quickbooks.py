"""QuickBooksWebhookFunction: POST /webhooks/quickbooks. Verify, enqueue, answer (no tables)."""

import base64
import binascii
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from booksync.settings import QuickBooksWebhookSettings
from booksync.wiring import quickbooks_webhook_receiver

if TYPE_CHECKING:
    from booksync.webhooks.receiver import Answer, QuickBooksWebhookReceiver

logger = Logger()
SETTINGS = QuickBooksWebhookSettings.from_env()  # validated at cold start


@cache
def receiver() -> "QuickBooksWebhookReceiver":
    return quickbooks_webhook_receiver(SETTINGS)


def raw_body(event: dict[str, Any]) -> bytes:
    """The exact bytes Intuit signed: API Gateway base64-encodes bodies it deems binary."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return b""  # cannot be what was signed; the signature check refuses it
    return str(body).encode()


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    answer = receiver().receive(raw_body(event), headers.get("intuit-signature"))
    return response(answer)


def response(answer: "Answer") -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": answer.headers,
        "body": json.dumps(answer.body) if answer.body is not None else "",
        "isBase64Encoded": False,
    }
