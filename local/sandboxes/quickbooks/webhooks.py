"""Webhooks as Intuit sends them: a legacy or CloudEvents body, signed with the verifier token.

``intuit-signature`` = base64(HMAC-SHA256(key=verifier token, msg=raw body)) (providers.md 1.7).
Tests and the demo ask the sandbox (POST /_sandbox/webhooks) to deliver a change notification to
booksync's endpoint, exactly as Intuit would after a user changed something in QuickBooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

FORMATS = ("legacy", "cloudevents")
_PAST = {"Create": "created", "Update": "updated", "Delete": "deleted", "Merge": "merged", "Void": "voided"}


@dataclass(frozen=True)
class Change:
    realm: str
    entity: str  # Intuit's name: Customer, Item, Invoice, Payment, ...
    id: str
    operation: str  # Create | Update | Delete | Merge | Void | Emailed
    deleted_id: str | None = None  # Merge: the id merged away
    at: datetime | None = None


def sign(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()


def render(changes: list[Change], fmt: str) -> bytes:
    """The body Intuit would send for these changes (one notification per realm, in legacy)."""
    if fmt == "legacy":
        by_realm: dict[str, list[dict[str, Any]]] = {}
        for change in changes:
            entity: dict[str, Any] = {
                "name": change.entity,
                "id": change.id,
                "operation": change.operation,
                "lastUpdated": _stamp(change.at).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            }
            if change.deleted_id:
                entity["deletedId"] = change.deleted_id
            by_realm.setdefault(change.realm, []).append(entity)
        notes = [{"realmId": r, "dataChangeEvent": {"entities": e}} for r, e in by_realm.items()]
        return json.dumps({"eventNotifications": notes}).encode()
    if fmt == "cloudevents":
        return json.dumps([_cloud_event(change) for change in changes]).encode()
    raise ValueError(f"format must be one of {FORMATS}")


def _cloud_event(change: Change) -> dict[str, Any]:
    operation = _PAST.get(change.operation, change.operation.lower())
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "intuit.booksync-sandbox",
        "type": f"qbo.{change.entity.lower()}.{operation}.v1",
        "datacontenttype": "application/json",
        "time": _stamp(change.at).isoformat().replace("+00:00", "Z"),
        "intuitentityid": change.id,
        "intuitaccountid": change.realm,
        "data": {"deletedid": change.deleted_id} if change.deleted_id else {},
    }


def _stamp(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def deliver(url: str, body: bytes, verifier_token: str, *, timeout: float = 10.0) -> httpx.Response:
    """POST the body as Intuit does: JSON, signed, with Intuit's tracing headers."""
    headers = {
        "content-type": "application/json; charset=utf-8",
        "intuit-signature": sign(body, verifier_token),
        "intuit-t-id": str(uuid.uuid4()),
        "intuit-created-time": datetime.now(UTC).isoformat(),
        "user-agent": "Intuit-Webhooks/1.0 (booksync sandbox)",
    }
    return httpx.post(url, content=body, headers=headers, timeout=timeout)
