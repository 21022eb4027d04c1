"""QuickBooks Online webhooks: the payloads, both formats, normalised to one event shape, and
the receiver of POST /webhooks/quickbooks (``QuickBooksWebhookReceiver``).

Intuit wants a 200 within 3 seconds and holds back later events until it gets one: the receiver
verifies ``intuit-signature``, queues the raw body and answers (``receiver.py``).

Intuit sends either the legacy ``{"eventNotifications": [...]}`` object (one realm per
notification) or, since the CloudEvents migration, a JSON array of CloudEvents
(``type`` = ``qbo.<entity>.<operation>.v1``, ``intuitaccountid`` = realm). One delivery may
carry several realms. Parsing is strict about what we act on (realm, entity, id, operation) and
lenient about everything else, so a field Intuit adds later does not make us refuse a delivery.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booksync.documents import DocumentKind
from booksync.keys import OutsideKey
from booksync.webhooks.body import describe_invalid, load_json
from booksync.webhooks.port import ChangeEvent, ChangeFeed, WebhookOperation
from booksync.webhooks.receiver import ChangesReceiver, ProviderTexts

logger = logging.getLogger(__name__)

# CloudEvents spell entities and operations in lower case; the legacy format and our records
# use Intuit's entity names and operation verbs.
_ENTITY_NAMES = {
    name.lower(): name
    for name in (
        "Account", "Bill", "BillPayment", "Budget", "Class", "CreditMemo", "Currency", "Customer",
        "Department", "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalCode",
        "JournalEntry", "Payment", "PaymentMethod", "Preferences", "Purchase", "PurchaseOrder",
        "RefundReceipt", "SalesReceipt", "TaxAgency", "Term", "TimeActivity", "Transfer",
        "Vendor", "VendorCredit",
    )
}  # fmt: skip
# Intuit's verbs, in both formats' spellings (legacy ``Update``, CloudEvents ``updated``).
_OPERATIONS = {
    spelling: operation
    for operation, spellings in (
        (WebhookOperation.CREATE, ("create", "created")),
        (WebhookOperation.UPDATE, ("update", "updated")),
        (WebhookOperation.DELETE, ("delete", "deleted")),
        (WebhookOperation.MERGE, ("merge", "merged")),
        (WebhookOperation.VOID, ("void", "voided")),
        (WebhookOperation.EMAILED, ("emailed",)),
    )
    for spelling in spellings
}


class MalformedPayload(ValueError):
    """The body is not a QuickBooks webhook payload; the message says what is wrong."""


class _Entity(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: OutsideKey
    id: OutsideKey
    operation: OutsideKey
    lastUpdated: str | None = None
    deletedId: OutsideKey | None = Field(default=None, alias="deletedId")


class _DataChange(BaseModel):
    model_config = ConfigDict(extra="allow")

    entities: list[_Entity]


class _Notification(BaseModel):
    model_config = ConfigDict(extra="allow")

    realmId: OutsideKey
    dataChangeEvent: _DataChange


class _Legacy(BaseModel):
    model_config = ConfigDict(extra="allow")

    eventNotifications: list[_Notification]


class _CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: str = Field(min_length=1)
    id: OutsideKey
    type: str = Field(pattern=r"^qbo\.[A-Za-z]{1,60}\.[A-Za-z]{1,60}\.v\d{1,6}$")
    intuitaccountid: OutsideKey
    intuitentityid: OutsideKey
    time: str | None = None
    data: dict[str, Any] | None = None


def parse_payload(body: bytes | str) -> list[ChangeEvent]:
    """Every change in a delivery, in order; raises MalformedPayload saying what is wrong."""
    try:
        document = load_json(body)
    except ValueError as exc:
        raise MalformedPayload(str(exc)) from None
    try:
        if isinstance(document, list):
            return [_from_cloud_event(_CloudEvent.model_validate(item)) for item in document]
        if isinstance(document, dict) and "eventNotifications" in document:
            return _from_legacy(_Legacy.model_validate(document))
    except ValidationError as exc:
        raise MalformedPayload(describe_invalid(exc)) from None
    raise MalformedPayload(
        "expected a JSON array of CloudEvents or an object with eventNotifications "
        f"(got a JSON {type(document).__name__})"
    )


def _from_legacy(payload: _Legacy) -> list[ChangeEvent]:
    events = []
    for note in payload.eventNotifications:
        for entity in note.dataChangeEvent.entities:
            merged_away = entity.deletedId or _text((entity.model_extra or {}).get("deletedid"))
            operation, word = WebhookOperation.named(entity.operation, _OPERATIONS)
            events.append(
                ChangeEvent(
                    # The legacy format has no event id: this tuple is what identifies a change,
                    # and Intuit's retries repeat it byte for byte.
                    event_id=legacy_event_id(
                        note.realmId, entity.name, entity.id, entity.operation, entity.lastUpdated
                    ),
                    account_id=note.realmId,
                    entity=_ENTITY_NAMES.get(entity.name.lower(), entity.name),
                    entity_id=entity.id,
                    operation=operation,
                    occurred_at=entity.lastUpdated,
                    merged_away_id=merged_away,
                    provider_operation=word,
                )
            )
    return events


def _from_cloud_event(event: _CloudEvent) -> ChangeEvent:
    _, entity, operation, _ = event.type.split(".")
    data = event.data or {}
    verb, word = WebhookOperation.named(operation, _OPERATIONS)
    return ChangeEvent(
        event_id=f"ce:{event.id}",
        account_id=event.intuitaccountid,
        entity=_ENTITY_NAMES.get(entity.lower(), entity.capitalize()),
        entity_id=event.intuitentityid,
        operation=verb,
        occurred_at=event.time,
        merged_away_id=_text(data.get("deletedid") or data.get("deletedId")),
        provider_operation=word,
    )


def read_queued(item: Mapping[str, Any]) -> ChangeEvent:
    """An event queued alone (a delivery too big for one message); one queued before booksync
    had its own operations carries Intuit's verb, read the same way."""
    return ChangeEvent.from_json(item, _OPERATIONS)


# The QuickBooks objects that are booksync's documents.
KINDS: Mapping[str, DocumentKind] = {
    "Customer": DocumentKind.CUSTOMER,
    "Item": DocumentKind.ITEM,
    "Invoice": DocumentKind.INVOICE,
    "Payment": DocumentKind.PAYMENT,
    "RefundReceipt": DocumentKind.REFUND,
}
# Intuit's events say what happened and when (CloudEvents name the entity, id, verb and time):
# enough to act on a link without reading the object, so they are not fetched (not thin).
FEED = ChangeFeed(parse=parse_payload, read_queued=read_queued, kinds=KINDS)


def legacy_event_id(realm: str, entity: str, entity_id: str, operation: str, updated: str | None) -> str:
    raw = "\x1f".join((realm, entity, entity_id, operation, updated or ""))
    return "legacy:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


_QUICKBOOKS = ProviderTexts(
    provider="quickbooks",
    sender="Intuit",
    secret_log="verifier token",
    secret_detail="verifier token",
    not_configured_title="QuickBooks webhooks are not configured",
    not_configured_fix=(
        "Store the Verifier Token from your Intuit app's Webhooks page in the SSM parameter named "
        "by QBO_WEBHOOK_VERIFIER_PARAM (template parameter QuickBooksWebhookVerifierParameterName)."
    ),
    signature_header="intuit-signature",
    bad_signature_fix="Check that the Verifier Token stored for booksync is the one of this Intuit app.",
    malformed_title="Not a QuickBooks webhook payload",
    malformed_fix=(
        "booksync kept the body; it expects Intuit's eventNotifications object or a CloudEvents array."
    ),
)


class QuickBooksWebhookReceiver(ChangesReceiver):
    texts = _QUICKBOOKS
    malformed = MalformedPayload
    log = logger

    def _parse(self, body: bytes) -> list[ChangeEvent]:
        return parse_payload(body)
