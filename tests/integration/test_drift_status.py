"""Drift in the status API: what the QuickBooks webhook consumer records (edits and voids made in
QuickBooks) shows on the document's sync state and, counted, on the integration detail."""

from __future__ import annotations

from types import SimpleNamespace

from booksync.documents import DocumentKind
from booksync.store.connections import ConnectionRepository
from booksync.store.links import LinkRepository
from booksync.store.models import ConnectionModel
from booksync.store.runs import RunRepository
from booksync.store.webhook_events import WebhookEventRepository
from booksync.webhooks.events import ChangeEventProcessor
from booksync.webhooks.port import ChangeEvent, WebhookOperation
from booksync.webhooks.quickbooks import FEED

from tests import builders
from tests.apigw import admin, member
from tests.integration.test_account_mapping import COMPANY, job, world

__all__ = ["world"]


def quickbooks_says(operation: WebhookOperation, entity: str, remote_id: str, event_id: str) -> str:
    """The webhook consumer acts on one event for the company's realm (r1)."""
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None
    if connection.account_key is None:  # the fixture's row was saved without the realm index key
        connection.update(actions=[ConnectionModel.account_key.set("quickbooks#r1")])
    processor = ChangeEventProcessor(
        provider="quickbooks",
        label="QuickBooks",
        feed=FEED,
        events=WebhookEventRepository(),
        connections=ConnectionRepository(),
        links=LinkRepository("quickbooks"),
        runs=RunRepository(),
    )
    event = ChangeEvent(
        event_id=event_id,
        account_id="r1",
        entity=entity,
        entity_id=remote_id,
        operation=operation,
        occurred_at="2099-01-01T10:00:00Z",  # after booksync's push: not its own write
    )
    return processor.handle(event)


def test_drift_shows_in_plain_words_and_a_push_clears_it(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    report = world.engine().run(job())
    status, state, _ = world.call("GET", "/invoices/inv-1/sync-status", claims=member())
    assert status == 200 and state["drift"] is None
    _, detail, _ = world.call("GET", "/integrations/quickbooks", claims=member())
    assert detail["drift"]["count"] == 0

    assert quickbooks_says(WebhookOperation.UPDATE, "Invoice", report.remote_invoice_id, "e-1") == "drift"
    item_remote = world.docs.get(COMPANY, DocumentKind.ITEM, "i-1").link("quickbooks").remote_id
    assert quickbooks_says(WebhookOperation.UPDATE, "Item", item_remote, "e-2") == "drift"

    _, state, _ = world.call("GET", "/invoices/inv-1/sync-status", claims=member())
    assert state["badge"] == "Synced", "booksync's version is still what it pushed"
    assert state["drift"]["change"] == "Update"
    assert state["drift"]["message"].startswith(
        "Changed in QuickBooks (2099-01-01T10:00:00Z) after booksync sent it."
    )
    assert "does not copy changes back" in state["drift"]["message"] and state["drift"]["fix"]
    _, detail, _ = world.call("GET", "/integrations/quickbooks", claims=admin())
    assert detail["drift"]["count"] == 2 and detail["drift"]["by_kind"] == {"invoice": 1, "item": 1}
    assert detail["drift"]["message"].startswith("2 documents were changed or voided in QuickBooks")

    # The app edits the invoice; booksync pushes its version over the drifted one.
    world.service.put_invoice(COMPANY, builders.invoice(memo="Gate code 1234"))
    world.engine().run(job())
    _, state, _ = world.call("GET", "/invoices/inv-1/sync-status", claims=member())
    assert state["drift"] is None
    _, detail, _ = world.call("GET", "/integrations/quickbooks", claims=admin())
    assert detail["drift"]["count"] == 1 and detail["drift"]["by_kind"] == {"item": 1}


def test_a_void_made_in_quickbooks_says_so(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    report = world.engine().run(job())
    assert quickbooks_says(WebhookOperation.VOID, "Invoice", report.remote_invoice_id, "e-3") == "drift"
    _, state, _ = world.call("GET", "/invoices/inv-1", claims=member())
    assert state["sync"]["drift"]["change"] == "Void"
    assert state["sync"]["drift"]["message"].startswith("Voided in QuickBooks")
    assert "Void it in your app" in state["sync"]["drift"]["fix"]
    _, detail, _ = world.call("GET", "/integrations/quickbooks", claims=admin())
    assert detail["drift"]["message"].startswith("1 document was changed or voided in QuickBooks")
