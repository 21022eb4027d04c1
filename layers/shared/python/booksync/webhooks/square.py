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

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from booksync.keys import KEY_MAX_CHARS, fits_key
from booksync.webhooks.body import load_json
from booksync.webhooks.receiver import (
    Inbox,
    OneSecret,
    ProviderTexts,
    SignedWebhookReceiver,
    VerifierToken,
    truncated,
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
        value = load_json(body)
    except ValueError as exc:
        raise MalformedEvent(str(exc)) from None
    if not isinstance(value, dict):
        raise MalformedEvent("the body is not a JSON object")
    missing = [
        name
        for name in ("event_id", "type", "merchant_id")
        if not isinstance(value.get(name), str) or not value[name]
    ]
    if missing:
        raise MalformedEvent(f"it has no {', '.join(missing)}")
    too_long = [name for name in ("event_id", "type", "merchant_id") if not fits_key(value[name])]
    if too_long:  # each becomes part of a key (the event's row, the merchant's connections)
        raise MalformedEvent(f"its {', '.join(too_long)} is longer than {KEY_MAX_CHARS} characters")
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


_SQUARE = ProviderTexts(
    provider=PROVIDER,
    sender="Square",
    secret_log="signature key",
    secret_detail="Square signature key",
    not_configured_title="Square webhooks are not configured",
    not_configured_fix=(
        "Store the subscription's signature key (Square Developer Console > Webhooks) in the SSM "
        "parameter named by SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM, and set "
        "SQUARE_WEBHOOK_NOTIFICATION_URL to the subscription's notification URL."
    ),
    signature_header=SIGNATURE_HEADER,
    bad_signature_fix=(
        "Check that booksync's Square signature key is the subscription's, and that "
        "SQUARE_WEBHOOK_NOTIFICATION_URL equals the subscription's notification URL exactly."
    ),
    malformed_title="Not a Square event notification",
    malformed_fix=(
        "booksync kept the body; it expects Square's event JSON "
        "({merchant_id, type, event_id, created_at, data})."
    ),
)


class SquareWebhookReceiver(SignedWebhookReceiver[SquareEvent]):
    texts = _SQUARE
    malformed = MalformedEvent
    log = logger

    def __init__(
        self,
        *,
        key: VerifierToken,
        notification_url: str | None,
        inbox: Inbox,
        production: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(secrets=OneSecret(key), inbox=inbox, production=production, clock=clock)
        self._url = notification_url or None

    def _secret(self, account: str | None) -> tuple[str | None, str | None]:
        key, reason = super()._secret(account)
        if self._url is None:
            return None, "is usable, but SQUARE_WEBHOOK_NOTIFICATION_URL is not set"
        return key, reason

    def _parse(self, body: bytes) -> SquareEvent:
        return parse_event(body)

    def _matches(self, body: bytes, signature: str | None, secret: str) -> bool:
        # Square signs the notification URL and the body (only set here: _secret refuses without it).
        assert self._url is not None
        return square_signature_matches(body, signature, secret, self._url)

    def _queued_extra(self, parsed: SquareEvent) -> dict[str, Any]:
        return {"event_id": parsed.event_id, "type": parsed.type}

    def _too_big(
        self, envelope: dict[str, Any], text: str, parsed: SquareEvent | None, malformed: str | None
    ) -> list[str]:
        # Square's events are a few kilobytes; one this big is kept for a person to read.
        return [truncated(envelope, text, malformed or "it is too big to be a Square event")]
