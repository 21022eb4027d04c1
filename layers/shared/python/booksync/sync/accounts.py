"""Which income account an item posts to: the one resolution the invoice engine and the catalog
sync share.

The item's own mapping (Account mapping) wins; else the connection's default income account;
an item with neither cannot be created or updated in the books, and the refusal names it. A
provider that does not declare ``INCOME_ACCOUNT_PER_ITEM`` keeps no account on an item (its books
post sales as they are set up to): booksync sends none and asks for none.
"""

from __future__ import annotations

from collections.abc import Callable

from booksync.errors import Rejected
from booksync.providers.declaration import AnyDeclaration, Capability
from booksync.store.models import DocumentModel


class NoIncomeAccount(Rejected):
    """An item with no mapped account and no default: a person must choose one."""

    code = "no_income_account"


def item_income_account(
    row: DocumentModel, item_name: str, declared: AnyDeclaration, default: Callable[[], str | None]
) -> str | None:
    """The item's mapped account, else ``default()`` (called only when needed); raises
    ``NoIncomeAccount`` naming the item when there is neither. None where the provider keeps no
    income account per item (``Capability.INCOME_ACCOUNT_PER_ITEM`` not declared)."""
    if not declared.supports(Capability.INCOME_ACCOUNT_PER_ITEM):
        return None
    provider = declared.name
    mapped = row.income_account(provider)
    if mapped:
        return mapped
    fallback = default()
    if fallback:
        return fallback
    raise NoIncomeAccount(
        f"Item '{item_name.strip()}' has no income account in {declared.label}. "
        "Map it in Account mapping, or set a default income account.",
        provider=provider,
        fix=(
            f"Choose its account with PUT /integrations/{provider}/account-mapping/items/{row.doc_id} "
            f"(or a default with PATCH /integrations/{provider}/settings "
            '{"default_income_account_id": ...}), then sync the invoice again.'
        ),
    )
