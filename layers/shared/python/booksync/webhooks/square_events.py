"""The consumer of SquareEventsQueue: dedupe each event by ``event_id``, find the companies
connected to its merchant, and act:

- ``payment.created`` / ``payment.updated`` (COMPLETED): ``SquarePayments.payment``;
- ``refund.created`` / ``refund.updated`` (COMPLETED): ``SquarePayments.refund``;
- ``payout.sent`` / ``payout.failed`` / ``payout.paid``: one message per company on the payout
  deposit queue (``PAYOUT_DEPOSIT_QUEUE_URL``), exactly::

      {"company_id": str, "merchant_id": str, "payout_id": str,
       "event_type": "payout.sent" | "payout.failed" | "payout.paid",
       "event_id": str, "payout": <Square Payout object from the event>}

Events for a merchant no company is connected to, and other event types, are recorded on the
event row and acknowledged. A failure a redelivery can fix releases the claim and raises, so SQS
delivers the message again (and, after maxReceiveCount, to the DLQ).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from booksync.errors import ConfigurationError
from booksync.keys import fits_key
from booksync.payments.square import SquarePayments
from booksync.providers.square.models import Payment, Refund
from booksync.queues import SqsQueue
from booksync.store.connections import ConnectionRepository, ConnectionStatus
from booksync.store.models import ConnectionModel, WebhookEventModel
from booksync.store.webhook_events import WebhookEventRepository
from booksync.webhooks.consumer import act_once, keep_malformed
from booksync.webhooks.square import MalformedEvent, SquareEvent, parse_event

logger = logging.getLogger(__name__)
PROVIDER = "square"
PAYMENT_EVENTS = frozenset({"payment.created", "payment.updated"})
REFUND_EVENTS = frozenset({"refund.created", "refund.updated"})
PAYOUT_EVENTS = frozenset({"payout.sent", "payout.failed", "payout.paid"})


class PayoutHandOff(Protocol):
    def send(self, message: Mapping[str, Any]) -> None:
        """Put one payout message on the payout deposit queue or raise."""
        ...


class SqsPayoutHandOff(SqsQueue):
    """The payout deposit job's queue; a deployment without it refuses payouts loudly."""

    def __init__(self, queue_url: str | None, sqs: Any = None) -> None:
        super().__init__(queue_url or "", sqs)

    def send(self, message: Mapping[str, Any]) -> None:
        if not self._url:
            raise ConfigurationError(
                "PAYOUT_DEPOSIT_QUEUE_URL is not set, so Square payouts cannot reach the deposit job.",
                fix="Deploy the payout deposit function and give SquareEventsFunction its queue URL.",
            )
        self.sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(dict(message)))


class SquareEventProcessor:
    def __init__(
        self,
        *,
        events: WebhookEventRepository,
        connections: ConnectionRepository,
        payments: SquarePayments,
        payouts: PayoutHandOff,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._events = events
        self._connections = connections
        self._payments = payments
        self._payouts = payouts
        self._clock = clock

    def handle_message(self, body: str) -> str:
        """Act on one queued delivery; raises only for what a redelivery can fix."""
        message: dict[str, Any] = json.loads(body)
        if message.get("malformed"):
            return self._keep_malformed(message)
        try:
            event = parse_event(str(message["body"]))
        except (MalformedEvent, KeyError) as exc:
            return self._keep_malformed({**message, "malformed": str(exc)})
        return self.handle(event)

    def handle(self, event: SquareEvent) -> str:
        row = WebhookEventModel(
            f"{PROVIDER}#{event.event_id}",
            realm_id=event.merchant_id,
            entity=str(event.data.get("type") or "") or None,
            entity_id=str(event.data.get("id") or "") or None,
            operation=event.type,
        )
        outcome = act_once(self._events, row, lambda: self._act(event), now=self._clock())
        if outcome is None:
            logger.info("duplicate square event", extra={"event_id": event.event_id})
            return "duplicate"
        logger.info("square event processed", extra={"event_id": event.event_id, "outcome": outcome})
        return outcome

    def _act(self, event: SquareEvent) -> tuple[str, str | None]:
        if event.type not in PAYMENT_EVENTS | REFUND_EVENTS | PAYOUT_EVENTS:
            return "ignored", f"booksync does not act on {event.type} events."
        connections = [
            c
            # Only the company that owns the merchant's connection: never two companies' books.
            for c in self._connections.owner_connections(PROVIDER, event.merchant_id)
            if c.status != ConnectionStatus.DISCONNECTED
        ]
        if not connections:
            logger.info("square event for an unknown merchant", extra={"merchant_id": event.merchant_id})
            return "unknown_merchant", f"No company is connected to Square merchant {event.merchant_id}."
        outcomes = {self._act_for(connection, event) for connection in connections}
        return ",".join(sorted(outcomes)), None

    def _act_for(self, connection: ConnectionModel, event: SquareEvent) -> str:
        if event.type in PAYOUT_EVENTS:
            return self._hand_off_payout(connection, event)
        name = "payment" if event.type in PAYMENT_EVENTS else "refund"
        obj = event.object(name)
        if obj is None:
            return f"no_{name}"
        try:
            parsed = Payment.from_square(obj) if name == "payment" else Refund.from_square(obj)
        except (ValueError, KeyError, TypeError) as exc:
            # Nothing a redelivery changes: keep the outcome on the event row.
            logger.exception("square %s not understood", name, extra={"error": str(exc)})
            return f"malformed_{name}"
        ids = (
            (parsed.id, parsed.reference_id)
            if isinstance(parsed, Payment)
            else (parsed.id, parsed.payment_id)
        )
        if not all(fits_key(value) for value in ids if value is not None):
            # Each id becomes part of a key (the activity row, the invoice it pays): none is read.
            logger.error("square %s with an id too long to be a key", name)
            return f"malformed_{name}"
        if isinstance(parsed, Payment):
            zone = _timezone(connection, parsed.location_id)
            return self._payments.payment(
                connection.company_id, parsed, merchant_id=event.merchant_id, timezone=zone
            )
        refund = parsed
        zone = _timezone(connection, refund.location_id)
        return self._payments.refund(
            connection.company_id, refund, merchant_id=event.merchant_id, timezone=zone
        )

    def _hand_off_payout(self, connection: ConnectionModel, event: SquareEvent) -> str:
        payout = event.object("payout")
        payout_id = str((payout or {}).get("id") or event.data.get("id") or "")
        if payout is None or not fits_key(payout_id):
            return "no_payout"
        self._payouts.send(
            {
                "company_id": connection.company_id,
                "merchant_id": event.merchant_id,
                "payout_id": payout_id,
                "event_type": event.type,
                "event_id": event.event_id,
                "payout": payout,
            }
        )
        return "payout_forwarded"

    def _keep_malformed(self, message: dict[str, Any]) -> str:
        event_key = keep_malformed(self._events, PROVIDER, message, now=self._clock())
        logger.error("malformed square webhook kept", extra={"event_key": event_key})
        return "malformed"


def _timezone(connection: ConnectionModel, location_id: str | None) -> str | None:
    for location in connection.locations or ():
        if isinstance(location, dict) and location.get("id") == location_id:
            zone = location.get("timezone")
            return str(zone) if zone else None
    return None
