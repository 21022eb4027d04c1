"""The consumer of QuickBooksEventsQueue: dedupe each event, find the company, act on links.

The sync is one way (booksync -> QuickBooks). What someone does in QuickBooks is acted on only
where booksync's own links would otherwise be wrong:
- Delete of a linked customer, item, invoice, payment or refund receipt: the link is cleared and the document
  marked pending, so the next sync creates it again (a new generation, so a new intent).
- Merge: documents linked to the merged-away id are relinked to the survivor.
- Void, and any other change (Update, ...) to a linked object made after booksync's last push:
  recorded as drift on the document's link and in sync history, never pulled back.
Events for realms no company is connected to, or for objects booksync does not link, are
recorded on the event row and acknowledged.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from booksync.documents import DocumentKind, InvoiceStatus
from booksync.store.connections import ConnectionRepository
from booksync.store.links import LinkRepository
from booksync.store.models import DocumentModel, WebhookEventModel
from booksync.store.runs import RunRepository
from booksync.store.webhook_events import WebhookEventRepository
from booksync.webhooks.consumer import act_once, keep_malformed
from booksync.webhooks.port import WebhookOperation
from booksync.webhooks.quickbooks import ChangeEvent, MalformedPayload, parse_payload

logger = logging.getLogger(__name__)
PROVIDER = "quickbooks"
KINDS = {
    "Customer": DocumentKind.CUSTOMER,
    "Item": DocumentKind.ITEM,
    "Invoice": DocumentKind.INVOICE,
    "Payment": DocumentKind.PAYMENT,
    "RefundReceipt": DocumentKind.REFUND,
}
# QuickBooks stamps a change when it commits it; booksync stamps synced_at when the answer
# arrives, a little later. A change stamped no later than this after our push is our own write.
ECHO_SKEW_SECONDS = 5.0


class QuickBooksEventProcessor:
    def __init__(
        self,
        *,
        events: WebhookEventRepository,
        connections: ConnectionRepository,
        links: LinkRepository,
        runs: RunRepository,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._events = events
        self._connections = connections
        self._links = links
        self._runs = runs
        self._clock = clock

    def handle_message(self, body: str) -> dict[str, int]:
        """Act on one queued delivery; raises only for what a redelivery can fix."""
        message: dict[str, Any] = json.loads(body)
        if message.get("malformed"):
            return {self._keep_malformed(message): 1}
        try:
            events = (
                [ChangeEvent.from_json(item) for item in message["events"]]
                if "events" in message
                else parse_payload(message["body"])
            )
        except (MalformedPayload, TypeError, KeyError) as exc:
            return {self._keep_malformed({**message, "malformed": str(exc)}): 1}
        counts: dict[str, int] = {}
        for event in events:
            outcome = self.handle(event)
            counts[outcome] = counts.get(outcome, 0) + 1
        logger.info("quickbooks events processed", extra={"counts": counts})
        return counts

    def handle(self, event: ChangeEvent) -> str:
        row = WebhookEventModel(
            f"{PROVIDER}#{event.event_id}",
            realm_id=event.realm_id,
            entity=event.entity,
            entity_id=event.entity_id,
            operation=event.recorded_operation,
        )
        outcome = act_once(self._events, row, lambda: self._act(event), now=self._clock())
        if outcome is None:
            logger.info("duplicate quickbooks event", extra={"event": event.event_id})
            return "duplicate"
        return outcome

    def _act(self, event: ChangeEvent) -> tuple[str, str | None]:
        # Only the company that owns the realm's connection: never two companies' documents.
        connections = self._connections.owner_connections(PROVIDER, event.realm_id)
        if not connections:
            return "unknown_realm", f"No company is connected to QuickBooks company {event.realm_id}."
        kind = KINDS.get(event.entity)
        if kind is None:
            return "ignored", f"booksync does not sync {event.entity} objects."
        outcomes = {self._act_for(connection.company_id, kind, event) for connection in connections}
        return ",".join(sorted(outcomes)), None

    def _act_for(self, company_id: str, kind: DocumentKind, event: ChangeEvent) -> str:
        if event.operation is WebhookOperation.MERGE and event.merged_away_id:
            return self._merged(company_id, kind, event, event.merged_away_id)
        rows = self._links.linked(company_id, kind, [event.entity_id])
        if not rows:
            return "not_linked"
        if event.operation is WebhookOperation.DELETE:
            return self._deleted(company_id, kind, event, rows)
        if event.operation is WebhookOperation.EMAILED:
            return "ignored"
        drifted = [row for row in rows if not self._own_write(kind, event, row)]
        for row in drifted:
            if self._links.record_change(
                row, event.entity_id, event.recorded_operation, at=event.occurred_at
            ):
                self._history(company_id, row, event, "changed_in_quickbooks", _drift_text(kind, event))
        return "drift" if drifted else "own_write"

    def _merged(self, company_id: str, kind: DocumentKind, event: ChangeEvent, merged_away: str) -> str:
        rows = self._links.linked(company_id, kind, [merged_away])
        for row in rows:
            if self._links.relink(row, merged_away, event.entity_id, at=event.occurred_at):
                text = (
                    f"QuickBooks {event.entity} {merged_away} was merged into {event.entity_id}; "
                    f"booksync now links {kind.value} {row.doc_id} to {event.entity_id}."
                )
                self._history(company_id, row, event, "merged_in_quickbooks", text)
        return "relinked" if rows else "not_linked"

    def _deleted(
        self, company_id: str, kind: DocumentKind, event: ChangeEvent, rows: list[DocumentModel]
    ) -> str:
        for row in rows:
            if str(row.status or "").upper() == "DELETED":
                # Deleted in booksync too: nothing to recreate.
                self._links.record_change(row, event.entity_id, WebhookOperation.DELETE, at=event.occurred_at)
                continue
            message = (
                f"{event.entity} {event.entity_id} was deleted in QuickBooks; "
                "booksync creates it again on the next sync."
            )
            fix = "Nothing to do, unless it should stay deleted: then delete it in your app too."
            if self._links.mark_deleted(
                row, event.entity_id, message=message, fix=fix, at=event.occurred_at, now=self._clock()
            ):
                self._history(company_id, row, event, "deleted_in_quickbooks", message)
        return "recreate"

    def _own_write(self, kind: DocumentKind, event: ChangeEvent, row: DocumentModel) -> bool:
        if event.operation is WebhookOperation.VOID:
            return kind is DocumentKind.INVOICE and row.status == InvoiceStatus.VOID
        link = row.link(PROVIDER)
        changed_at = _epoch(event.occurred_at)
        if link is None or link.synced_at is None or changed_at is None:
            return False
        return changed_at <= float(link.synced_at) + ECHO_SKEW_SECONDS

    def _history(self, company_id: str, row: DocumentModel, event: ChangeEvent, code: str, text: str) -> None:
        now = self._clock()
        run = self._runs.start(
            company_id,
            provider=PROVIDER,
            kind="webhook",
            trigger="webhook",
            subject=f"{row.kind} {row.doc_id}",
            now=now,
            status="running",
        )
        entry: dict[str, str | None] = {
            "document": f"{row.kind} {row.doc_id}",
            "code": code,
            "message": text,
            "fix": None,
        }
        counts = {event.recorded_operation.lower(): 1}
        self._runs.finish(run, status="recorded", counts=counts, errors=[entry], now=now)

    def _keep_malformed(self, message: dict[str, Any]) -> str:
        event_key = keep_malformed(self._events, PROVIDER, message, now=self._clock())
        logger.error("malformed quickbooks webhook kept", extra={"event_key": event_key})
        return "malformed"


def _drift_text(kind: DocumentKind, event: ChangeEvent) -> str:
    verbs = {
        WebhookOperation.VOID: "voided",
        WebhookOperation.UPDATE: "changed",
        WebhookOperation.CREATE: "created",
    }
    verb = verbs.get(event.operation, event.recorded_operation)
    return (
        f"QuickBooks {event.entity} {event.entity_id} (booksync {kind.value}) was {verb} in QuickBooks. "
        "booksync does not copy changes back; your app's version is sent again on its next edit."
    )


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _epoch(stamp: str | None) -> float | None:
    """ISO 8601 as Intuit writes it (legacy ``-0700`` offsets, CloudEvents nanoseconds, ``Z``)."""
    if not stamp:
        return None
    text = _FRACTION.sub(r"\1", stamp.strip()).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
