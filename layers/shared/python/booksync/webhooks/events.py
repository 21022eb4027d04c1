"""The consumer of an accounting provider's events queue (QuickBooks', and any provider declaring
a ``ChangeFeed``): dedupe each event, find the company, act on links.

The sync is one way (booksync -> the books). What someone does in the books is acted on only
where booksync's own links would otherwise be wrong:
- Delete of a linked customer, item, invoice, payment or refund: the link is cleared and the document
  marked pending, so the next sync creates it again (a new generation, so a new intent).
- Merge: documents linked to the merged-away id are relinked to the survivor.
- Void, and any other change (Update, ...) to a linked object made after booksync's last push:
  recorded as drift on the document's link and in sync history, never pulled back.
Events for accounts no company is connected to, or for objects booksync does not link, are
recorded on the event row and acknowledged.

A provider whose events are thin (its feed says so: Xero and FreshBooks send a record's type and
id) has each record booksync links fetched through its adapter, with the connection's tokens,
behind the rate limiter's gate and within the invocation's deadline (``fetch_for``): a record
that is gone is a delete, one that stands voided a void, one found is a change at the version it
holds (the same version as booksync's last push: its own write). A fetch that fails for a reason
a redelivery can change gives the event back to the queue; one no redelivery changes (a grant
revoked, the day's requests spent) is recorded as ``not_fetched`` with its reason: booksync does
not guess from a thin event what changed.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from booksync.documents import DocumentKind, InvoiceStatus
from booksync.errors import DailyLimitReached, ProviderError
from booksync.store.connections import ConnectionRepository
from booksync.store.links import LinkRepository
from booksync.store.models import ConnectionModel, DocumentModel, WebhookEventModel
from booksync.store.runs import RunRepository
from booksync.store.webhook_events import WebhookEventRepository
from booksync.webhooks.consumer import act_once, keep_malformed
from booksync.webhooks.port import ChangeEvent, ChangeFeed, WebhookOperation

if TYPE_CHECKING:
    from booksync.providers.declaration import ConsumerParts
    from booksync.providers.port import AccountingProvider, RemoteObject

logger = logging.getLogger(__name__)
# The provider stamps a change when it commits it; booksync stamps synced_at when the answer
# arrives, a little later. A change stamped no later than this after our push is our own write.
ECHO_SKEW_SECONDS = 5.0


# What the port can read back by id: the records a thin event is made whole from.
FETCHED_KINDS = frozenset({DocumentKind.CUSTOMER, DocumentKind.ITEM, DocumentKind.INVOICE})


class _NotFetched(Exception):
    """A thin event's record could not be read, and no redelivery would read it; says why."""


def _fetch(provider: AccountingProvider, kind: DocumentKind, remote_id: str) -> RemoteObject | None:
    """The record as it stands in the books (None: gone); ``kind`` is one of FETCHED_KINDS."""
    if kind is DocumentKind.CUSTOMER:
        return provider.get_customer(remote_id)
    if kind is DocumentKind.ITEM:
        return provider.get_item(remote_id)
    return provider.get_invoice(remote_id)


def change_processor(
    provider: str, label: str, feed: ChangeFeed, parts: ConsumerParts
) -> ChangeEventProcessor:
    """The consumer an accounting provider declares (``WebhookParts.consumer``): its feed, read
    with the generic parts; its thin events fetched through ``parts.adapter_for``."""
    return ChangeEventProcessor(
        provider=provider,
        label=label,
        feed=feed,
        events=parts.events,
        connections=parts.connections,
        links=LinkRepository(provider),
        runs=parts.runs,
        fetch_for=parts.adapter_for if feed.thin else None,
    )


class ChangeEventProcessor:
    def __init__(
        self,
        *,
        provider: str,
        label: str,
        feed: ChangeFeed,
        events: WebhookEventRepository,
        connections: ConnectionRepository,
        links: LinkRepository,
        runs: RunRepository,
        fetch_for: Callable[[ConnectionModel], AccountingProvider] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if feed.thin and fetch_for is None:
            raise ValueError(f"{provider}: thin events are acted on from the record, fetched (fetch_for)")
        self._provider = provider
        self._label = label
        self._feed = feed
        self._fetch_for = fetch_for
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
                [self._feed.read_queued(item) for item in message["events"]]
                if "events" in message
                else self._feed.parse(message["body"])
            )
        except (ValueError, TypeError, KeyError) as exc:
            return {self._keep_malformed({**message, "malformed": str(exc)}): 1}
        return self.handle_all(events)

    def handle_all(self, events: list[ChangeEvent]) -> dict[str, int]:
        """Act on each of a delivery's events; how many had each outcome."""
        counts: dict[str, int] = {}
        for event in events:
            outcome = self.handle(event)
            counts[outcome] = counts.get(outcome, 0) + 1
        logger.info(f"{self._provider} events processed", extra={"counts": counts})
        return counts

    def handle(self, event: ChangeEvent) -> str:
        row = WebhookEventModel(
            f"{self._provider}#{event.event_id}",
            realm_id=event.account_id,
            entity=event.entity,
            entity_id=event.entity_id,
            operation=event.recorded_operation,
        )
        outcome = act_once(self._events, row, lambda: self._act(event), now=self._clock())
        if outcome is None:
            logger.info(f"duplicate {self._provider} event", extra={"event": event.event_id})
            return "duplicate"
        return outcome

    def _act(self, event: ChangeEvent) -> tuple[str, str | None]:
        # Only the company that owns the account's connection: never two companies' documents.
        connections = self._connections.owner_connections(self._provider, event.account_id)
        if not connections:
            return "unknown_realm", f"No company is connected to {self._label} company {event.account_id}."
        kind = self._feed.kinds.get(event.entity)
        if kind is None:
            return "ignored", f"booksync does not sync {event.entity} objects."
        acted = [self._act_for(connection, kind, event) for connection in connections]
        details = [detail for _, detail in acted if detail]
        return ",".join(sorted({outcome for outcome, _ in acted})), "; ".join(details) or None

    def _act_for(
        self, connection: ConnectionModel, kind: DocumentKind, event: ChangeEvent
    ) -> tuple[str, str | None]:
        """The outcome for one connection, and what a person reads on the event's row."""
        company_id = connection.company_id
        if event.operation is WebhookOperation.MERGE and event.merged_away_id:
            return self._merged(company_id, kind, event, event.merged_away_id), None
        rows = self._links.linked(company_id, kind, [event.entity_id])
        if not rows:
            return "not_linked", None
        if self._feed.thin and kind in FETCHED_KINDS:
            try:
                event = self._fetched(connection, kind, event)
            except _NotFetched as exc:
                return "not_fetched", str(exc)
        return self._changed(company_id, kind, event, rows), None

    def _changed(
        self, company_id: str, kind: DocumentKind, event: ChangeEvent, rows: list[DocumentModel]
    ) -> str:
        if event.operation is WebhookOperation.DELETE:
            return self._deleted(company_id, kind, event, rows)
        if event.operation is WebhookOperation.EMAILED:
            return "ignored"
        drifted = [row for row in rows if not self._own_write(kind, event, row)]
        for row in drifted:
            if self._links.record_change(
                row, event.entity_id, event.recorded_operation, at=event.occurred_at
            ):
                self._history(company_id, row, event, self._code("changed"), self._drift_text(kind, event))
        return "drift" if drifted else "own_write"

    def _fetched(self, connection: ConnectionModel, kind: DocumentKind, event: ChangeEvent) -> ChangeEvent:
        """A thin event made whole from the record, read with the connection's tokens (through
        its gate, within the deadline). A provider error a redelivery can change is raised (the
        event goes back to its queue); any other is ``_NotFetched``, and so is the day's requests
        spent: no redelivery comes after the provider's next day begins."""
        assert self._fetch_for is not None
        try:
            remote = _fetch(self._fetch_for(connection), kind, event.entity_id)
        except ProviderError as exc:
            if exc.retryable and not isinstance(exc, DailyLimitReached):
                raise
            logger.warning(
                f"{self._provider} record not fetched for its event",
                extra={"event": event.event_id, "error": type(exc).__name__},
            )
            raise _NotFetched(
                f"{self._label} {event.entity} {event.entity_id} could not be read for this event "
                f"({type(exc).__name__}: {exc}); booksync did not guess what changed."
            ) from None
        if remote is None or (kind is DocumentKind.INVOICE and not remote.active):
            # Gone; an invoice the books keep as deleted (Xero's DELETED) is gone too.
            return event.fetched(None, exists=False)
        return event.fetched(remote.version, exists=True, voided=remote.voided)

    def _code(self, what: str) -> str:
        return f"{what}_in_{self._provider}"

    def _merged(self, company_id: str, kind: DocumentKind, event: ChangeEvent, merged_away: str) -> str:
        rows = self._links.linked(company_id, kind, [merged_away])
        for row in rows:
            if self._links.relink(row, merged_away, event.entity_id, at=event.occurred_at):
                text = (
                    f"{self._label} {event.entity} {merged_away} was merged into {event.entity_id}; "
                    f"booksync now links {kind.value} {row.doc_id} to {event.entity_id}."
                )
                self._history(company_id, row, event, self._code("merged"), text)
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
                f"{event.entity} {event.entity_id} was deleted in {self._label}; "
                "booksync creates it again on the next sync."
            )
            fix = "Nothing to do, unless it should stay deleted: then delete it in your app too."
            if self._links.mark_deleted(
                row, event.entity_id, message=message, fix=fix, at=event.occurred_at, now=self._clock()
            ):
                self._history(company_id, row, event, self._code("deleted"), message)
        return "recreate"

    def _own_write(self, kind: DocumentKind, event: ChangeEvent, row: DocumentModel) -> bool:
        if event.operation is WebhookOperation.VOID:
            return kind is DocumentKind.INVOICE and row.status == InvoiceStatus.VOID
        link = row.link(self._provider)
        if link is not None and event.version is not None and link.version is not None:
            return str(link.version) == event.version  # fetched: the version booksync pushed last
        changed_at = _epoch(event.occurred_at)
        if link is None or link.synced_at is None or changed_at is None:
            return False
        return changed_at <= float(link.synced_at) + ECHO_SKEW_SECONDS

    def _history(self, company_id: str, row: DocumentModel, event: ChangeEvent, code: str, text: str) -> None:
        now = self._clock()
        run = self._runs.start(
            company_id,
            provider=self._provider,
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
        event_key = keep_malformed(self._events, self._provider, message, now=self._clock())
        logger.error(f"malformed {self._provider} webhook kept", extra={"event_key": event_key})
        return "malformed"

    def _drift_text(self, kind: DocumentKind, event: ChangeEvent) -> str:
        verbs = {
            WebhookOperation.VOID: "voided",
            WebhookOperation.UPDATE: "changed",
            WebhookOperation.CREATE: "created",
        }
        verb = verbs.get(event.operation, event.recorded_operation)
        label = self._label
        return (
            f"{label} {event.entity} {event.entity_id} (booksync {kind.value}) was {verb} in {label}. "
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
