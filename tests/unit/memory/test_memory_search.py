"""Hybrid search: vector and BM25 fused by reciprocal rank, filters, how each hit matched, and
company isolation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from booksync.errors import InvalidRequest
from booksync.memory.indexer import MemoryIndexer
from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.ports import Embedded, InputType
from booksync.memory.records import BillingRecord, RecordFilter, RecordKind
from booksync.memory.search import MAX_TOP_K, MemorySearch, snippet

from tests.fakes.memory import MemoryRecords, MemoryVectors, billing_record, record_line


def history(company: str = "co-1") -> list[BillingRecord]:
    return [
        billing_record(company_id=company),
        billing_record(
            company_id=company,
            doc_id="inv-2",
            number="INV-2044",
            customer_id="cust-2",
            customer_name="Riverside Bakery",
            date=date(2026, 5, 2),
            total=Decimal("300.00"),
            status="paid",
            lines=(record_line("Drain cleaning", "300.00", None),),
            memo="grease clog in kitchen line",
        ),
        billing_record(
            company_id=company,
            kind=RecordKind.ESTIMATE,
            doc_id="est-1",
            number="EST-2025",
            customer_id="cust-2",
            customer_name="Riverside Bakery",
            date=date(2026, 6, 1),
            total=Decimal("2100.00"),
            status="accepted",
            lines=(record_line("Water heater installation", "2100.00"),),
            memo=None,
        ),
        billing_record(
            company_id=company,
            kind=RecordKind.PAYMENT,
            doc_id="pay-1",
            number="PMT-1",
            status="recorded",
            lines=(),
            invoice_id="inv-1",
            memo="Check #1234 for INV-2043",
        ),
    ]


def indexed(records: list[BillingRecord], **options: int) -> MemorySearch:
    embedder = HashedNgramEmbedder()
    store, vectors = MemoryRecords(), MemoryVectors()
    MemoryIndexer(embedder, store, vectors).index(records)
    return MemorySearch(embedder, store, vectors, **options)


def keys(hits: Sequence[object]) -> list[str]:
    return [hit.record.key for hit in hits]  # type: ignore[attr-defined]


def test_finds_by_words_and_says_both_lists_matched() -> None:
    hits = indexed(history()).search("co-1", "drain cleaning grease clog", top_k=2)
    assert hits[0].record.key == "invoice#inv-2"
    assert hits[0].matched == "both"
    assert hits[0].vector_score is not None and hits[0].keyword_score is not None
    assert hits[0].score == pytest.approx(2 / 61)


@dataclass
class Fixed:
    """Vectors chosen per text, so the vector list is known."""

    vectors: dict[str, list[float]]
    model: str = "fixed"
    dimension: int = 2
    max_inputs: int = 100
    max_tokens: int = 10_000

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        return Embedded([self.vectors.get(t, [1.0, 0.0]) for t in texts], total_tokens=len(texts))


def test_a_hit_says_whether_it_came_by_vector_keyword_or_both() -> None:
    records = history()[:3]
    text = {r.key: r.text() for r in records}
    embedder = Fixed(
        {
            text["invoice#inv-1"]: [0.0, 1.0],
            text["invoice#inv-2"]: [1.0, 0.0],
            text["estimate#est-1"]: [0.6, 0.8],
            "grease": [0.0, 1.0],
        }
    )
    store, vectors = MemoryRecords(), MemoryVectors()
    MemoryIndexer(embedder, store, vectors).index(records)
    # Two deep: the vector list holds the water-heater invoice and estimate; BM25 holds the
    # drain-cleaning invoice, the only one with "grease".
    hits = MemorySearch(embedder, store, vectors, depth=2).search("co-1", "grease", top_k=2)
    assert {hit.record.key: hit.matched for hit in hits} == {
        "invoice#inv-1": "vector",
        "invoice#inv-2": "keyword",
    }
    assert {hit.record.key: (hit.vector_score is None, hit.keyword_score is None) for hit in hits} == {
        "invoice#inv-1": (False, True),
        "invoice#inv-2": (True, False),
    }
    assert [hit.score for hit in hits] == pytest.approx([1 / 61, 1 / 61])


def test_a_document_number_named_comes_first() -> None:
    search = indexed(history())
    assert keys(search.search("co-1", "invoice INV-2043", top_k=3))[0] == "invoice#inv-1"
    # 2025 is also a year, in most documents' dates; the estimate numbered EST-2025 still leads.
    hits = search.search("co-1", "show me estimate est-2025.", top_k=3)
    assert hits[0].record.key == "estimate#est-1" and hits[0].matched in ("keyword", "both")


def test_a_named_number_leads_even_where_short_documents_quote_it() -> None:
    lines = tuple(record_line(f"Line {n}", "10.00") for n in range(12))
    estimate = billing_record(kind=RecordKind.ESTIMATE, doc_id="e", number="EST-2025", lines=lines)
    deposits = [
        billing_record(
            kind=RecordKind.PAYMENT, doc_id=f"d{n}", number=f"D-{n}", lines=(), memo="for EST-2025"
        )
        for n in range(6)
    ]
    # Three deep: the short deposits fill both lists; the estimate is only in the list of numbers.
    search = indexed([estimate, *deposits], depth=3)
    hits = search.search("co-1", "EST-2025", top_k=3)
    assert hits[0].record.key == "estimate#e" and hits[0].matched == "keyword"
    # Its keyword score is its own BM25 score (below the deposits'), not a made-up 1.0.
    [(_, own)] = search.view("co-1").keyword.search("EST-2025", 1, {"estimate#e"})
    assert hits[0].keyword_score == pytest.approx(own) and 0 < own < hits[1].keyword_score  # type: ignore[operator]


def numbered(number: str, doc_id: str = "n") -> BillingRecord:
    """A drain-cleaning invoice numbered ``number`` (a bare number, as some books number them)."""
    return billing_record(
        doc_id=doc_id, number=number, lines=(record_line("Drain cleaning", "300.00", None),), memo=None
    )


def test_a_bare_number_alone_is_not_taken_for_a_document_number() -> None:
    """ "jobs in 2025" means the year: invoice 2025 (a drain cleaning) is not put first."""
    search = indexed([*history(), numbered("2025")])
    hits = search.search("co-1", "water heater jobs in 2025", top_k=5)
    assert hits[0].record.key != "invoice#n"
    assert "Water heater" in hits[0].snippet


@pytest.mark.parametrize(
    "query",
    ["invoice 1001", "what was on invoice #1001?", "#1001", "Invoice no. 1001", "the drain job, INV-1001"],
)
def test_a_bare_number_the_question_calls_a_document_comes_first(query: str) -> None:
    search = indexed([*history(), numbered("1001"), numbered("INV-1001", doc_id="m")])
    expected = "invoice#m" if "INV-" in query else "invoice#n"
    hits = search.search("co-1", query, top_k=3)
    assert hits[0].record.key == expected and hits[0].matched in ("keyword", "both")
    assert hits[0].keyword_score is not None and hits[0].keyword_score != 1.0


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (RecordFilter(customer_id="cust-2"), {"invoice#inv-2", "estimate#est-1"}),
        (RecordFilter.of(kinds=["estimate"]), {"estimate#est-1"}),
        (RecordFilter.of(statuses=["paid"]), {"invoice#inv-2"}),
        (RecordFilter(date_from=date(2026, 5, 1), date_to=date(2026, 5, 31)), {"invoice#inv-2"}),
        (RecordFilter(item="Water heater installation"), {"estimate#est-1"}),
        (
            RecordFilter(min_total=Decimal("1000"), max_total=Decimal("2000")),
            {"invoice#inv-1", "payment#pay-1"},
        ),
        (RecordFilter(customer_id="nobody"), set()),
    ],
)
def test_filters_keep_to_the_records_they_let_through(flt: RecordFilter, expected: set[str]) -> None:
    hits = indexed(history()).search("co-1", "water heater drain cleaning payment", top_k=10, filter=flt)
    assert set(keys(hits)) == expected


def test_nothing_of_one_company_is_ever_returned_for_another() -> None:
    mine = history("co-1")
    theirs = [
        billing_record(company_id="co-2", doc_id="inv-9", number="INV-9", customer_name="Harbor Dental")
    ]
    search = indexed(mine + theirs)
    for query in ("water heater", "Harbor Dental", "INV-9", "INV-2043", "drain"):
        assert all(hit.record.company_id == "co-2" for hit in search.search("co-2", query, top_k=20))
        assert all(hit.record.company_id == "co-1" for hit in search.search("co-1", query, top_k=20))
    assert search.search("co-3", "water heater", top_k=5) == []


class LeakyVectors(MemoryVectors):
    """A vector store that answers keys of every company (a broken adapter)."""

    def query(
        self, company_id: str, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]:
        return [(key, 1.0) for company in self.vectors.values() for key in company][:top_k]


def test_a_vector_store_answering_another_companys_keys_is_not_believed() -> None:
    embedder = HashedNgramEmbedder()
    store, vectors = MemoryRecords(), LeakyVectors()
    MemoryIndexer(embedder, store, vectors).index(
        [billing_record(company_id="co-2", doc_id="secret", number="S-1"), *history("co-1")[:1]]
    )
    hits = MemorySearch(embedder, store, vectors).search("co-1", "water heater", top_k=5)
    assert keys(hits) == ["invoice#inv-1"]


def test_the_keyword_index_follows_new_records() -> None:
    embedder = HashedNgramEmbedder()
    store, vectors = MemoryRecords(), MemoryVectors()
    indexer, search = MemoryIndexer(embedder, store, vectors), MemorySearch(embedder, store, vectors)
    indexer.index(history()[:1])
    assert search.search("co-1", "sump pump", top_k=5)[0].matched == "vector"
    pump = billing_record(
        doc_id="inv-7", number="INV-7", lines=(record_line("Sump pump replacement", "600.00"),)
    )
    indexer.index([pump])
    hit = search.search("co-1", "sump pump", top_k=5)[0]
    assert (hit.record.key, hit.matched) == ("invoice#inv-7", "both")


def test_snippet_is_the_heading_and_the_line_sharing_most_words() -> None:
    record = history()[1]
    assert (
        snippet(record, "grease clog") == f"{record.text().splitlines()[0]} Memo: grease clog in kitchen line"
    )
    assert snippet(record, "nothing alike") == record.text().splitlines()[0]
    long = billing_record(memo="pipe " * 100)
    assert len(snippet(long, "pipe")) == 240 and snippet(long, "pipe").endswith("…")


@pytest.mark.parametrize("top_k", [0, MAX_TOP_K + 1])
def test_top_k_out_of_bounds_is_refused_with_the_bounds(top_k: int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        indexed(history()).search("co-1", "water", top_k=top_k)
    assert f"1 to {MAX_TOP_K}" in caught.value.fix


def test_an_empty_query_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        indexed(history()).search("co-1", "   ")
    assert caught.value.fix


def test_views_of_companies_searched_least_recently_are_dropped_past_the_bound() -> None:
    records = history("co-1") + history("co-2") + history("co-3")
    search = indexed(records, max_records=8)
    for company in ("co-1", "co-2", "co-3"):
        search.search(company, "water heater", top_k=5)
    assert list(search._views) == ["co-2", "co-3"]
    search.search("co-2", "water heater", top_k=5)
    search.search("co-1", "water heater", top_k=5)
    assert list(search._views) == ["co-2", "co-1"]
    alone = indexed(records, max_records=1)
    alone.search("co-1", "water heater", top_k=5)
    assert list(alone._views) == ["co-1"]


@pytest.mark.parametrize(
    "old",
    [HashedNgramEmbedder(dimension=256), HashedNgramEmbedder(char_weight=0.0)],
    ids=["another-dimension", "another-model"],
)
def test_a_record_embedded_by_another_embedder_is_found_by_keywords_only(old: HashedNgramEmbedder) -> None:
    """After the deployment's embedder changed (local -> Voyage, or another dimension), a record
    not yet embedded again keeps the old embedder's vector: comparing it with the question's would
    score nonsense (or fail on another dimension). It is matched by its words until re-embedded."""
    records = history()
    new = HashedNgramEmbedder()
    store, vectors = MemoryRecords(), MemoryVectors(dimension=new.dimension)
    MemoryIndexer(old, store, vectors).index(records[:2])  # inv-1 and inv-2 by the old embedder
    MemoryIndexer(new, store, vectors).index(records[2:])
    hits = MemorySearch(new, store, vectors).search("co-1", "drain cleaning grease clog", top_k=4)
    by_key = {hit.record.key: hit for hit in hits}
    assert by_key["invoice#inv-2"].matched == "keyword" and by_key["invoice#inv-2"].vector_score is None
    assert all(hit.matched == "keyword" for hit in hits if hit.record.key.startswith("invoice#"))
    # Embedded again by the new one: compared by vector once more.
    MemoryIndexer(new, store, vectors).index(records[:2])
    hits = MemorySearch(new, store, vectors).search("co-1", "drain cleaning grease clog", top_k=1)
    assert hits[0].record.key == "invoice#inv-2" and hits[0].matched == "both"
