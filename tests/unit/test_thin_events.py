"""Thin events (``webhooks/events.py``): a provider whose events name a record and not what it now
holds (Xero, FreshBooks) has each record booksync links fetched through its adapter, and the
event acted on as the record says. In-memory repositories and the in-memory books."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.errors import DailyLimitReached, NeedsReconnection, TransientError
from booksync.providers.port import AccountingProvider, RemoteObject
from booksync.store.models import ConnectionModel, DocumentModel, LinkMap, WebhookEventModel
from booksync.webhooks.events import ChangeEventProcessor
from booksync.webhooks.port import ChangeEvent, ChangeFeed, WebhookOperation
from booksync.webhooks.quickbooks import FEED as QUICKBOOKS_FEED

from tests.fakes.provider import plain_books

PROVIDER = "quickbooks"  # links are kept under a provider's name; the books here are Plain Books


class Events:
    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.outcomes: dict[str, str] = {}
        self.details: dict[str, str | None] = {}

    def claim(self, row: WebhookEventModel, *, now: float) -> bool:
        if row.event_key in self.claimed:
            return False
        self.claimed.add(str(row.event_key))
        return True

    def finish(self, row: WebhookEventModel, *, outcome: str, detail: str | None) -> None:
        self.outcomes[str(row.event_key)] = outcome
        self.details[str(row.event_key)] = detail

    def release(self, row: WebhookEventModel) -> None:
        self.claimed.discard(str(row.event_key))


class Connections:
    def owner_connections(self, provider: str, account_id: str) -> list[ConnectionModel]:
        return [ConnectionModel("acme", provider, connection_id="c1", account_id=account_id)]


class Links:
    def __init__(self) -> None:
        self.rows: dict[str, DocumentModel] = {}
        self.changes: list[tuple[str, str]] = []
        self.deleted: list[str] = []

    def linked(self, company_id: str, kind: DocumentKind, remote_ids: Iterable[str]) -> list[DocumentModel]:
        return [self.rows[r] for r in remote_ids if r in self.rows]

    def record_change(self, row: DocumentModel, remote_id: str, operation: str, *, at: str | None) -> bool:
        self.changes.append((remote_id, operation))
        return True

    def mark_deleted(self, row: DocumentModel, remote_id: str, **_: Any) -> bool:
        self.deleted.append(remote_id)
        return True


class Runs:
    def start(self, company_id: str, **_: Any) -> object:
        return object()

    def finish(self, run: object, **_: Any) -> None:
        return None


class Fetches:
    """The adapter, built per connection; ``fail`` raises on the next build."""

    def __init__(self) -> None:
        self.books = plain_books(name=PROVIDER)
        self.books.versioned = True
        self.built: list[str] = []
        self.fail: Exception | None = None

    def __call__(self, connection: ConnectionModel) -> AccountingProvider:
        self.built.append(str(connection.company_id))
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        return self.books  # type: ignore[return-value]


THIN = ChangeFeed(
    parse=lambda _body: [],
    read_queued=ChangeEvent.from_json,
    kinds={"INVOICE": DocumentKind.INVOICE, "PAYMENT": DocumentKind.PAYMENT},
    thin=True,
)


def processor(feed: ChangeFeed = THIN) -> tuple[ChangeEventProcessor, Links, Fetches, Events]:
    links, fetches, events = Links(), Fetches(), Events()
    built = ChangeEventProcessor(
        provider=PROVIDER,
        label="Plain Books",
        feed=feed,
        events=events,  # type: ignore[arg-type]
        connections=Connections(),  # type: ignore[arg-type]
        links=links,  # type: ignore[arg-type]
        runs=Runs(),  # type: ignore[arg-type]
        fetch_for=fetches,
        clock=lambda: 5.0,
    )
    return built, links, fetches, events


def linked(links: Links, fetches: Fetches) -> RemoteObject:
    remote = fetches.books._create("invoice", {"marker": "inv-1"})
    links.rows[remote.id] = DocumentModel(
        "acme",
        "invoice#inv-1",
        kind="invoice",
        doc_id="inv-1",
        link_quickbooks=LinkMap(remote_id=remote.id, version=remote.version, outcome="synced", synced_at=1),
    )
    return remote


def thin(remote_id: str, n: int = 1, entity: str = "INVOICE") -> ChangeEvent:
    return ChangeEvent(
        event_id=f"e-{n}",
        account_id="t-1",
        entity=entity,
        entity_id=remote_id,
        operation=WebhookOperation.UPDATE,
    )


def test_the_record_at_the_version_booksync_pushed_is_its_own_write() -> None:
    consumer, links, fetches, _ = processor()
    remote = linked(links, fetches)
    assert consumer.handle(thin(remote.id)) == "own_write"
    assert fetches.built == ["acme"] and fetches.books.calls["get_invoice"] == 1
    assert links.changes == []


def test_the_record_changed_in_the_books_since_is_drift() -> None:
    consumer, links, fetches, _ = processor()
    remote = linked(links, fetches)
    fetches.books._update("invoice", remote, {"memo": "edited"})
    assert consumer.handle(thin(remote.id)) == "drift"
    assert links.changes == [(remote.id, "Update")]


def test_the_record_gone_from_the_books_is_a_delete() -> None:
    consumer, links, fetches, _ = processor()
    remote = linked(links, fetches)
    fetches.books.delete("invoice", remote.id)
    assert consumer.handle(thin(remote.id)) == "recreate"
    assert links.deleted == [remote.id]


def test_an_invoice_the_books_keep_as_deleted_is_a_delete() -> None:
    """Xero keeps a deleted invoice, Status DELETED (the adapter's ``active`` False)."""
    consumer, links, fetches, _ = processor()
    remote = linked(links, fetches)
    fetches.books.objects["invoice"][remote.id].active = False
    assert consumer.handle(thin(remote.id)) == "recreate"
    assert links.deleted == [remote.id]


def test_a_record_booksync_does_not_link_or_cannot_read_is_not_fetched() -> None:
    consumer, links, fetches, _ = processor()
    remote = linked(links, fetches)
    assert consumer.handle(thin("999")) == "not_linked"
    links.rows["p-1"] = links.rows[remote.id]
    assert consumer.handle(thin("p-1", n=2, entity="PAYMENT")) == "drift"  # no reader: as it came
    assert fetches.built == []


def test_a_fetch_a_redelivery_can_fix_gives_the_claim_back() -> None:
    consumer, links, fetches, events = processor()
    remote = linked(links, fetches)
    fetches.fail = TransientError("503", provider=PROVIDER)
    with pytest.raises(TransientError):
        consumer.handle(thin(remote.id))
    assert events.claimed == set()
    assert consumer.handle(thin(remote.id)) == "own_write"


@pytest.mark.parametrize(
    "failure",
    [
        NeedsReconnection("grant revoked", provider=PROVIDER),
        # Redeliveries end (5 receives, 15 minutes) long before the provider's next day begins.
        DailyLimitReached("day spent", provider=PROVIDER, resume_at=90_000.0, now=5.0),
    ],
    ids=["reconnect", "daily-limit"],
)
def test_a_fetch_no_redelivery_fixes_is_recorded_not_fetched_not_guessed(failure: Exception) -> None:
    consumer, links, fetches, events = processor()
    remote = linked(links, fetches)
    fetches.books._update("invoice", remote, {"memo": "edited"})
    fetches.fail = failure
    assert consumer.handle(thin(remote.id)) == "not_fetched"
    assert events.outcomes == {"quickbooks#e-1": "not_fetched"}
    assert events.details["quickbooks#e-1"] == (
        f"Plain Books INVOICE {remote.id} could not be read for this event "
        f"({type(failure).__name__}: {failure}); booksync did not guess what changed."
    )
    assert (links.changes, links.deleted) == ([], [])  # neither drift nor a delete


def test_an_invoice_standing_voided_in_the_books_is_a_void_recorded_as_drift() -> None:
    """A thin event says "update"; the record says voided there: a void, never copied back."""
    consumer, links, fetches, _ = processor()
    remote = linked(links, fetches)
    fetches.books._update("invoice", remote, {"voided": True})
    assert consumer.handle(thin(remote.id)) == "drift"
    assert links.changes == [(remote.id, "Void")]
    # Voided by booksync itself (the document is void): its own write, nothing recorded.
    links.rows[remote.id].status = "VOID"
    assert consumer.handle(thin(remote.id, n=2)) == "own_write"
    assert links.changes == [(remote.id, "Void")]


def test_events_that_say_what_happened_are_never_fetched() -> None:
    consumer, links, fetches, _ = processor(QUICKBOOKS_FEED)
    remote = linked(links, fetches)
    assert consumer.handle(thin(remote.id, entity="Invoice")) == "drift"
    assert fetches.built == []


def test_a_thin_feed_without_an_adapter_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="thin events are acted on from the record"):
        ChangeEventProcessor(
            provider=PROVIDER,
            label="Plain Books",
            feed=THIN,
            events=Events(),  # type: ignore[arg-type]
            connections=Connections(),  # type: ignore[arg-type]
            links=Links(),  # type: ignore[arg-type]
            runs=Runs(),  # type: ignore[arg-type]
        )
