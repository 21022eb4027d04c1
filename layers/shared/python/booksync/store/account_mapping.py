"""Account mapping of items: the income account each item posts to, per provider.

The mapping lives on the item's document row (``income_account_<provider>``) and is part of
its content hash: what is pushed for an item is its body *and* its account, so changing the
mapping makes the item Out of Date exactly as an edit does, and the next sync sends the new
IncomeAccountRef. A sync that was already under way with the old account stores the old hash
as pushed, so the item stays Out of Date until the new account has gone out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from pynamodb.exceptions import UpdateError

from booksync.documents import DocumentKind, parse_stored
from booksync.store.models import DocumentModel

WRITE_ATTEMPTS = 5


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def mapped_hash(body_hash: str, row: DocumentModel | None) -> str:
    """The content hash of a document whose body hashes to ``body_hash``, with ``row``'s mapping."""
    if row is None:
        return body_hash
    # By provider name: the order of the providers stored before (QuickBooks alone) is kept.
    chosen = [f"{p}={account}" for p, account in sorted(row.income_accounts_chosen().items())]
    if not chosen:
        return body_hash
    return hashlib.sha256("|".join([body_hash, *chosen]).encode()).hexdigest()


def body_hash(row: DocumentModel) -> str:
    return str(parse_stored(DocumentKind(row.kind), row.body).content_hash())


class AccountMappingStore:
    """Reads and writes the per-item mapping (the business's items only, one company at a time)."""

    def items(self, company_id: str) -> Iterator[DocumentModel]:
        return iter(
            DocumentModel.query(
                company_id,
                DocumentModel.doc_key.startswith(f"{DocumentKind.ITEM.value}#"),
                consistent_read=True,
            )
        )

    def set_item_account(self, row: DocumentModel, provider: str, account_id: str | None) -> bool:
        """Map (or unmap, with None) one item; False when nothing changed.

        Conditional on the content hash read, so a PUT of the item landing meanwhile is never
        overwritten with a hash of the old body: the write is redone on the fresh row.
        """
        for _ in range(WRITE_ATTEMPTS):
            if row.income_account(provider) == account_id:
                return False
            read_hash = row.content_hash
            row.choose_income_account(provider, account_id)
            new_hash = mapped_hash(body_hash(row), row)
            # One provider's choice, in the attribute it is kept in: the whole ``income_accounts``
            # map is safe to write, as every choice in it is part of the hash the write checks.
            attribute, value = DocumentModel.income_account_attribute(row, provider)
            try:
                row.update(
                    actions=[
                        attribute.set(value) if value else attribute.remove(),
                        DocumentModel.content_hash.set(new_hash),
                    ],
                    condition=DocumentModel.content_hash == read_hash,
                )
                return True
            except UpdateError as exc:
                if not _conditional_failed(exc):
                    raise
                row.refresh(consistent_read=True)
        raise RuntimeError(f"item {row.doc_id} kept changing while its account was mapped")
