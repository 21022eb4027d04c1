"""Regenerate events/webhooks/*.json: signed QuickBooks, Xero and FreshBooks deliveries and their
consumers' SQS events.

The deliveries are signed with SAMPLE_VERIFIER_TOKEN (QuickBooks) and SAMPLE_XERO_KEY (Xero), so
`sam local invoke` with QBO_WEBHOOK_VERIFIER_TOKEN / XERO_WEBHOOK_KEY set to them (and the tests)
verify them as Intuit's and Xero's would verify. FreshBooks' is signed with the verifier of one
callback, SAMPLE_FRESHBOOKS_VERIFIER, over the JSON of its form fields (FreshBooks' rule); its
receiver reads verifiers from the connection row of the account a delivery names, so it verifies
only where a connection of FRESHBOOKS_ACCOUNT keeps that verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

OUT = Path(__file__).resolve().parent.parent / "events" / "webhooks"
SAMPLE_VERIFIER_TOKEN = "booksync-sample-verifier-0001"
REALM = "9130355377372906"
SAMPLE_XERO_KEY = "booksync-sample-xero-key-0001"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:booksync-dev-"
XERO_TENANT = "0d6c8f3e-6a1f-4b7e-9a55-3e2b1c0d9f21"
SAMPLE_FRESHBOOKS_VERIFIER = "booksync-sample-freshbooks-verifier-0001"
FRESHBOOKS_ACCOUNT = "6BApk"
# FreshBooks' callbacks are form-encoded, in the order it posts the fields (providers.md 3.4).
FRESHBOOKS = {
    "name": "invoice.update",
    "object_id": "1234567",
    "account_id": FRESHBOOKS_ACCOUNT,
    "business_id": "6543",
    "identity_id": "1234",
    "user_id": "1",
}
# The delivery FreshBooks sends a new callback's URI: its verifier, naming the callback only
# (booksync's URI names the account: ?account_id=), its signature not checked.
FRESHBOOKS_VERIFY = {
    "name": "callback.verify",
    "object_id": "2001",
    "verifier": "scADVVi5QuKuj5qTjVkbJNYQe7V7USpGd",
    "system": "https://my.freshbooks.com",
    "user_id": "1",
}
# Xero's thin events: a contact and an invoice changed in one organisation.
XERO = {
    "events": [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{resource}",
            "resourceId": resource,
            "eventDateUtc": "2026-11-22T17:31:26.004",
            "eventType": "UPDATE",
            "eventCategory": category,
            "tenantId": XERO_TENANT,
            "tenantType": "ORGANISATION",
        }
        for category, path, resource in (
            ("CONTACT", "Contacts", "4f1b6a2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b"),
            ("INVOICE", "Invoices", "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"),
        )
    ],
    "firstEventSequence": 1,
    "lastEventSequence": 2,
    "entropy": "QWERTYUIOPASDFGHJKLZ",
}
# Per provider: its route, signature header and key, and its events queue.
PROVIDERS: dict[str, dict[str, str]] = {
    "quickbooks": {
        "path": "/webhooks/quickbooks",
        "header": "intuit-signature",
        "key": SAMPLE_VERIFIER_TOKEN,
        "agent": "Intuit-Webhooks/1.0",
        "queue": "QuickBooksEventsQueue",
    },
    "xero": {
        "path": "/webhooks/xero",
        "header": "x-xero-signature",
        "key": SAMPLE_XERO_KEY,
        "agent": "Xero-Webhooks",
        "queue": "XeroEventsQueue",
    },
    "freshbooks": {
        "path": "/webhooks/freshbooks",
        "header": "x-freshbooks-hmac-sha256",
        "key": SAMPLE_FRESHBOOKS_VERIFIER,
        "agent": "FreshBooks-Webhooks",
        "queue": "FreshBooksEventsQueue",
        "content_type": "application/x-www-form-urlencoded",
    },
}


def _entity(name: str, entity_id: str, operation: str, second: int, **extra: str) -> dict[str, str]:
    return {
        "name": name,
        "id": entity_id,
        "operation": operation,
        "lastUpdated": f"2026-11-22T09:30:{second:02d}-0800",
        **extra,
    }


LEGACY = {
    "eventNotifications": [
        {
            "realmId": REALM,
            "dataChangeEvent": {
                "entities": [
                    _entity("Invoice", "146", "Delete", 11),
                    _entity("Customer", "58", "Merge", 12, deletedId="61"),
                    _entity("Item", "19", "Update", 13),
                ]
            },
        }
    ]
}
CLOUD_EVENTS = [
    {
        "specversion": "1.0",
        "id": "88cd52aa-4c1e-4c57-9a3e-5c1f0a1b2c01",
        "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
        "type": "qbo.invoice.voided.v1",
        "datacontenttype": "application/json",
        "time": "2026-11-22T17:31:25.179851517Z",
        "intuitentityid": "147",
        "intuitaccountid": REALM,
        "data": {},
    },
    {
        "specversion": "1.0",
        "id": "88cd52aa-4c1e-4c57-9a3e-5c1f0a1b2c02",
        "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
        "type": "qbo.customer.merged.v1",
        "datacontenttype": "application/json",
        "time": "2026-11-22T17:31:26.004512000Z",
        "intuitentityid": "58",
        "intuitaccountid": "9130355377372907",
        "data": {"deletedid": "27"},
    },
]


def sign(body: bytes, key: str = SAMPLE_VERIFIER_TOKEN) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def signed(raw: bytes, provider: str) -> dict[str, str]:
    """The signature header of a delivery: over the raw body, or for FreshBooks over
    ``json.dumps`` of its form fields in posted order (an unsigned verification: none)."""
    spec = PROVIDERS[provider]
    if provider != "freshbooks":
        return {spec["header"]: sign(raw, spec["key"])}
    fields = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    if fields.get("name") == "callback.verify":
        return {}
    return {spec["header"]: sign(json.dumps(fields).encode(), spec["key"])}


def http_event(
    body: str,
    *,
    request_id: str,
    base64_body: bool = False,
    provider: str = "quickbooks",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    raw = body.encode()
    spec = PROVIDERS[provider]
    intuit = (
        {
            "intuit-created-time": "2026-11-22T17:31:27.000Z",
            "intuit-t-id": "1f0b2c3d-0000-4a5b-8c9d-0e1f2a3b4c5d",
        }
        if provider == "quickbooks"
        else {}
    )
    return {
        "version": "2.0",
        "routeKey": f"POST {spec['path']}",
        "rawPath": spec["path"],
        "rawQueryString": urlencode(query or {}),
        **({"queryStringParameters": query} if query else {}),
        # Alphabetical, as the other samples list them.
        "headers": dict(
            sorted(
                {
                    "accept": "application/json",
                    "content-length": str(len(raw)),
                    "content-type": spec.get("content_type", "application/json; charset=utf-8"),
                    "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                    **intuit,
                    **signed(raw, provider),
                    "user-agent": spec["agent"],
                    "x-amzn-trace-id": "Root=1-6b02b4ef-356a192b7913b04c54574d19",
                    "x-forwarded-for": "198.51.100.7",
                    "x-forwarded-port": "443",
                    "x-forwarded-proto": "https",
                }.items()
            )
        ),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": "POST",
                "path": spec["path"],
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": spec["agent"],
            },
            "requestId": request_id,
            "routeKey": f"POST {spec['path']}",
            "stage": "$default",
            "time": "22/Nov/2026:17:31:27 +0000",
            "timeEpoch": 1795368687000,
        },
        "body": base64.b64encode(raw).decode() if base64_body else body,
        "isBase64Encoded": base64_body,
    }


def sqs_event(bodies: list[str], provider: str = "quickbooks") -> dict[str, Any]:
    records = []
    for n, body in enumerate(bodies, 1):
        message = json.dumps(
            {
                "v": 1,
                "provider": provider,
                "received_at": 1795368687.1,
                "signed": "callback.verify" not in body,
                "body": body,
                "malformed": None,
            }
        )
        records.append(
            {
                "messageId": f"7a1e2c3b-0d4f-4e5a-9b6c-00000000000{n}",
                "receiptHandle": f"AQEBsampleReceiptHandle000{n}+booksync/{provider}-events==",
                "body": message,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795368687101",
                    "SenderId": f"AROAEXAMPLEROLEID:booksync-dev-webhooks-{provider}",
                    "ApproximateFirstReceiveTimestamp": "1795368687351",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(message.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"{QUEUE_ARN}{PROVIDERS[provider]['queue']}",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    legacy = json.dumps(LEGACY, separators=(",", ":"))
    cloud = json.dumps(CLOUD_EVENTS, separators=(",", ":"))
    xero = json.dumps(XERO, separators=(",", ":"))
    freshbooks, verify = urlencode(FRESHBOOKS), urlencode(FRESHBOOKS_VERIFY)
    files = {
        "quickbooks_legacy.json": http_event(legacy, request_id="Wq1AbcLegacy1="),
        "quickbooks_cloudevents.json": http_event(cloud, request_id="Wq1AbcCloud01="),
        "quickbooks_cloudevents_base64.json": http_event(
            cloud, request_id="Wq1AbcCloudB6=", base64_body=True
        ),
        "quickbooks_events_batch.json": sqs_event([legacy, cloud]),
        "xero_events.json": http_event(xero, request_id="Xr1AbcEvents1=", provider="xero"),
        "xero_events_batch.json": sqs_event([xero], provider="xero"),
        "freshbooks_invoice_update.json": http_event(
            freshbooks, request_id="Fb1AbcUpdate1=", provider="freshbooks"
        ),
        "freshbooks_callback_verify.json": http_event(
            verify,
            request_id="Fb1AbcVerify1=",
            provider="freshbooks",
            query={"account_id": FRESHBOOKS_ACCOUNT},
        ),
        # Queued as the receiver queues it: the verification with the account its URI names.
        "freshbooks_events_batch.json": sqs_event(
            [f"{verify}&account_id={FRESHBOOKS_ACCOUNT}", freshbooks], provider="freshbooks"
        ),
    }
    for name, event in files.items():
        (OUT / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
