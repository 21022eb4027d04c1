"""Item (Finance.xsd): products and services, with the account references each type needs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    check_unique_name,
    require,
)
from local.sandboxes.quickbooks.model import Realm, Record, named_ref, resolve_ref

CREATABLE_TYPES = {"Service", "NonInventory", "Inventory", "Category"}
_ACCOUNT_REFS = ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef")


class ItemType(EntityType):
    name: ClassVar[str] = "Item"
    shape = schema.ITEM
    has_active = True
    queryable: ClassVar[dict[str, Q]] = {
        "Id": Q.ID,
        "Name": Q.STR,
        "FullyQualifiedName": Q.STR,
        "Sku": Q.STR,
        "Type": Q.STR,
        "Active": Q.BOOL,
        **META_QUERY,
    }

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        name = str(require(data, "Name"))
        check_text(data, "Name", 100, colon_ok=False)
        check_text(data, "Sku", 100)
        check_text(data, "Description", 4000)
        check_text(data, "PurchaseDesc", 1000)
        item_type = str(require(data, "Type"))
        if item_type not in CREATABLE_TYPES:
            raise errors.unsupported_property("Type")
        check_unique_name(ctx.realm, "Item", "Name", name, existing, "product or service")
        if item_type == "Category":
            stored: dict[str, Any] = {
                key: data[key] for key in ("Name", "Type", "Active", "ParentRef") if key in data
            }
            stored.update(Active=data.get("Active", True))
        else:
            stored = _priced_item(ctx.realm, data, item_type)
        _place_in_hierarchy(ctx.realm, stored, existing)
        return stored


def _priced_item(realm: Realm, data: dict[str, Any], item_type: str) -> dict[str, Any]:
    require(data, "IncomeAccountRef")
    if item_type == "Inventory":
        _check_inventory(data)
    stored = {
        **data,
        "Active": data.get("Active", True),
        "Taxable": data.get("Taxable", False),
        "UnitPrice": data.get("UnitPrice", Decimal(0)),
        "PurchaseCost": data.get("PurchaseCost", Decimal(0)),
        "TrackQtyOnHand": data.get("TrackQtyOnHand", False),
    }
    for element in _ACCOUNT_REFS:
        if element in data:
            stored[element] = named_ref(resolve_ref(realm, "Account", data[element], element), "Name")
    return stored


def _check_inventory(data: dict[str, Any]) -> None:
    for element in ("ExpenseAccountRef", "AssetAccountRef", "QtyOnHand", "InvStartDate"):
        require(data, element)
    if data.get("TrackQtyOnHand") is not True:
        raise errors.required_missing("TrackQtyOnHand")


def _place_in_hierarchy(realm: Realm, stored: dict[str, Any], existing: Record | None) -> None:
    """Sub-items sit under a Category; FullyQualifiedName joins the names with colons."""
    parent_ref = stored.get("ParentRef")
    if parent_ref is None:
        stored.update(FullyQualifiedName=stored["Name"])
        stored.pop("SubItem", None)
        return
    parent = resolve_ref(realm, "Item", parent_ref, "ParentRef")
    if parent.data.get("Type") != "Category" or (existing is not None and parent.id == existing.id):
        raise errors.invalid_reference("ParentRef")
    stored.update(
        ParentRef=named_ref(parent, "Name"),
        SubItem=True,
        Level=int(parent.data.get("Level", 0)) + 1,
        FullyQualifiedName=f"{parent.data['FullyQualifiedName']}:{stored['Name']}",
    )
