"""The operations of the Accounting API on one realm: create, read, update, void, delete.

Callers hold the books lock; every function here runs inside one logical transaction.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.clock import CompanyClock
from local.sandboxes.quickbooks.entities import ENTITY_TYPES
from local.sandboxes.quickbooks.entities.base import EntityType, WriteContext, require
from local.sandboxes.quickbooks.entities.invoices import release_invoice, settle_invoices
from local.sandboxes.quickbooks.model import Realm, Record

# Keys that steer a write rather than describe the object.
_CONTROL_KEYS = ("Id", "SyncToken", "sparse")
WRITE_OPERATIONS = ("create", "update", "void", "delete")


def render(realm: Realm, record: Record) -> dict[str, Any]:
    """The object as Intuit answers it, with derived values computed now."""
    out: dict[str, Any] = {
        "Id": record.id,
        "SyncToken": str(record.sync_token),
        "MetaData": {
            "CreateTime": CompanyClock.meta_time(record.created_at),
            "LastUpdatedTime": CompanyClock.meta_time(record.updated_at),
        },
        "domain": "QBO",
        "sparse": False,
    }
    out.update(copy.deepcopy(record.data))
    ENTITY_TYPES[record.entity].render_extra(realm, record, out)
    return out


def perform(ctx: WriteContext, etype: EntityType, operation: str, body: object) -> dict[str, Any]:
    """Run one write and answer the object as Intuit's response carries it."""
    handlers = {"create": create, "update": update, "void": void, "delete": delete}
    handler = handlers.get(operation)
    if handler is None:
        raise errors.unsupported_operation(operation)
    return handler(ctx, etype, body)


def _settle(ctx: WriteContext) -> None:
    """After any write: invoices in step with payments, and no stale derived values."""
    ctx.realm.cache.clear()
    settle_invoices(ctx.realm, ctx.now)
    ctx.realm.cache.clear()


def create(ctx: WriteContext, etype: EntityType, body: object) -> dict[str, Any]:
    data = _strip(schema.normalize(etype.shape, body))
    stored = etype.prepare(ctx, data, None)
    realm = ctx.realm
    record = Record(
        etype.name, realm.next_id(etype.id_sequence), copy.deepcopy(data), stored, ctx.now, ctx.now
    )
    record.origin = ctx.origin
    realm.add(record)
    if ctx.origin == "api":
        realm.api_creates[etype.name] += 1
    elif ctx.origin == "user":
        realm.user_creates[etype.name] += 1
    _settle(ctx)
    return render(realm, record)


def update(ctx: WriteContext, etype: EntityType, body: object) -> dict[str, Any]:
    data = schema.normalize(etype.shape, body)
    record = _current(ctx.realm, etype, data)
    if record.voided:
        raise errors.business("A voided transaction can't be changed.")
    changes = _strip(data)
    merged = {**record.input, **changes} if data.get("sparse") is True else changes
    stored = etype.prepare(ctx, merged, record)
    etype.before_change(ctx.realm, record, stored)
    record.input, record.data = copy.deepcopy(merged), stored
    record.touch(ctx.now)
    _settle(ctx)
    return render(ctx.realm, record)


def void(ctx: WriteContext, etype: EntityType, body: object) -> dict[str, Any]:
    if not etype.voidable:
        raise errors.unsupported_operation("void")
    record = _current(ctx.realm, etype, schema.normalize(etype.shape, body))
    if not record.voided:
        record.data = etype.void_data(ctx.realm, record)
        record.voided = True
        record.touch(ctx.now)
        if etype.name == "Invoice":
            release_invoice(ctx.realm, record.id, ctx.now)
    _settle(ctx)
    return render(ctx.realm, record)


def delete(ctx: WriteContext, etype: EntityType, body: object) -> dict[str, Any]:
    if not etype.deletable:
        raise errors.unsupported_operation("delete")
    record = _current(ctx.realm, etype, schema.normalize(etype.shape, body))
    remove(ctx, etype, record)
    return {"domain": "QBO", "status": "Deleted", "Id": record.id}


def remove(ctx: WriteContext, etype: EntityType, record: Record) -> None:
    etype.check_delete(ctx.realm, record)
    if etype.name == "Invoice":
        release_invoice(ctx.realm, record.id, ctx.now)
    ctx.realm.remove(record)
    _settle(ctx)


def read(realm: Realm, etype: EntityType, record_id: str) -> dict[str, Any]:
    return render(realm, realm.require(etype.name, record_id))


def user_edit(
    ctx: WriteContext, etype: EntityType, record: Record, changes: dict[str, Any]
) -> dict[str, Any]:
    """A change made by the company's user in QuickBooks: a sparse update at the current SyncToken."""
    body = {**changes, "Id": record.id, "SyncToken": str(record.sync_token), "sparse": True}
    return update(ctx, etype, body)


def _current(realm: Realm, etype: EntityType, data: dict[str, Any]) -> Record:
    """The record a write names, at the SyncToken the caller read (5010 when someone wrote since)."""
    record = realm.require(etype.name, require(data, "Id"))
    token = data.get("SyncToken")
    if token is None:
        raise errors.required_missing("SyncToken")
    if str(token) != str(record.sync_token):
        raise errors.stale_object()
    return record


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in _CONTROL_KEYS}


def context(realm: Realm, clock: CompanyClock, origin: str = "api") -> WriteContext:
    now: datetime = clock.now()
    return WriteContext(realm=realm, now=now, today=now.date(), origin=origin)
