"""Webhooks as Square sends them: the event envelope, signed for each subscription.

``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(key=signature key, msg=notification URL +
raw body)) (providers.md 5.1). A signed request can be delivered N times, redelivered later with
its old event_id and snapshot (a stale duplicate), or handed back unsent for a test to post.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from local.sandboxes.square import ids
from local.sandboxes.square.ledger import EVENT_TYPES, Event

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def sign(notification_url: str, body: bytes, signature_key: str) -> str:
    message = notification_url.encode("utf-8") + body
    return base64.b64encode(
        hmac.new(signature_key.encode("utf-8"), message, hashlib.sha256).digest()
    ).decode()


@dataclass
class Subscription:
    id: str
    notification_url: str
    signature_key: str
    event_types: list[str] = field(default_factory=lambda: list(EVENT_TYPES))
    enabled: bool = True
    # An app's subscription hears only sellers who authorized the app with the event's scope, as
    # on Square; without one (the default) it hears every seller of the sandbox.
    client_id: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "notification_url": self.notification_url,
            "signature_key": self.signature_key,
            "event_types": list(self.event_types),
            "enabled": self.enabled,
            "client_id": self.client_id,
        }


@dataclass(frozen=True)
class SignedRequest:
    url: str
    headers: dict[str, str]
    body: bytes

    def public(self) -> dict[str, Any]:
        return {"url": self.url, "headers": dict(self.headers), "body": self.body.decode("utf-8")}


def signed_request(event: Event, subscription: Subscription) -> SignedRequest:
    body = json.dumps(event.envelope(), separators=(",", ":")).encode("utf-8")
    headers = {
        "content-type": "application/json",
        SIGNATURE_HEADER: sign(subscription.notification_url, body, subscription.signature_key),
        "square-version": "2025-08-20",
        "user-agent": "Square Connect v2 (booksync sandbox)",
        # Square's delivery headers: the retry count and the reason of the previous failure.
        "square-retry-number": "0",
    }
    return SignedRequest(subscription.notification_url, headers, body)


@dataclass
class Delivery:
    event_id: str
    type: str
    subscription_id: str
    url: str
    status: int | None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "subscription_id": self.subscription_id,
            "url": self.url,
            "status": self.status,
            "error": self.error,
        }


# The scope a seller must have granted for an app to hear the event (api.json x-webhook.scopes).
EVENT_SCOPES = {"payment": "PAYMENTS_READ", "refund": "PAYMENTS_READ", "payout": "PAYOUTS_READ"}
Authorized = Callable[[str, str, str], bool]  # (client_id, merchant_id, scope)


class Webhooks:
    def __init__(self, authorized: Authorized | None = None) -> None:
        self.authorized = authorized or (lambda client_id, merchant_id, scope: True)
        self.lock = threading.Lock()
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []

    def reset(self, *, subscriptions: bool = True) -> None:
        with self.lock:
            if subscriptions:
                self.subscriptions.clear()
            self.deliveries.clear()

    def subscribe(self, body: dict[str, Any]) -> Subscription:
        url = body.get("notification_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("notification_url must be an http(s) URL")
        types = body.get("event_types") or list(EVENT_TYPES)
        unknown = [kind for kind in types if kind not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"event_types {unknown} are not among {list(EVENT_TYPES)}")
        subscription = Subscription(
            id=ids.subscription_id(),
            notification_url=url,
            signature_key=str(body.get("signature_key") or ids.signature_key()),
            event_types=list(types),
            client_id=str(body["client_id"]) if body.get("client_id") else None,
        )
        with self.lock:
            self.subscriptions[subscription.id] = subscription
        return subscription

    def unsubscribe(self, subscription_id: str) -> bool:
        with self.lock:
            return self.subscriptions.pop(subscription_id, None) is not None

    def listening(self, event: Event) -> list[Subscription]:
        with self.lock:
            chosen = [s for s in self.subscriptions.values() if s.enabled and event.type in s.event_types]
        scope = EVENT_SCOPES[event.data_type]
        return [
            s for s in chosen if s.client_id is None or self.authorized(s.client_id, event.merchant_id, scope)
        ]

    def prepare(self, event: Event) -> list[SignedRequest]:
        return [signed_request(event, subscription) for subscription in self.listening(event)]

    def deliver(
        self, event: Event, times: int = 1, timeout: float = 10.0, *, concurrent: bool = False
    ) -> list[Delivery]:
        """POST the event to every subscription ``times`` times (Square may send one more than once);
        ``concurrent`` sends the copies at the same time, as Square's parallel retries can."""
        posts = [
            (subscription, request, {**request.headers, "square-retry-number": str(attempt)})
            for subscription in self.listening(event)
            for request in [signed_request(event, subscription)]
            for attempt in range(times)
        ]

        def post(item: tuple[Subscription, SignedRequest, dict[str, str]]) -> Delivery:
            subscription, request, headers = item
            return self._post(event, subscription, request, headers, timeout)

        if concurrent and len(posts) > 1:
            with ThreadPoolExecutor(max_workers=len(posts)) as pool:
                done = list(pool.map(post, posts))
        else:
            done = [post(item) for item in posts]
        with self.lock:
            self.deliveries.extend(done)
        return done

    @staticmethod
    def _post(
        event: Event,
        subscription: Subscription,
        request: SignedRequest,
        headers: dict[str, str],
        timeout: float,
    ) -> Delivery:
        delivery = Delivery(event.event_id, event.type, subscription.id, request.url, None)
        try:
            answer = httpx.post(request.url, content=request.body, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:  # the receiver's failure is what the caller wants to see
            delivery.error = f"{type(error).__name__}: {error}"
            return delivery
        delivery.status = answer.status_code
        return delivery

    def log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [delivery.public() for delivery in self.deliveries]
