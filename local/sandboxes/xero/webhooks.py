"""Xero's webhooks (providers.md 2.4, 7.1): thin events POSTed to the app's delivery URL, signed
``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)), and the Intent to Receive
check Xero runs when a webhook is set up: several POSTs with no events, some signed correctly and
some not; the receiver passes when it answers 200 with an empty body to each correct one and 401
to each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from local.sandboxes.xero.books import Event, Organisations

CATEGORY_PATHS = {"CONTACT": "Contacts", "INVOICE": "Invoices"}


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


@dataclass
class Delivery:
    kind: str  # "events" | "intent"
    url: str
    signed_correctly: bool
    events: int
    status: int | None = None
    body: str = ""
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "signed_correctly": self.signed_correctly,
            "events": self.events,
            "status": self.status,
            "body": self.body,
            "error": self.error,
        }


@dataclass
class Webhook:
    url: str
    key: str
    # Events delivered so far, per tenant (each organisation's events are numbered from 1).
    cursor: dict[str, int] = field(default_factory=dict)
    sequence: int = 0
    intent_passed: bool | None = None


class Webhooks:
    def __init__(
        self, organisations: Organisations, connected: Callable[[str], bool], base_url: Callable[[], str]
    ) -> None:
        self.organisations = organisations
        self.connected = connected
        self.base_url = base_url
        self.lock = threading.Lock()
        self.webhook: Webhook | None = None
        self.deliveries: list[Delivery] = []

    def reset(self, *, webhook: bool) -> None:
        with self.lock:
            self.deliveries.clear()
            if webhook:
                self.webhook = None
            elif self.webhook is not None:
                self.webhook.cursor.clear()
                self.webhook.sequence = 0

    def configure(self, url: str, key: str) -> Webhook:
        """The app's webhook: its delivery URL and signing key (events from now on only)."""
        with self.lock:
            self.webhook = Webhook(url, key)
            for org in self.organisations.all():
                self.webhook.cursor[org.tenant_id] = len(org.events)
            return self.webhook

    def _require(self) -> Webhook:
        if self.webhook is None:
            raise LookupError("no webhook is configured: POST /_sandbox/webhooks {url, key} first")
        return self.webhook

    def intent_to_receive(self, rounds: int = 2, timeout: float = 5.0) -> dict[str, Any]:
        """Xero's check of a new URL: ``rounds`` correctly and ``rounds`` wrongly signed POSTs."""
        webhook = self._require()
        done = []
        for attempt in range(rounds * 2):
            good = attempt % 2 == 0
            body = json.dumps(
                {
                    "events": [],
                    "firstEventSequence": 0,
                    "lastEventSequence": 0,
                    "entropy": secrets.token_hex(10).upper(),
                },
                separators=(",", ":"),
            ).encode()
            key = webhook.key if good else secrets.token_urlsafe(32)
            done.append(self._post("intent", webhook.url, body, sign(key, body), good, 0, timeout))
        passed = all(
            d.status == (200 if d.signed_correctly else 401) and (d.body == "" or not d.signed_correctly)
            for d in done
        )
        webhook.intent_passed = passed
        return {"passed": passed, "deliveries": [d.public() for d in done]}

    def pending(self) -> list[Event]:
        webhook = self._require()
        return [
            event
            for org in self.organisations.all()
            if self.connected(org.tenant_id)
            for event in org.events[webhook.cursor.get(org.tenant_id, 0) :]
        ]

    def payload(self, events: list[Event], first: int) -> dict[str, Any]:
        base = self.base_url()
        return {
            "events": [
                {
                    "resourceUrl": f"{base}/api.xro/2.0/{CATEGORY_PATHS[e.category]}/{e.resource_id}",
                    "resourceId": e.resource_id,
                    "eventDateUtc": e.at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                    "eventType": e.kind,
                    "eventCategory": e.category,
                    "tenantId": e.tenant_id,
                    "tenantType": "ORGANISATION",
                }
                for e in events
            ],
            "firstEventSequence": first,
            "lastEventSequence": first + len(events) - 1,
            "entropy": secrets.token_hex(10).upper(),
        }

    def deliver(
        self, times: int = 1, timeout: float = 10.0, *, wrong_signature: bool = False
    ) -> list[Delivery]:
        """POST every event not delivered yet in one signed payload, ``times`` times (Xero may
        repeat one); answers the deliveries. The events count as delivered only on a 200."""
        webhook = self._require()
        events = self.pending()
        if not events:
            return []
        body = json.dumps(self.payload(events, webhook.sequence + 1), separators=(",", ":")).encode()
        key = secrets.token_urlsafe(32) if wrong_signature else webhook.key
        done = [
            self._post(
                "events", webhook.url, body, sign(key, body), not wrong_signature, len(events), timeout
            )
            for _ in range(times)
        ]
        if any(d.status == 200 for d in done) and not wrong_signature:
            with self.lock:
                webhook.sequence += len(events)
                for org in self.organisations.all():
                    webhook.cursor[org.tenant_id] = len(org.events)
        return done

    def _post(
        self, kind: str, url: str, body: bytes, signature: str, good: bool, count: int, timeout: float
    ) -> Delivery:
        delivery = Delivery(kind, url, good, count)
        headers = {"content-type": "application/json", "x-xero-signature": signature}
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:  # the receiver's failure is what the caller wants to see
            delivery.error = f"{type(error).__name__}: {error}"
        else:
            delivery.status, delivery.body = answer.status_code, answer.text
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    def log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.public() for d in self.deliveries]
