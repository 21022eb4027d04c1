"""API Gateway (HTTP API, payload 2.0) plumbing shared by the webhook handlers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the handler module loads before any receiver is built
    from booksync.webhooks.receiver import Answer, WebhookReceiver


def raw_body(event: dict[str, Any]) -> bytes:
    """The exact bytes the provider signed: API Gateway base64-encodes bodies it deems binary."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return b""  # cannot be what was signed; the signature check refuses it
    return str(body).encode()


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (HTTP API lower-cases them; tests may not)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if str(key).lower() == wanted:
            return str(value)
    return None


def response(answer: Answer) -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": answer.headers,
        "body": json.dumps(answer.body) if answer.body is not None else "",
        "isBase64Encoded": False,
    }


def answered(receiver: WebhookReceiver, event: dict[str, Any]) -> dict[str, Any]:
    """The provider's delivery, verified, queued and answered by its receiver."""
    signature = header(event, receiver.signature_header)
    return response(receiver.receive(raw_body(event), signature, event.get("queryStringParameters")))
