"""The entity kinds the sandbox serves, by Intuit name and by URL path segment."""

from __future__ import annotations

from local.sandboxes.quickbooks.entities.base import EntityType
from local.sandboxes.quickbooks.entities.customers import CustomerType
from local.sandboxes.quickbooks.entities.deposits import DepositType
from local.sandboxes.quickbooks.entities.invoices import InvoiceType
from local.sandboxes.quickbooks.entities.items import ItemType
from local.sandboxes.quickbooks.entities.lists import AccountType, PaymentMethodType
from local.sandboxes.quickbooks.entities.payments import PaymentType
from local.sandboxes.quickbooks.entities.refunds import RefundReceiptType

ENTITY_TYPES: dict[str, EntityType] = {
    etype.name: etype
    for etype in (
        CustomerType(),
        ItemType(),
        InvoiceType(),
        PaymentType(),
        DepositType(),
        AccountType(),
        PaymentMethodType(),
        RefundReceiptType(),
    )
}
BY_PATH: dict[str, EntityType] = {name.lower(): etype for name, etype in ENTITY_TYPES.items()}


def entity_type(name: str) -> EntityType | None:
    """Look an entity up by its Intuit name, case-insensitively (queries and URLs both do)."""
    return BY_PATH.get(name.lower())
