"""Which income account an item posts to: the one resolution the invoice engine and the catalog
sync share.

The item's own mapping (Account mapping) wins; else the connection's default income account;
an item with neither cannot be created or updated in the books, and the refusal names it.
"""

from __future__ import annotations

from collections.abc import Callable

from booksync.errors import Rejected
from booksync.providers.profile import provider_label
from booksync.store.models import DocumentModel


class NoIncomeAccount(Rejected):
    """An item with no mapped account and no default: a person must choose one."""

    code = "no_income_account"


def item_income_account(
    row: DocumentModel, item_name: str, provider: str, default: Callable[[], str | None]
) -> str:
    """The item's mapped account, else ``default()`` (called only when needed); raises
    ``NoIncomeAccount`` naming the item when there is neither."""
    mapped = row.income_account(provider)
    if mapped:
        return mapped
    fallback = default()
    if fallback:
        return fallback
    label = provider_label(provider)
    raise NoIncomeAccount(
        f"Item '{item_name.strip()}' has no income account in {label}. "
        "Map it in Account mapping, or set a default income account.",
        provider=provider,
        fix=(
            f"Choose its account with PUT /integrations/{provider}/account-mapping/items/{row.doc_id} "
            f"(or a default with PATCH /integrations/{provider}/settings "
            '{"default_income_account_id": ...}), then sync the invoice again.'
        ),
    )
