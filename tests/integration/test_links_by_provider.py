"""A document's links are kept by the registry's provider name (``DocumentModel.links``), so a
provider no list in the core names (the conformance suite's ``memory``) has links without a model
change; QuickBooks' links stay in ``link_quickbooks``, where rows stored before read them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.store.account_mapping import AccountMappingStore, body_hash, mapped_hash
from booksync.store.documents import DocumentRepository
from booksync.store.links import LinkRepository, drifted_counts
from booksync.store.models import DocumentModel, LinkMap

from tests import builders
from tests.conftest import only_table

COMPANY = "acme"


@pytest.fixture
def documents(moto_url: str) -> Iterator[DocumentRepository]:
    with only_table("documents_table"):
        yield DocumentRepository()


def stored_item(docs: DocumentRepository, doc_id: str = "i-1") -> DocumentModel:
    item = builders.item(doc_id)
    docs.put(COMPANY, DocumentKind.ITEM, item, now=1.0, pending=False)
    row = docs.get(COMPANY, DocumentKind.ITEM, doc_id)
    assert row is not None
    return row


def raw(row: DocumentModel) -> dict[str, Any]:
    """The row as DynamoDB holds it."""
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=DocumentModel.Meta.table_name,
        Key={"company_id": {"S": row.company_id}, "doc_key": {"S": row.doc_key}},
        ConsistentRead=True,
    )["Item"]
    return item


def test_a_provider_no_list_names_has_its_links_stored_and_found(documents: DocumentRepository) -> None:
    row = stored_item(documents)
    documents.save_link(row, "memory", LinkMap(remote_id="m-7", outcome="synced", generation=1, pushes=1))
    documents.save_link(row, "other", LinkMap(remote_id="o-1", outcome="synced"))  # a second map entry
    documents.save_link(row, "memory", LinkMap(remote_id="m-7", outcome="synced", generation=1, pushes=2))

    stored = raw(row)["links"]["M"]
    assert set(stored) == {"memory", "other"}, "each provider's link under its name, none lost"
    again = documents.get(COMPANY, DocumentKind.ITEM, "i-1")
    assert again is not None
    link = again.link("memory")
    assert link is not None and (link.remote_id, link.pushes, link.generation) == ("m-7", 2, 1)
    assert set(again.all_links()) == {"memory", "other"} and again.link("quickbooks") is None

    links = LinkRepository("memory")
    assert [r.doc_id for r in links.linked(COMPANY, DocumentKind.ITEM, ["m-7", "nowhere"])] == ["i-1"]
    assert links.linked(COMPANY, DocumentKind.ITEM, ["o-1"]) == [], "another provider's id is not memory's"
    assert not links.record_change(again, "m-8", "Update", at=None), "conditional on the remote id"
    assert links.record_change(again, "m-7", "Update", at="2099-01-01T00:00:00Z")
    assert drifted_counts(COMPANY, "memory", ["Update"]) == {"item": 1}
    assert drifted_counts(COMPANY, "other", ["Update"]) == {}
    assert links.mark_deleted(again, "m-7", message="gone", fix="sync again", at=None, now=2.0)
    gone = documents.get(COMPANY, DocumentKind.ITEM, "i-1")
    assert gone is not None
    deleted = gone.link("memory")
    assert deleted is not None and deleted.remote_id is None and deleted.generation == 2
    other = gone.link("other")
    assert other is not None and other.remote_id == "o-1"


def test_the_first_link_goes_into_a_map_another_writer_stored_meanwhile(
    documents: DocumentRepository,
) -> None:
    row = stored_item(documents)
    stale = documents.get(COMPANY, DocumentKind.ITEM, "i-1")  # read before the other writer's link
    documents.save_link(row, "other", LinkMap(remote_id="o-1"))
    assert stale is not None and stale.links is None
    documents.save_link(stale, "memory", LinkMap(remote_id="m-1"))
    assert set(raw(row)["links"]["M"]) == {"other", "memory"}


def test_a_row_stored_before_links_by_provider_still_reads_and_keeps_its_attribute(
    documents: DocumentRepository,
) -> None:
    """A row as the code before wrote it: QuickBooks' link and income account in attributes of
    their own. It reads, is found, and is written where the code before reads it."""
    row = stored_item(documents)
    boto3.client("dynamodb").update_item(
        TableName=DocumentModel.Meta.table_name,
        Key={"company_id": {"S": COMPANY}, "doc_key": {"S": row.doc_key}},
        UpdateExpression="SET link_quickbooks = :link, income_account_quickbooks = :account",
        ExpressionAttributeValues={
            ":link": {"M": {"remote_id": {"S": "42"}, "version": {"S": "3"}, "generation": {"N": "1"}}},
            ":account": {"S": "81"},
        },
    )
    old = documents.get(COMPANY, DocumentKind.ITEM, "i-1")
    assert old is not None
    link = old.link("quickbooks")
    assert link is not None and (link.remote_id, link.version, link.generation) == ("42", "3", 1)
    assert old.income_account("quickbooks") == "81"
    assert [r.doc_id for r in LinkRepository("quickbooks").linked(COMPANY, DocumentKind.ITEM, ["42"])] == [
        "i-1"
    ]
    # Its hash with the mapping is the one the code before computed ("<body hash>|quickbooks=81").
    assert mapped_hash("h", old) == mapped_hash("h", DocumentModel(income_account_quickbooks="81"))

    documents.save_link(old, "quickbooks", LinkMap(remote_id="42", version="4", generation=1, pushes=1))
    stored = raw(old)
    assert stored["link_quickbooks"]["M"]["version"] == {"S": "4"} and "links" not in stored
    assert AccountMappingStore().set_item_account(old, "quickbooks", "82")
    stored = raw(old)
    assert stored["income_account_quickbooks"] == {"S": "82"} and "income_accounts" not in stored


def test_an_income_account_of_a_provider_no_list_names_is_kept_and_hashed(
    documents: DocumentRepository,
) -> None:
    row = stored_item(documents)
    before = row.content_hash
    assert AccountMappingStore().set_item_account(row, "memory", "400")
    again = documents.get(COMPANY, DocumentKind.ITEM, "i-1")
    assert again is not None and again.income_account("memory") == "400"
    assert again.content_hash != before and again.content_hash == mapped_hash(body_hash(again), again)
    assert AccountMappingStore().set_item_account(again, "memory", None)
    cleared = documents.get(COMPANY, DocumentKind.ITEM, "i-1")
    assert cleared is not None and cleared.income_account("memory") is None and cleared.content_hash == before
