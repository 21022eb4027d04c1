"""What one QuickBooks company (realm) holds: records, id sequences and remembered answers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from local.sandboxes.quickbooks import errors

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Record:
    """One entity. ``input`` is what its author set (the base of sparse updates); ``data`` adds
    what the server computed when it was written."""

    entity: str
    id: str
    input: dict[str, Any]
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    sync_token: int = 0
    voided: bool = False
    origin: str = "api"  # api | user | system

    def touch(self, now: datetime) -> None:
        self.sync_token += 1
        self.updated_at = now


@dataclass
class StoredAnswer:
    """An answer kept under its requestid so a retry gets it back instead of a second write."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class Realm:
    id: str
    created_at: datetime
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    deleted: dict[str, dict[str, Record]] = field(default_factory=dict)
    sequences: Counter[str] = field(default_factory=Counter)
    api_creates: Counter[str] = field(default_factory=Counter)
    user_creates: Counter[str] = field(default_factory=Counter)
    answers: dict[str, StoredAnswer] = field(default_factory=dict)
    next_doc_number: int = 1001
    # Preferences.CurrencyPrefs: set by the company's user (the control API), read by the API.
    home_currency: str = "USD"
    multicurrency: bool = False
    preferences_version: int = 0
    preferences_changed_at: datetime | None = None
    address_ids: int = 0
    # Derived values shared by the renders of one read (balances); emptied by every write.
    cache: dict[str, Any] = field(default_factory=dict)

    def next_id(self, sequence: str) -> str:
        self.sequences[sequence] += 1
        return str(self.sequences[sequence])

    def next_address_id(self) -> str:
        self.address_ids += 1
        return str(self.address_ids)

    def get(self, entity: str, record_id: str) -> Record | None:
        return self.records.get(entity, {}).get(str(record_id))

    def require(self, entity: str, record_id: object) -> Record:
        record = self.get(entity, str(record_id))
        if record is None:
            raise errors.not_found()
        return record

    def all(self, entity: str) -> list[Record]:
        return sorted(self.records.get(entity, {}).values(), key=lambda r: _id_key(r.id))

    def add(self, record: Record) -> None:
        self.records.setdefault(record.entity, {})[record.id] = record

    def remove(self, record: Record) -> None:
        self.records.get(record.entity, {}).pop(record.id, None)
        self.deleted.setdefault(record.entity, {})[record.id] = record

    def find_by(self, entity: str, field_name: str, value: str) -> Record | None:
        wanted = value.strip().lower()
        for record in self.all(entity):
            current = record.data.get(field_name)
            if isinstance(current, str) and current.strip().lower() == wanted:
                return record
        return None


def _id_key(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


def ref_value(ref: object) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        return str(value) if value is not None else None
    return None


def resolve_ref(
    realm: Realm, entity: str, ref: object, element: str, *, require_active: bool = True
) -> Record:
    """The record a ReferenceType points to; a missing or inactive target is Intuit's 2500."""
    target_id = ref_value(ref)
    if not target_id:
        raise errors.required_missing(element)
    record = realm.get(entity, target_id)
    if record is None:
        raise errors.invalid_reference(element)
    if require_active and record.data.get("Active") is False:
        raise errors.invalid_reference(element, inactive=True)
    return record


def named_ref(record: Record, name_field: str) -> dict[str, str]:
    """A ReferenceType as Intuit answers it: the id plus the target's current name."""
    return {"value": record.id, "name": str(record.data.get(name_field, ""))}
