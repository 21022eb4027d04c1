"""Customer (IntuitNamesTypes.xsd): unique, colon-free DisplayName; sub-customers via ParentRef."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.currency import customer_currency
from local.sandboxes.quickbooks.derived import cached, customer_balance
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    check_unique_name,
)
from local.sandboxes.quickbooks.model import Realm, Record, named_ref, ref_value, resolve_ref

_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
# Intuit's documented maximum lengths for the name fields.
_LENGTHS = {
    "Title": 16,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Suffix": 16,
    "CompanyName": 100,
    "PrintOnCheckName": 110,
    "Notes": 2000,
    "AcctNum": 100,
    "ResaleNum": 16,
}
_MAX_LEVEL = 4  # QuickBooks allows five levels: a customer and four levels of sub-customers


class CustomerType(EntityType):
    name: ClassVar[str] = "Customer"
    shape = schema.CUSTOMER
    has_active = True
    queryable: ClassVar[dict[str, Q]] = {
        "Id": Q.ID,
        "DisplayName": Q.STR,
        "FullyQualifiedName": Q.STR,
        "GivenName": Q.STR,
        "MiddleName": Q.STR,
        "FamilyName": Q.STR,
        "CompanyName": Q.STR,
        "PrimaryEmailAddr": Q.EMAIL,
        "Active": Q.BOOL,
        **META_QUERY,
    }

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        for element, maximum in _LENGTHS.items():
            check_text(data, element, maximum)
        display_name = _display_name(data)
        check_text({"DisplayName": display_name}, "DisplayName", 500, colon_ok=False)
        check_unique_name(ctx.realm, "Customer", "DisplayName", display_name, existing, "customer")
        stored = {
            **data,
            "DisplayName": display_name,
            "PrintOnCheckName": data.get("PrintOnCheckName", display_name),
            "Active": data.get("Active", True),
            "BillWithParent": data.get("BillWithParent", False),
            "PreferredDeliveryMethod": data.get("PreferredDeliveryMethod", "Print"),
            "CurrencyRef": customer_currency(ctx.realm, data, existing),
            "IsProject": False,
        }
        _place_in_hierarchy(ctx.realm, stored, existing)
        _number_addresses(ctx.realm, stored, existing)
        return stored

    def render_extra(self, realm: Realm, record: Record, out: dict[str, Any]) -> None:
        out["Balance"] = customer_balance(realm, record.id)
        out["BalanceWithJobs"] = _balance_with_jobs(realm, record.id)


def _display_name(data: dict[str, Any]) -> str:
    """DisplayName, or one built from the name parts as QuickBooks does when it is omitted."""
    given = data.get("DisplayName")
    if given is not None and str(given).strip():
        return str(given)
    parts = [str(data[part]) for part in _NAME_PARTS if data.get(part)]
    if not parts:
        raise errors.required_missing("DisplayName")
    return " ".join(parts)


def _place_in_hierarchy(realm: Realm, stored: dict[str, Any], existing: Record | None) -> None:
    parent_ref = stored.get("ParentRef")
    if parent_ref is None:
        stored.update(Job=False, BillWithParent=False, FullyQualifiedName=stored["DisplayName"])
        return
    parent = resolve_ref(realm, "Customer", parent_ref, "ParentRef")
    if existing is not None and parent.id == existing.id:
        raise errors.invalid_reference("ParentRef")
    level = int(parent.data.get("Level", 0)) + 1
    if level > _MAX_LEVEL:
        raise errors.business("Sub-customers can only be nested four levels deep.", element="ParentRef")
    stored.update(
        ParentRef=named_ref(parent, "DisplayName"),
        Job=True,
        Level=level,
        FullyQualifiedName=f"{parent.data['FullyQualifiedName']}:{stored['DisplayName']}",
    )


def _number_addresses(realm: Realm, stored: dict[str, Any], existing: Record | None) -> None:
    """QuickBooks gives each stored address an Id and keeps it across updates."""
    for key in ("BillAddr", "ShipAddr"):
        address = stored.get(key)
        if not isinstance(address, dict):
            continue
        previous = existing.data.get(key) if existing is not None else None
        kept = previous.get("Id") if isinstance(previous, dict) else None
        stored[key] = {"Id": kept or realm.next_address_id(), **address}


def _balance_with_jobs(realm: Realm, customer_id: str) -> Decimal:
    children: dict[str, list[str]] = cached(realm, "customer_children", _children_by_parent)
    return customer_balance(realm, customer_id) + sum(
        (_balance_with_jobs(realm, child) for child in children.get(customer_id, [])), Decimal(0)
    )


def _children_by_parent(realm: Realm) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for customer in realm.all("Customer"):
        parent = ref_value(customer.data.get("ParentRef"))
        if parent:
            children.setdefault(parent, []).append(customer.id)
    return children
