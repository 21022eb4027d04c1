"""QuickBooks Online webhook payloads, both formats, normalised to one event shape.

Intuit sends either the legacy ``{"eventNotifications": [...]}`` object (one realm per
notification) or, since the CloudEvents migration, a JSON array of CloudEvents
(``type`` = ``qbo.<entity>.<operation>.v1``, ``intuitaccountid`` = realm). One delivery may
carry several realms. Parsing is strict about what we act on (realm, entity, id, operation) and
lenient about everything else, so a field Intuit adds later does not make us refuse a delivery.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booksync.keys import OutsideKey
from booksync.webhooks.body import load_json

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
_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}


class MalformedPayload(ValueError):
    """The body is not a QuickBooks webhook payload; the message says what is wrong."""


@dataclass(frozen=True)
class ChangeEvent:
    """One entity change in one realm, whichever format it arrived in."""

    event_id: str
    realm_id: str
    entity: str
    entity_id: str
    operation: str  # Create | Update | Delete | Merge | Void | Emailed | (what Intuit adds)
    occurred_at: str | None = None
    # Merge: the id that was merged away (the event's entity_id is the one that survives).
    merged_away_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
        raise MalformedPayload(_describe(exc)) from None
    raise MalformedPayload(
        "expected a JSON array of CloudEvents or an object with eventNotifications "
        f"(got a JSON {type(document).__name__})"
    )


def _from_legacy(payload: _Legacy) -> list[ChangeEvent]:
    events = []
    for note in payload.eventNotifications:
        for entity in note.dataChangeEvent.entities:
            merged_away = entity.deletedId or _text((entity.model_extra or {}).get("deletedid"))
            events.append(
                ChangeEvent(
                    # The legacy format has no event id: this tuple is what identifies a change,
                    # and Intuit's retries repeat it byte for byte.
                    event_id=legacy_event_id(
                        note.realmId, entity.name, entity.id, entity.operation, entity.lastUpdated
                    ),
                    realm_id=note.realmId,
                    entity=_ENTITY_NAMES.get(entity.name.lower(), entity.name),
                    entity_id=entity.id,
                    operation=entity.operation,
                    occurred_at=entity.lastUpdated,
                    merged_away_id=merged_away,
                )
            )
    return events


def _from_cloud_event(event: _CloudEvent) -> ChangeEvent:
    _, entity, operation, _ = event.type.split(".")
    data = event.data or {}
    return ChangeEvent(
        event_id=f"ce:{event.id}",
        realm_id=event.intuitaccountid,
        entity=_ENTITY_NAMES.get(entity.lower(), entity.capitalize()),
        entity_id=event.intuitentityid,
        operation=_OPERATIONS.get(operation.lower(), operation.capitalize()),
        occurred_at=event.time,
        merged_away_id=_text(data.get("deletedid") or data.get("deletedId")),
    )


def legacy_event_id(realm: str, entity: str, entity_id: str, operation: str, updated: str | None) -> str:
    raw = "\x1f".join((realm, entity, entity_id, operation, updated or ""))
    return "legacy:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'is invalid')}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
