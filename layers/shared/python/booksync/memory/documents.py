"""A stored invoice or estimate as the billing memory remembers it (``BillingRecord``).

The document's own lines, priced as it was sent, named by its items (an item missing from booksync
keeps its id as its name) and costed where a cost is known: the estimate line's own ``unit_cost``,
else the item's. The customer's display name is what is searched by. The status is the stored
row's (a deleted invoice keeps its last status in its body), lower case.

A line's description and item name are kept to ``LINE_TEXT_MAX_BYTES`` of UTF-8 each (cut at a
character, marked "…"): 250 lines of 4,000-character descriptions would make a record over
DynamoDB's 400 KB item limit, whose write would fail on every retry. A name that long (over 500
bytes: only names of non-Latin letters, at most 500 characters) is kept cut, and found by it.
"""

from __future__ import annotations

from collections.abc import Mapping

from booksync.documents import Customer, Estimate, EstimateLine, Invoice, InvoiceLine, Item
from booksync.memory.records import BillingRecord, RecordKind, RecordLine

LINE_TEXT_MAX_BYTES = 500


def _cut(text: str) -> str:
    """``text`` within ``LINE_TEXT_MAX_BYTES`` of UTF-8: as it is, or cut at a character with "…"."""
    data = text.encode()
    if len(data) <= LINE_TEXT_MAX_BYTES:
        return text
    kept = data[: LINE_TEXT_MAX_BYTES - len("…".encode())].decode(errors="ignore")
    return kept.rstrip() + "…"


def _line(doc: Invoice | Estimate, line: InvoiceLine, item: Item | None) -> RecordLine:
    own_cost = line.unit_cost if isinstance(line, EstimateLine) else None
    return RecordLine(
        item_id=line.item_id,
        item_name=_cut(item.name if item is not None else line.item_id),
        description=_cut(line.description or (item.description if item is not None else None) or ""),
        quantity=line.quantity,
        unit_price=line.unit_price,
        unit_cost=own_cost if own_cost is not None else (item.unit_cost if item is not None else None),
        amount=doc.line_amount(line),
    )


def billing_record(
    company_id: str,
    doc: Invoice | Estimate,
    status: str,
    customer: Customer | None,
    items: Mapping[str, Item],
) -> BillingRecord:
    """``doc`` of ``company_id`` as a record, at ``status`` (the stored row's); ``items`` by id."""
    return BillingRecord(
        company_id=company_id,
        kind=RecordKind.ESTIMATE if isinstance(doc, Estimate) else RecordKind.INVOICE,
        doc_id=doc.id,
        number=doc.number,
        status=status.lower(),
        customer_id=doc.customer_id,
        customer_name=customer.display_name if customer is not None else None,
        date=doc.issue_date,
        total=doc.total,
        currency=doc.currency,
        lines=tuple(_line(doc, line, items.get(line.item_id)) for line in doc.lines),
        memo=doc.memo,
    )
