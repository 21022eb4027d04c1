"""The billing memory's DynamoDB stores over moto: records and vectors per company, the warm copy
kept while the company's stamp has not moved and read again once it has."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from booksync.memory.ports import Indexed
from booksync.memory.records import RecordFilter, RecordKind
from booksync.store.memory import (
    KEY_BYTES,
    DynamoRecordStore,
    DynamoVectorStore,
    WarmCache,
    bump_stamp,
    function_memory_bytes,
    quantize,
    record_bytes,
)
from booksync.store.models import MemoryRecordModel

from tests.conftest import only_table
from tests.fakes.memory import billing_record

INDEXED = Indexed("h1", "local/256")


@pytest.fixture
def memory_table(moto_url: str) -> Iterator[None]:
    DynamoRecordStore.cache.clear()
    DynamoVectorStore.cache.clear()
    with only_table("memory_table"):
        yield


def test_records_are_kept_per_company_with_what_they_were_embedded_from(memory_table: None) -> None:
    store = DynamoRecordStore()
    mine = billing_record()
    theirs = billing_record(company_id="co-2", doc_id="inv-9", number="INV-9")
    store.put(mine, INDEXED)
    store.put(theirs, Indexed("h2", "local/256"))

    assert store.get("co-1", "invoice#inv-1") == mine
    assert store.get("co-2", "invoice#inv-1") is None
    assert store.all("co-1") == [mine]
    assert store.all("co-2") == [theirs]
    assert store.indexed("co-1", ["invoice#inv-1", "invoice#inv-9"]) == {"invoice#inv-1": INDEXED}


def test_all_reads_every_kind_and_filters(memory_table: None) -> None:
    store = DynamoRecordStore()
    invoice = billing_record()
    estimate = billing_record(kind=RecordKind.ESTIMATE, doc_id="est-1", total=Decimal("2000.00"))
    payment = billing_record(kind=RecordKind.PAYMENT, doc_id="pay-1", lines=(), invoice_id="inv-1")
    for record in (invoice, estimate, payment):
        store.put(record, INDEXED)
    assert {r.key for r in store.all("co-1")} == {invoice.key, estimate.key, payment.key}
    assert store.all("co-1", RecordFilter.of(kinds=["estimate"])) == [estimate]
    assert store.all("co-1", RecordFilter(min_total=Decimal("1500"))) == [estimate]


def test_indexed_reads_past_one_batch_get(memory_table: None) -> None:
    store = DynamoRecordStore()
    for n in range(130):
        store.put(billing_record(doc_id=f"inv-{n}"), Indexed(f"h{n}", "local/256"))
    found = store.indexed("co-1", [f"invoice#inv-{n}" for n in range(130)])
    assert len(found) == 130 and found["invoice#inv-129"] == Indexed("h129", "local/256")


def test_a_warm_copy_is_used_until_the_stamp_moves(memory_table: None) -> None:
    store = DynamoRecordStore()
    store.put(billing_record(), INDEXED)
    assert len(store.all("co-1")) == 1
    version = store.version("co-1")
    # Another function writes a row; until it moves the stamp, this one's copy stands.
    written = billing_record(doc_id="inv-2")
    MemoryRecordModel(
        "co-1", written.key, record=written.to_dict(), content_hash="h", embedder="e", updated_at=time.time()
    ).save()
    assert len(store.all("co-1")) == 1
    bump_stamp("co-1", "records")
    assert store.version("co-1") != version
    assert {r.key for r in store.all("co-1")} == {"invoice#inv-1", "invoice#inv-2"}
    # Its own writes move the stamp.
    store.put(billing_record(doc_id="inv-3"), INDEXED)
    assert len(store.all("co-1")) == 3


def test_vectors_are_searched_per_company_best_first(memory_table: None) -> None:
    vectors = DynamoVectorStore()
    vectors.put("co-1", [("a", [1.0, 0.0, 0.0]), ("b", [0.6, 0.8, 0.0]), ("c", [0.0, 0.0, 1.0])])
    vectors.put("co-2", [("z", [1.0, 0.0, 0.0])])

    hits = vectors.query("co-1", [1.0, 0.1, 0.0], top_k=2)
    assert [key for key, _ in hits] == ["a", "b"]
    assert hits[0][1] == pytest.approx(0.995, abs=0.01)
    assert [key for key, _ in vectors.query("co-2", [1.0, 0.0, 0.0], top_k=5)] == ["z"]
    assert vectors.query("co-3", [1.0, 0.0, 0.0], top_k=5) == []
    assert [key for key, _ in vectors.query("co-1", [1.0, 0.0, 0.0], top_k=5, keys={"c", "z"})] == ["c"]


def test_vectors_of_another_dimension_are_left_out_and_the_records_say_who_embedded_them(
    memory_table: None,
) -> None:
    """The embedder changed (its dimension): the old vectors are never stacked with the new ones
    (the search would fail for the whole company) and the records say which embedder made each."""
    DynamoVectorStore().put("co-1", [("old", [1.0, 0.0]), ("gone", [0.0, 1.0])])
    vectors = DynamoVectorStore(dimension=3)
    vectors.put("co-1", [("new", [1.0, 0.0, 0.0])])
    assert [key for key, _ in vectors.query("co-1", [1.0, 0.0, 0.0], top_k=5)] == ["new"]
    store = DynamoRecordStore()
    store.put(billing_record(company_id="co-1"), INDEXED)
    store.put(billing_record(company_id="co-1", doc_id="inv-2"), Indexed("h2", "voyage-4-lite/1024"))
    assert store.embedders("co-1") == {"invoice#inv-1": "local/256", "invoice#inv-2": "voyage-4-lite/1024"}


def test_stores_of_two_dimensions_keep_a_copy_each(memory_table: None) -> None:
    """Two DynamoVectorStores of different dimensions in one process (the API's and a
    backfill's, an embedder change) never answer from each other's warm copy."""
    DynamoVectorStore(dimension=2).put("co-1", [("old", [1.0, 0.0])])
    DynamoVectorStore(dimension=3).put("co-1", [("new", [1.0, 0.0, 0.0])])
    three, two = DynamoVectorStore(dimension=3), DynamoVectorStore(dimension=2)
    assert [key for key, _ in three.query("co-1", [1.0, 0.0, 0.0], top_k=5)] == ["new"]
    assert [key for key, _ in two.query("co-1", [1.0, 0.0], top_k=5)] == ["old"]
    assert two.vectors("co-1")[1].shape == (1, 2)
    assert [key for key, _ in three.query("co-1", [1.0, 0.0, 0.0], top_k=5)] == ["new"]


def test_the_caches_hold_a_share_of_the_functions_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm copies are limited in bytes against the function's memory (Lambda's
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 512 MB when unset), together well under it."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    assert function_memory_bytes() == 512 * 1024 * 1024
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
    assert function_memory_bytes() == 1769 * 1024 * 1024
    assert WarmCache[int](share=0.35).max_bytes == int(0.35 * 1769 * 1024 * 1024)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "not a number")
    assert function_memory_bytes() == 512 * 1024 * 1024
    both = DynamoVectorStore.cache.max_bytes + DynamoRecordStore.cache.max_bytes
    assert both <= 0.5 * 512 * 1024 * 1024  # the classes' caches, built at import (no variable)


def test_warm_vector_copies_are_dropped_by_their_bytes(memory_table: None) -> None:
    """Past the budget the least recently used company's matrix goes; the one just read stays."""
    store = DynamoVectorStore(dimension=4)
    per_company = 100 * (4 * 4 + KEY_BYTES)  # float32 rows and their keys
    store.cache = WarmCache(share=1.0, memory_bytes=2 * per_company)
    for company in ("co-1", "co-2", "co-3"):
        store.put(company, [(f"k{n}", [1.0, float(n), 0.0, 0.5]) for n in range(100)])
        assert len(store.query(company, [1.0, 0.0, 0.0, 0.0], top_k=100)) == 100
    assert len(store.cache) == 2 and store.cache.bytes_held() == 2 * per_company
    tiny = DynamoVectorStore(dimension=4)
    tiny.cache = WarmCache(share=1.0, memory_bytes=per_company // 2)
    assert len(tiny.query("co-1", [1.0, 0.0, 0.0, 0.0], top_k=3)) == 3  # over budget alone: kept
    assert len(tiny.cache) == 1


def test_warm_record_copies_are_dropped_by_their_estimated_bytes(memory_table: None) -> None:
    store = DynamoRecordStore()
    for company in ("co-1", "co-2", "co-3"):
        store.put_many([(billing_record(company_id=company, doc_id=f"inv-{n}"), INDEXED) for n in range(10)])
    per_company = 10 * record_bytes(billing_record())
    store.cache = WarmCache(share=1.0, memory_bytes=2 * per_company)
    for company in ("co-1", "co-2", "co-3"):
        assert len(store.all(company)) == 10
    assert len(store.cache) == 2 and store.cache.bytes_held() == 2 * per_company


def test_a_put_or_delete_elsewhere_is_seen_by_a_warm_copy(memory_table: None) -> None:
    reader, writer = DynamoVectorStore(), DynamoVectorStore()
    writer.put("co-1", [("a", [1.0, 0.0])])
    assert [k for k, _ in reader.query("co-1", [0.0, 1.0], top_k=5)] == ["a"]
    writer.put("co-1", [("b", [0.0, 1.0])])
    assert [k for k, _ in reader.query("co-1", [0.0, 1.0], top_k=5)] == ["b", "a"]
    writer.delete("co-1", ["b"])
    assert [k for k, _ in reader.query("co-1", [0.0, 1.0], top_k=5)] == ["a"]


def test_quantized_vectors_keep_their_direction() -> None:
    data, scale = quantize([0.5, -0.25, 0.0, 0.125])
    assert len(data) == 4
    restored = [b * scale for b in memoryview(data).cast("b")]
    assert restored == pytest.approx([0.5, -0.25, 0.0, 0.125], abs=scale / 2)


def test_search_over_dynamodb_never_returns_another_companys_records(memory_table: None) -> None:
    from booksync.memory.indexer import MemoryIndexer
    from booksync.memory.local_embedder import HashedNgramEmbedder
    from booksync.memory.search import MemorySearch

    from bench.figures.memory_search import history, questions

    everything = history()
    sample = [r for r in everything if r.company_id == "co-summit"][:60]
    sample += [r for r in everything if r.company_id == "co-harbor"][:60]
    embedder, records, vectors = HashedNgramEmbedder(), DynamoRecordStore(), DynamoVectorStore()
    MemoryIndexer(embedder, records, vectors).index(sample)
    search = MemorySearch(embedder, records, vectors)
    asked = [q["query"] for q in questions()][::10] + [r.number or "" for r in sample[::15]]
    for company in ("co-summit", "co-harbor"):
        for query in asked:
            hits = search.search(company, query, top_k=20)
            assert hits and {hit.record.company_id for hit in hits} == {company}, query
    assert search.search("co-nobody", "water heater", top_k=20) == []
