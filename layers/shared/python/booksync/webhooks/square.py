"""POST /webhooks/square: verify, enqueue, answer (providers.md 5.1; design.md "Webhooks").

Square wants a 2xx within 10 seconds and retries for up to 72 hours, so as for QuickBooks the
only round trip before the answer is one SQS SendMessage of the verified raw body; dedupe by
``event_id`` and the work happen in the queue's consumer (``square_events.py``).

Answers:
- 200, empty body: verified and queued.
- 400 problem: signed correctly but not a Square event (no ``event_id``/``type``/``merchant_id``).
  The body is still queued (the consumer keeps it on a WebhookEvents row) and Square retries.
- 401 problem: missing or wrong ``x-square-hmacsha256-signature``; nothing queued.
- 503 problem: in production the signature key is not configured (every request, until it is),
  or the queue could not take the message (Square retries).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from booksync.webhooks.receiver import (
    MAX_MESSAGE_BYTES,
    MESSAGE_VERSION,
    Answer,
    Inbox,
    VerifierToken,
    problem,
)
from booksync.webhooks.signature import square_signature_matches

logger = logging.getLogger(__name__)
PROVIDER = "square"
SIGNATURE_HEADER = "x-square-hmacsha256-signature"


class MalformedEvent(ValueError):
    """Signed, but not a Square event notification."""


@dataclass(frozen=True)
class SquareEvent:
    """The envelope: ``{merchant_id, type, event_id, created_at, data: {type, id, object}}``."""

    event_id: str
    type: str
    merchant_id: str
    created_at: str | None
    data: dict[str, Any]

    def object(self, name: str) -> dict[str, Any] | None:
        """``data.object.<name>`` (e.g. ``payment``, ``refund``, ``payout``), when present."""
        obj = self.data.get("object")
        inner = obj.get(name) if isinstance(obj, dict) else None
        return inner if isinstance(inner, dict) else None


def parse_event(body: bytes | str) -> SquareEvent:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"the body is not JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise MalformedEvent("the body is not a JSON object")
    missing = [
        name
        for name in ("event_id", "type", "merchant_id")
        if not isinstance(value.get(name), str) or not value[name]
    ]
    if missing:
        raise MalformedEvent(f"it has no {', '.join(missing)}")
    data = value.get("data")
    if data is not None and not isinstance(data, dict):
        raise MalformedEvent("its data is not an object")
    created = value.get("created_at")
    return SquareEvent(
        event_id=value["event_id"],
        type=value["type"],
        merchant_id=value["merchant_id"],
        created_at=created if isinstance(created, str) else None,
        data=data or {},
    )


class SquareWebhookReceiver:
    def __init__(
        self,
        *,
        key: VerifierToken,
        notification_url: str | None,
        inbox: Inbox,
        production: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._url = notification_url or None
        self._inbox = inbox
        self._production = production
        self._clock = clock

    def receive(self, body: bytes, signature: str | None) -> Answer:
        refused, signed = self._verify(body, signature)
        if refused is not None:
            return refused
        malformed: str | None = None
        event: SquareEvent | None = None
        try:
            event = parse_event(body)
        except MalformedEvent as exc:
            malformed = str(exc)
        try:
            self._inbox.send([self._message(body, malformed, signed)])
        except Exception as exc:  # the queue's own errors: Square retries on a 5xx
            logger.exception("square webhook not queued", extra={"error": type(exc).__name__})
            return problem(
                503,
                "queue_unavailable",
                "The event could not be queued",
                "booksync could not put this delivery on its queue.",
                "Nothing to do: Square delivers it again.",
            )
        if malformed is not None:
            logger.warning("malformed square webhook kept", extra={"reason": malformed})
            return problem(
                400,
                "malformed_webhook",
                "Not a Square event notification",
                f"The body was signed correctly but {malformed}.",
                "booksync kept the body; it expects Square's event JSON "
                "({merchant_id, type, event_id, created_at, data}).",
            )
        assert event is not None
        logger.info("square webhook queued", extra={"event_id": event.event_id, "type": event.type})
        return Answer(200)

    def _verify(self, body: bytes, signature: str | None) -> tuple[Answer | None, bool]:
        """A refusal, or None and whether the signature was checked (False: dev, no key)."""
        key, reason = self._key.current()
        if self._url is None:
            key, reason = None, "is usable, but SQUARE_WEBHOOK_NOTIFICATION_URL is not set"
        if key is None:
            if self._production:
                logger.error("square webhook signature key missing", extra={"reason": reason})
                return _not_configured(reason), False
            logger.warning("unverified square webhook accepted (development)", extra={"reason": reason})
            return None, False
        assert self._url is not None
        if square_signature_matches(body, signature, key, self._url):
            return None, True
        fresh = self._key.refreshed() if signature else None
        if fresh is not None and fresh != key and square_signature_matches(body, signature, fresh, self._url):
            return None, True
        logger.warning("square webhook signature refused", extra={"signed": bool(signature)})
        return (
            problem(
                401,
                "bad_signature",
                "Signature missing or wrong",
                f"The {SIGNATURE_HEADER} header is missing or does not match the body.",
                "Check that booksync's Square signature key is the subscription's, and that "
                "SQUARE_WEBHOOK_NOTIFICATION_URL equals the subscription's notification URL exactly.",
            ),
            False,
        )

    def _message(self, body: bytes, malformed: str | None, signed: bool) -> str:
        envelope: dict[str, Any] = {
            "v": MESSAGE_VERSION,
            "provider": PROVIDER,
            "received_at": self._clock(),
            "signed": signed,
        }
        text = body.decode("utf-8", errors="replace")
        whole = json.dumps({**envelope, "body": text, "malformed": malformed})
        if len(whole.encode()) <= MAX_MESSAGE_BYTES:
            return whole
        # Square's events are a few kilobytes; one this big is kept for a person to read.
        cut = text[: MAX_MESSAGE_BYTES // 8]
        reason = malformed or "it is too big to be a Square event"
        return json.dumps({**envelope, "body": cut, "malformed": reason, "truncated": True})


def _not_configured(reason: str | None) -> Answer:
    return problem(
        503,
        "webhook_not_configured",
        "Square webhooks are not configured",
        f"The Square signature key {reason}, so no delivery can be verified.",
        "Store the subscription's signature key (Square Developer Console > Webhooks) in the SSM "
        "parameter named by SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM, and set "
        "SQUARE_WEBHOOK_NOTIFICATION_URL to the subscription's notification URL.",
    )
