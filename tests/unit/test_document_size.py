"""Every document booksync accepts fits DynamoDB's 400 KB item limit with all booksync adds to it
later (issue 10): sized here directly, since moto does not hold writes to the limit as DynamoDB
does (it accepts a transaction's put of any size, and counts a map's bytes without its overhead)."""

from __future__ import annotations

import json
from decimal import Decimal

from booksync.store.documents import (
    BODY_LIMIT,
    ITEM_LIMIT,
    LINK_TEXT_LIMIT,
    MAX_PAYMENTS_PER_INVOICE,
    MAX_REFUNDS_PER_PAYMENT,
    attribute_size,
    bounded,
    item_size,
)
from booksync.store.models import DocumentModel, LinkMap
from pynamodb.attributes import UnicodeAttribute


def longest_id(n: int) -> str:
    return f"{n:06d}".ljust(100, "x")  # DocId: at most 100 characters


def fullest_link(texts: dict[str, str]) -> LinkMap:
    return bounded(LinkMap(generation=10**12, pushes=10**12, synced_at=1.0e10, **texts))


def test_dynamodb_sizes_follow_the_published_rules() -> None:
    assert attribute_size({"S": "é"}) == 2
    assert attribute_size({"N": "12345"}) == 4 and attribute_size({"N": "-0.5"}) == 3
    assert attribute_size({"SS": ["ab", "c"]}) == 3
    assert attribute_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert attribute_size({"BOOL": True}) == 1


def test_a_link_keeps_at_most_its_share_of_text() -> None:
    link = bounded(LinkMap(remote_id="1", error_message="€" * 5000, error_fix="ok"))
    assert len(link.error_message.encode()) <= LINK_TEXT_LIMIT and link.error_message.endswith("…")
    assert link.error_fix == "ok"


# The accounting providers a document's row makes room for: QuickBooks (in attributes of its own)
# and three more in ``links`` (a company that moved its books twice), named as long as a name can be.
OTHER_PROVIDERS = [f"{n}".ljust(64, "p") for n in range(3)]


def test_the_fullest_row_booksync_can_write_still_fits() -> None:
    """The largest body the door accepts, four providers' links with every text at its limit (in
    4-byte characters), the most payments an invoice and refunds a payment may have: < 400 KB."""
    body = {"memo": "x" * (BODY_LIMIT - len(json.dumps({"memo": ""})))}
    assert len(json.dumps(body)) == BODY_LIMIT
    texts = {
        name: "😀" * LINK_TEXT_LIMIT
        for name, attribute in LinkMap.get_attributes().items()
        if isinstance(attribute, UnicodeAttribute)
    }
    most = str(Decimal("-99999999999999.99"))
    payments = [longest_id(n) for n in range(MAX_PAYMENTS_PER_INVOICE)]
    refunds = [longest_id(n) for n in range(MAX_REFUNDS_PER_PAYMENT)]
    row = DocumentModel(
        "c" * 128,
        "invoice#" + longest_id(0),
        kind="invoice",
        doc_id=longest_id(0),
        body=body,
        content_hash="f" * 64 + ":deleted",
        status="DELETED",
        updated_at=1.0e10 + 0.123456,
        sent_at=1.0e10 + 0.123456,
        pending_bucket="invoice#7",
        pending_since=1.0e10 + 0.123456,
        embed_bucket="embed#7",  # the billing memory's mark (memory/feed.py)
        embed_since=1.0e10 + 0.123456,
        payment_ids=set(payments),
        payment_amounts=dict.fromkeys(payments, most),
        payments_version=10**12,
        refund_ids=set(refunds),
        refund_amounts=dict.fromkeys(refunds, most),
        refunds_version=10**12,
        link_quickbooks=fullest_link(texts),
        links={p: fullest_link(texts) for p in OTHER_PROVIDERS},
        income_account_quickbooks="9" * 100,
        income_accounts=dict.fromkeys(OTHER_PROVIDERS, "9" * 100),
    )
    assert len(row.serialize()) == len(DocumentModel.get_attributes()), "every attribute is filled"
    size = item_size(row)
    assert size <= ITEM_LIMIT, f"{size} bytes"
    # And the room is not so large that the body's limit could be raised much: it is a budget.
    assert size > ITEM_LIMIT * 0.8, f"{size} bytes"
